{#-
    run-operation for pull-request CI: drop every schema of one pull request's `ci` builds
    (pr_<n>_staging, pr_<n>_analytics, pr_<n>_snapshots, ...), when the pull request closes.

        DBT_CI_SCHEMA=pr_123 dbt run-operation drop_ci_schemas --target ci

    Runs only on the `ci` target, and only for a target schema of the form pr_<number>, so it
    can never drop production's or a person's schemas.
-#}
{% macro drop_ci_schemas() %}
    {%- set prefix = target.schema | lower -%}
    {%- if target.name != 'ci' or not modules.re.match('^pr_[0-9]+$', prefix) -%}
        {{ exceptions.raise_compiler_error(
            "drop_ci_schemas drops a pull request's schemas on the ci target only (target '"
            ~ target.name ~ "' has schema '" ~ prefix ~ "'; set DBT_CI_SCHEMA=pr_<number>)") }}
    {%- endif -%}
    {%- set found = run_query("select nspname from pg_namespace where nspname like 'pr%'") -%}
    {%- set schemas = found.columns[0].values() | map('lower') | list -%}
    {%- for schema in schemas if schema.startswith(prefix ~ '_') -%}
        {%- do run_query('drop schema if exists ' ~ adapter.quote(schema) ~ ' cascade') -%}
        {{ log('drop_ci_schemas: dropped ' ~ schema, info=true) }}
    {%- else -%}
        {{ log('drop_ci_schemas: no schemas ' ~ prefix ~ '_* to drop', info=true) }}
    {%- endfor -%}
{% endmacro %}
