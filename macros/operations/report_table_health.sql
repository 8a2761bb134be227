{#-
    run-operation: the physical health of the tables this project writes, with a suggested
    action for each table that needs one.

        dbt run-operation report_table_health [--args '{skew_threshold: 4}']

    On Redshift it reads svv_table_info (size, rows, slice skew, sort-key skew, unsorted %,
    stale statistics, dist style and first sort key) and flags rows skewed across slices
    (change the DISTKEY), a large unsorted region (VACUUM SORT ONLY) and stale statistics
    (ANALYZE). svv_table_info is Redshift-only: on PostgreSQL (local) it prints the
    equivalent from pg_stat_user_tables (live and dead rows, last analyze and vacuum), so it
    runs anywhere. Only tables with data and visible to the dbt user are listed.
-#}
{% macro report_table_health(skew_threshold=4, unsorted_threshold=20, stats_off_threshold=10, schemas=none) %}
    {%- set schemas = schemas if schemas is not none else table_health_schemas() -%}
    {%- do adapter.dispatch('report_table_health')(schemas, skew_threshold, unsorted_threshold, stats_off_threshold) -%}
{% endmacro %}


{#- The schemas the project writes, named as this target names them (dev_alice_analytics ...),
    and raw_data, which the ETL loads and is the same on every target. -#}
{% macro table_health_schemas() -%}
    {%- set schemas = [] -%}
    {%- for custom_schema in ['analytics', 'staging', 'snapshots'] -%}
        {%- do schemas.append(generate_schema_name(custom_schema, none) | trim) -%}
    {%- endfor -%}
    {%- do schemas.append('raw_data') -%}
    {{ return(schemas) }}
{%- endmacro %}


{#- The health query for the schemas; runs nothing, so any adapter can render it. -#}
{% macro table_health_sql(schemas) -%}
    {{ return(adapter.dispatch('table_health_sql')(schemas)) }}
{%- endmacro %}

{% macro redshift__table_health_sql(schemas) -%}
select
    "schema" as table_schema,
    "table" as relation_name,
    size as size_mb,
    tbl_rows,
    skew_rows,
    skew_sortkey1,
    unsorted as unsorted_pct,
    stats_off,
    diststyle,
    sortkey1
from svv_table_info
where "schema" in ('{{ schemas | join("', '") }}')
order by table_schema, relation_name
{%- endmacro %}

{% macro default__table_health_sql(schemas) -%}
{#- stats_off_pct, like Redshift's stats_off: how far the planner's row count from the last
    analyze (pg_class.reltuples, -1 before the first) is from the live rows. Not
    n_mod_since_analyze: dbt analyzes a table in the transaction that fills it, and those
    rows are still counted as changed afterwards. #}
select
    stats.schemaname as table_schema,
    stats.relname as relation_name,
    round(pg_total_relation_size(stats.relid) / 1048576.0, 2) as size_mb,
    stats.n_live_tup,
    stats.n_dead_tup,
    case
        when classes.reltuples >= 0 and stats.n_live_tup > 0
            then round(cast(100.0 * abs(classes.reltuples - stats.n_live_tup) / stats.n_live_tup as numeric), 2)
    end as stats_off_pct,
    greatest(stats.last_analyze, stats.last_autoanalyze) as last_analyzed,
    greatest(stats.last_vacuum, stats.last_autovacuum) as last_vacuumed
from pg_stat_user_tables as stats
inner join pg_class as classes
    on stats.relid = classes.oid
where stats.schemaname in ('{{ schemas | join("', '") }}')
order by table_schema, relation_name
{%- endmacro %}


{% macro redshift__report_table_health(schemas, skew_threshold, unsorted_threshold, stats_off_threshold) %}
    {%- set result = run_query(table_health_sql(schemas)) -%}
    {%- if not result.rows -%}
        {{ print('report_table_health: svv_table_info shows no tables in ' ~ schemas | join(', ')
                 ~ ': it lists only tables the dbt user may select from; grant it ACCESS SYSTEM '
                 ~ 'TABLE (or select on the tables) to see them all') }}
    {%- endif -%}
    {%- set line = '%-' ~ table_health_name_width(result) ~ 's %10s %12s %9s %9s %9s %9s %-20s %-20s' -%}
    {{ print('table health (svv_table_info) for ' ~ schemas | join(', ')
             ~ ': skew_rows > ' ~ skew_threshold ~ ', unsorted > ' ~ unsorted_threshold
             ~ '%, stats_off > ' ~ stats_off_threshold ~ '% are flagged') }}
    {{ print(line | format('table', 'size_mb', 'rows', 'skew_rows', 'skew_sk1', 'unsorted%',
                           'stats_off', 'diststyle', 'sortkey1') | trim) }}
    {%- set flags = [] -%}
    {%- for row in result.rows -%}
        {%- set name = row['table_schema'] ~ '.' ~ row['relation_name'] -%}
        {{ print(line | format(name, table_health_number(row['size_mb'], 0),
                               table_health_number(row['tbl_rows'], 0),
                               table_health_number(row['skew_rows'], 2),
                               table_health_number(row['skew_sortkey1'], 2),
                               table_health_number(row['unsorted_pct'], 2),
                               table_health_number(row['stats_off'], 2),
                               row['diststyle'] or '-', row['sortkey1'] or '-') | trim) }}
        {%- if row['skew_rows'] is not none and row['skew_rows'] > skew_threshold -%}
            {%- do flags.append(name ~ ': rows skewed across slices (skew_rows '
                ~ table_health_number(row['skew_rows'], 2) ~ '): change DISTKEY to a column with '
                ~ 'many evenly spread values (the model\'s dist config), or use DISTSTYLE EVEN/AUTO') -%}
        {%- endif -%}
        {%- if row['unsorted_pct'] is not none and row['unsorted_pct'] > unsorted_threshold -%}
            {%- do flags.append(name ~ ': ' ~ table_health_number(row['unsorted_pct'], 2)
                ~ '% unsorted: VACUUM SORT ONLY ' ~ name ~ ';') -%}
        {%- endif -%}
        {%- if row['stats_off'] is not none and row['stats_off'] > stats_off_threshold -%}
            {%- do flags.append(name ~ ': statistics ' ~ table_health_number(row['stats_off'], 2)
                ~ '% stale: ANALYZE ' ~ name ~ ';') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ table_health_summary(result.rows | length, flags, schemas) }}
{% endmacro %}


{% macro default__report_table_health(schemas, skew_threshold, unsorted_threshold, stats_off_threshold) %}
    {%- set result = run_query(table_health_sql(schemas)) -%}
    {%- set line = '%-' ~ table_health_name_width(result) ~ 's %10s %12s %12s %10s %-19s %-19s' -%}
    {{ print('table health for ' ~ schemas | join(', ') ~ ': svv_table_info (slice skew, '
             ~ 'unsorted %) is Redshift-only; on ' ~ target.type ~ ' this is the equivalent from '
             ~ 'pg_stat_user_tables: dead rows > ' ~ unsorted_threshold ~ '% of live rows (VACUUM), '
             ~ 'statistics off by > ' ~ stats_off_threshold ~ '% or never analyzed (ANALYZE) are flagged') }}
    {{ print(line | format('table', 'size_mb', 'live_rows', 'dead_rows', 'stats_off',
                           'last_analyzed', 'last_vacuumed') | trim) }}
    {%- set flags = [] -%}
    {%- for row in result.rows -%}
        {%- set name = row['table_schema'] ~ '.' ~ row['relation_name'] -%}
        {%- set live = row['n_live_tup'] or 0 -%}
        {%- set dead = row['n_dead_tup'] or 0 -%}
        {{ print(line | format(name, table_health_number(row['size_mb'], 2), live, dead,
                               table_health_number(row['stats_off_pct'], 2),
                               table_health_time(row['last_analyzed']),
                               table_health_time(row['last_vacuumed'])) | trim) }}
        {%- if dead > 0 and dead > live * unsorted_threshold / 100.0 -%}
            {%- do flags.append(name ~ ': ' ~ dead ~ ' dead rows: VACUUM ' ~ name ~ ';') -%}
        {%- endif -%}
        {%- if row['last_analyzed'] is none -%}
            {%- do flags.append(name ~ ': never analyzed: ANALYZE ' ~ name ~ ';') -%}
        {%- elif row['stats_off_pct'] is not none and row['stats_off_pct'] > stats_off_threshold -%}
            {%- do flags.append(name ~ ': statistics ' ~ table_health_number(row['stats_off_pct'], 2)
                ~ '% off: ANALYZE ' ~ name ~ ';') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ table_health_summary(result.rows | length, flags, schemas) }}
{% endmacro %}


{% macro table_health_summary(table_count, flags, schemas) %}
    {%- if table_count == 0 -%}
        {{ print('no tables with data in ' ~ schemas | join(', ')) }}
    {%- endif -%}
    {%- for flag in flags -%}
        {{ print('FLAG ' ~ flag) }}
    {%- endfor -%}
    {{ print(table_count ~ ' tables, ' ~ flags | length ~ ' suggested actions') }}
{% endmacro %}


{#- The width of the report's first column: the longest schema.table. -#}
{% macro table_health_name_width(result) -%}
    {%- set width = [5] -%}
    {%- for row in result.rows -%}
        {%- do width.append((row['table_schema'] ~ '.' ~ row['relation_name']) | length) -%}
    {%- endfor -%}
    {{ return(width | max) }}
{%- endmacro %}


{#- A number for the report: `-` when missing, else with the given decimals. -#}
{% macro table_health_number(value, decimals) -%}
    {%- if value is none -%}
        {{ return('-') }}
    {%- endif -%}
    {{ return(('%.' ~ decimals ~ 'f') | format(value | float)) }}
{%- endmacro %}

{% macro table_health_time(value) -%}
    {{ return(value.strftime('%Y-%m-%d %H:%M:%S') if value is not none else 'never') }}
{%- endmacro %}
