{#-
    A mart's columns that must never be null carry a `not_null` constraint under its enforced
    contract (the YAML), not a `not_null` test: PostgreSQL and Redshift both enforce NOT NULL,
    so a row with a null there never lands (the build fails, naming the column), and no test
    node reads the table again after every build.

    dbt declares the constraints when it creates a table. An incremental table created before
    a constraint was declared keeps its old definition: on PostgreSQL the project the missing NOT NULL (which checks the rows already
    there, and fails naming the column if one is null): the pre-hook add_missing_not_null of
    every incremental model. Redshift cannot add NOT NULL to an
    existing column; there such a table gets it from `dbt build --full-refresh --select <model>`.
-#}
{#- pre-hook of the incremental models (dbt_project.yml): where the table is there and kept. -#}
{% macro add_missing_not_null() -%}
    {%- if execute and model.config.materialized == 'incremental' and not should_full_refresh() -%}
        {%- set existing = load_cached_relation(this) -%}
        {%- if existing is not none and existing.is_table -%}{%- do ensure_not_null_constraints(existing) -%}{%- endif -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{% macro ensure_not_null_constraints(relation) -%}
    {{ return(adapter.dispatch('ensure_not_null_constraints')(relation)) }}
{%- endmacro %}

{% macro default__ensure_not_null_constraints(relation) -%}
    {{ return('') }}
{%- endmacro %}

{#- dbt-redshift inherits from dbt-postgres: without this, dispatch would take postgres__. -#}
{% macro redshift__ensure_not_null_constraints(relation) -%}
    {{ return(default__ensure_not_null_constraints(relation)) }}
{%- endmacro %}

{% macro postgres__ensure_not_null_constraints(relation) -%}
    {%- set declared = not_null_columns() -%}
    {%- if not execute or relation is none or not declared -%}{{ return('') }}{%- endif -%}
    {%- set missing = run_query("select attname from pg_attribute where attrelid = to_regclass('"
        ~ relation.render() | replace("'", "''") ~ "') and attnum > 0 and not attisdropped and not attnotnull"
        ~ " and attname in (" ~ _quoted(declared) ~ ") order by attnum").columns[0].values() -%}
    {%- for name in missing -%}
        {%- do run_query('alter table ' ~ relation ~ ' alter column ' ~ adapter.quote(name) ~ ' set not null') -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}


{#- The current model's columns with a `not_null` constraint, where its contract is enforced. -#}
{% macro not_null_columns() -%}
    {%- set names = [] -%}
    {%- if not (model.config.get('contract') or {}).get('enforced') -%}{{ return(names) }}{%- endif -%}
    {%- for column in model.columns.values() -%}
        {%- for constraint in column.constraints if constraint.type == 'not_null' -%}
            {%- do names.append(column.name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}
