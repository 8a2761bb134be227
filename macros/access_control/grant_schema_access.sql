{#-
    on-run-end: schema-level access, as the course sets Redshift up (a schema per team):
    analysts read every relation in the marts' and the snapshots' schemas (seeds included) and
    read and write `adhoc`; they get nothing in `raw_data` or `staging`. Data engineers read and
    write what the ETL loads into `raw_data` (select, insert, update, delete, truncate) and
    nothing that runs code as someone else: no TRIGGER, no REFERENCES, no CREATE on the schema
    (which would let them plant a function or a table that a loader or dbt then runs). The
    schema and its tables belong to the loader role. Table-level SELECT on every mart is also
    the dbt `grants` config in dbt_project.yml, which dbt re-applies whenever a table is rebuilt.
    Granting needs the schema's owner (or a superuser): checked per schema first, so a missing
    right stops the hook with one line naming the schema, not a driver error.
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
        {%- set checked = [] -%}
        {%- for statement in statements -%}
            {#- A run that built only part of the project may not have every schema yet. -#}
            {%- set schema = statement.split(' schema ')[1].split(' ')[0] -%}
            {%- if adapter.check_schema_exists(target.database, schema) -%}
                {%- if schema not in checked -%}
                    {%- do require_privilege(adapter.dispatch('can_grant_on_schema')(schema),
                        'grant on schema ' ~ schema,
                        'owning the schema, or superuser (an admin: `alter schema ' ~ schema
                        ~ ' owner to ' ~ target.user ~ '`)') -%}
                    {%- do checked.append(schema) -%}
                {%- endif -%}
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

{#- Whether the dbt user may grant on a schema (and the tables in it): PostgreSQL says so for
    the owner, its members and superusers. -#}
{% macro default__can_grant_on_schema(schema) -%}
    {%- set result = run_query(
        "select has_schema_privilege(current_user, '" ~ schema ~ "', 'USAGE WITH GRANT OPTION')"
        ~ " as can_grant") -%}
    {{ return(result.rows | length > 0 and result.rows[0][0]) }}
{%- endmacro %}

{#- Redshift: the schema's owner, or a superuser. -#}
{% macro redshift__can_grant_on_schema(schema) -%}
    {%- set result = run_query(
        "select (select count(*) from pg_user where usename = current_user and usesuper)"
        ~ " + (select count(*) from pg_namespace as n join pg_user as u"
        ~ " on n.nspowner = u.usesysid where n.nspname = '" ~ schema ~ "'"
        ~ " and u.usename = current_user) > 0 as can_grant") -%}
    {{ return(result.rows | length > 0 and result.rows[0][0]) }}
{%- endmacro %}
