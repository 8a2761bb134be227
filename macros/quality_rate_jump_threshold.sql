{#-
    The dbt var quality_rate_jump_threshold, validated at compile time: a fraction of a table's
    raw rows (a number from 0 to 1). It is pasted into SQL, so anything but a number stops the
    build here with a message naming the var.
-#}
{% macro quality_rate_jump_threshold() -%}
    {%- set value = var('quality_rate_jump_threshold') -%}
    {%- if value is boolean or value is not number or value != value or value < 0 or value > 1 -%}
        {{ exceptions.raise_compiler_error(
            "var quality_rate_jump_threshold must be a number from 0 to 1 (a fraction of raw "
            ~ "rows), got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
