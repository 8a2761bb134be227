{#-
    The dbt var attribution_lookback_days, validated at compile time: a value that is not a
    number of days >= 0 is a clear compiler error instead of a silently wrong attribution mart.
-#}
{% macro attribution_lookback_days() -%}
    {%- set value = var('attribution_lookback_days') -%}
    {#- true/false pass jinja's `number` test (bool is an int in Python), so exclude them -#}
    {%- if value is boolean or value is not number or value < 0 -%}
        {{ exceptions.raise_compiler_error(
            "var attribution_lookback_days must be a number of days >= 0, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#- The attribution lookback in whole seconds, so a fractional number of days works too
    (Redshift's dateadd takes whole units). -#}
{% macro attribution_lookback_seconds() -%}
    {{ return((attribution_lookback_days() * 86400) | round | int) }}
{%- endmacro %}
