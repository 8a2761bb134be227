{#-
    The dbt var attribution_half_life_days, validated at compile time: time-decay weights
    divide by it, so a value that is not a positive number of days is a clear compiler error.
-#}
{% macro attribution_half_life_days() -%}
    {%- set value = var('attribution_half_life_days') -%}
    {#- true/false pass jinja's `number` test (bool is an int in Python), so exclude them -#}
    {%- if value is boolean or value is not number or value <= 0 -%}
        {{ exceptions.raise_compiler_error(
            "var attribution_half_life_days must be a number of days > 0, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
