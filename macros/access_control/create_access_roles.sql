{#-
    on-run-start: make sure the access roles exist (analysts, data engineers). Idempotent.
    Needs the CREATE ROLE privilege (checked first: without it the hook stops with one line
    saying so); a team whose admins manage roles sets the var `manage_access_roles: false`,
    and then this only checks.
-#}
{% macro create_access_roles() %}
    {#- compile and docs render hooks too: act only when dbt really runs -#}
    {%- if execute and flags.WHICH in ('run', 'build', 'seed', 'snapshot', 'run-operation') -%}
        {%- set wanted = access_role_names() -%}
        {%- set existing = adapter.dispatch('existing_roles')(wanted) -%}
        {%- set missing = wanted | reject('in', existing) | list -%}
        {%- if missing and var('manage_access_roles', true) -%}
            {%- do require_privilege(adapter.dispatch('can_create_roles')(),
                'create the roles ' ~ missing | join(', '),
                'superuser or the CREATE ROLE privilege (Redshift: `grant create role to '
                ~ target.user ~ '`), or an admin creates them once and the var '
                ~ 'manage_access_roles is false') -%}
        {%- endif -%}
        {%- for role in missing -%}
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

{#- Whether the dbt user may create roles: superuser, or the privilege. -#}
{% macro default__can_create_roles() -%}
    {%- set result = run_query(
        "select rolsuper or rolcreaterole as can_create_roles from pg_roles "
        ~ "where rolname = current_user") -%}
    {{ return(result.rows | length > 0 and result.rows[0][0]) }}
{%- endmacro %}

{#- Redshift: a superuser, or CREATE ROLE granted to the user or to a role it holds. -#}
{% macro redshift__can_create_roles() -%}
    {%- set result = run_query(
        "select (select count(*) from pg_user where usename = current_user and usesuper)"
        ~ " + (select count(*) from svv_system_privileges as p"
        ~ " where p.system_privilege = 'CREATE ROLE'"
        ~ " and ((p.identity_type = 'user' and p.identity_name = current_user)"
        ~ " or (p.identity_type = 'role' and p.identity_name in"
        ~ " (select g.role_name from svv_user_grants as g where g.user_name = current_user))))"
        ~ " > 0 as can_create_roles") -%}
    {{ return(result.rows | length > 0 and result.rows[0][0]) }}
{%- endmacro %}
