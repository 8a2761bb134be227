{#-
    The dbt var run_lock_wait_seconds, validated at compile time: how long a build waits for a
    running build or load before it stops with one line. A number >= 0.
-#}
{% macro run_lock_wait_seconds() -%}
    {%- set value = var('run_lock_wait_seconds') -%}
    {%- if value is boolean or value is not number or value != value or value < 0 -%}
        {{ exceptions.raise_compiler_error(
            "var run_lock_wait_seconds must be a number of seconds >= 0, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
