{#-
    on-run-start: make sure the access roles exist (analysts, data engineers). Idempotent.
    Needs the CREATE ROLE privilege; a team whose admins manage roles sets the var
    `manage_access_roles: false`, and then this only checks.
-#}
{% macro create_access_roles() %}
    {#- compile and docs render hooks too: act only when dbt really runs -#}
    {%- if execute and flags.WHICH in ('run', 'build', 'seed', 'snapshot', 'run-operation') -%}
        {%- set wanted = access_role_names() -%}
        {%- set existing = adapter.dispatch('existing_roles')(wanted) -%}
        {%- for role in wanted if role not in existing -%}
            {%- if var('manage_access_roles', true) -%}
                {%- do run_query('create role ' ~ role) -%}
                {{ log('created role ' ~ role, info=true) }}
            {%- else -%}
                {{ exceptions.raise_compiler_error(
                    'role ' ~ role ~ ' does not exist; ask an admin to create it, or set '
                    ~ 'the var manage_access_roles: true') }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as hook_done
{% endmacro %}

{% macro default__existing_roles(roles) -%}
    {%- set result = run_query(
        "select rolname from pg_roles where rolname in ('" ~ roles | join("', '") ~ "')") -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}

{% macro redshift__existing_roles(roles) -%}
    {%- set result = run_query(
        "select role_name from svv_roles where role_name in ('" ~ roles | join("', '") ~ "')") -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}
