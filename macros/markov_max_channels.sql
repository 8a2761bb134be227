{#-
    The dbt var markov_max_channels, validated at compile time: how many channel states the
    Markov solver eliminates (one unrolled step each). A month with more channels fails the
    test on int_markov_removal_effects_monthly instead of giving a wrong answer.
-#}
{% macro markov_max_channels() -%}
    {%- set value = var('markov_max_channels') -%}
    {%- if value is boolean or value is not number or value < 1 or value != value | int -%}
        {{ exceptions.raise_compiler_error(
            "var markov_max_channels must be a whole number >= 1, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}
