{#-
    The advisory lock that serialises builds and loads; `warehouse load` uses the same number
    (warehouse/loader.py RUN_LOCK_KEY, checked equal by a test).
-#}
{% macro run_lock_key() -%}
    {{ return(7311805202) }}
{%- endmacro %}
