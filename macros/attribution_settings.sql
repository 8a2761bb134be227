{#-
    The attribution dbt vars, validated at compile time: a negative lookback or a half-life
    that is not positive is a clear compiler error, not a silently wrong mart.
-#}
{% macro attribution_lookback_days() -%}
    {%- set value = var('attribution_lookback_days') -%}
    {%- if value is not number or value < 0 -%}
        {{ exceptions.raise_compiler_error(
            "var attribution_lookback_days must be a number of days >= 0, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro attribution_half_life_days() -%}
    {%- set value = var('attribution_half_life_days') -%}
    {%- if value is not number or value <= 0 -%}
        {{ exceptions.raise_compiler_error(
            "var attribution_half_life_days must be a number of days > 0, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
