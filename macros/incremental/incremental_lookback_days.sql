{#-
    The dbt var incremental_lookback_days, validated at compile time: how many days before the
    newest data an incremental run rebuilds, so raw rows that arrive late, but no later than
    this, are picked up. A whole number >= 0.
-#}
{% macro incremental_lookback_days() -%}
    {%- set value = var('incremental_lookback_days') -%}
    {%- if value is boolean or value is not number or value < 0 or value != value | int -%}
        {{ exceptions.raise_compiler_error(
            "var incremental_lookback_days must be a whole number of days >= 0, got '"
            ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}
