{#-
    on-run-end: schema-level access, as the course sets Redshift up (a schema per team):
    analysts read the marts (and the snapshots) and read and write `adhoc`; they get nothing
    in `raw_data` or `staging`. Data engineers own what the ETL loads into `raw_data`.
    Table-level SELECT on every mart is the dbt `grants` config in dbt_project.yml, which dbt
    re-applies whenever a table is rebuilt.
-#}
{% macro grant_schema_access() %}
    {#- compile and docs render hooks too: act only when dbt really runs -#}
    {%- if execute and flags.WHICH in ('run', 'build', 'seed', 'snapshot', 'run-operation') -%}
        {%- set analysts = access_grantee('analytics_users') -%}
        {%- set engineers = access_grantee('data_engineers') -%}
        {%- set statements = [] -%}
        {%- for schema_name in ['analytics', 'snapshots'] -%}
            {%- set schema = generate_schema_name(schema_name, none) -%}
            {%- do statements.append('grant usage on schema ' ~ schema ~ ' to ' ~ analysts) -%}
        {%- endfor -%}
        {%- do statements.append('grant usage, create on schema adhoc to ' ~ analysts) -%}
        {%- do statements.append('grant usage, create on schema raw_data to ' ~ engineers) -%}
        {%- do statements.append('grant all on all tables in schema raw_data to ' ~ engineers) -%}
        {%- for statement in statements -%}
            {#- A run that built only part of the project may not have every schema yet. -#}
            {%- set schema = statement.split(' schema ')[1].split(' ')[0] -%}
            {%- if adapter.check_schema_exists(target.database, schema) -%}
                {%- do run_query(statement) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as hook_done
{% endmacro %}

{#- A role in a GRANT statement: `role x` on Redshift, `x` on PostgreSQL. -#}
{% macro access_grantee(role) -%}
    {{ return(adapter.dispatch('access_grantee')(role)) }}
{%- endmacro %}

{% macro default__access_grantee(role) -%}
    {{ return(role) }}
{%- endmacro %}

{% macro redshift__access_grantee(role) -%}
    {{ return('role ' ~ role) }}
{%- endmacro %}
