{#-
    on-run-end: schema-level access, as the course sets Redshift up (a schema per team):
    analysts read every relation in the marts' and the snapshots' schemas (seeds included) and
    read and write `adhoc`; they get nothing in `raw_data` or `staging`. Data engineers read and
    write what the ETL loads into `raw_data` (select, insert, update, delete, truncate) and
    nothing that runs code as someone else: no TRIGGER, no REFERENCES, no CREATE on the schema
    (which would let them plant a function or a table that a loader or dbt then runs). The
    schema and its tables belong to the loader role. Table-level SELECT on every mart is also
    the dbt `grants` config in dbt_project.yml, which dbt re-applies whenever a table is rebuilt.
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
            {%- do statements.append(
                'grant select on all tables in schema ' ~ schema ~ ' to ' ~ analysts) -%}
        {%- endfor -%}
        {%- do statements.append('grant usage, create on schema adhoc to ' ~ analysts) -%}
        {#- Revoke first: an older version granted ALL and CREATE. -#}
        {%- do statements.append('revoke create on schema raw_data from ' ~ engineers) -%}
        {%- do statements.append('revoke all on all tables in schema raw_data from ' ~ engineers) -%}
        {%- do statements.append('grant usage on schema raw_data to ' ~ engineers) -%}
        {%- do statements.append('grant select, insert, update, delete, truncate on all tables '
                                 ~ 'in schema raw_data to ' ~ engineers) -%}
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
