{#- on-run-end: this run is over; loads and other builds may go (see acquire_run_lock). -#}
{% macro release_run_lock() -%}
    {%- if execute and flags.WHICH in ('run', 'build', 'seed', 'snapshot', 'test') -%}
        {{ return(adapter.dispatch('release_run_lock')()) }}
    {%- endif -%}
    {{ return('select 1 as run_lock_not_needed') }}
{%- endmacro %}

{% macro default__release_run_lock() -%}
    {{ return('select 1 as run_lock_not_available') }}
{%- endmacro %}

{#- Not postgres__ (dispatch's next choice on Redshift, which inherits from dbt-postgres). -#}
{% macro redshift__release_run_lock() -%}
    {{ return(default__release_run_lock()) }}
{%- endmacro %}

{% macro postgres__release_run_lock() -%}
    {%- if adapter.check_schema_exists(target.database, 'warehouse_control') -%}
        {{ return("delete from warehouse_control.dbt_runs where invocation_id = '"
                  ~ invocation_id ~ "'") }}
    {%- endif -%}
    {{ return('select 1 as run_lock_not_taken') }}
{%- endmacro %}
