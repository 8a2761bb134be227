{#-
    run-operation for production: bulk-load the nine raw tables from S3 with Redshift COPY,
    all in ONE transaction, so raw_data holds either the old data or the complete new load and
    never a mix (the same guarantee as `warehouse load` gives locally).

        dbt run-operation load_raw_data_from_s3 --args '{s3_prefix: "s3://bucket/raw/2019-11-30/",
            iam_role: "arn:aws:iam::123:role/redshift-copy", format: csv}'

    Arguments: s3_prefix (required, s3://...), iam_role (required), format (csv | parquet,
    default csv), mode (replace | append, default replace), tables (a subset of
    raw_data_tables(), default all), region (csv only: the bucket's region when it differs
    from the cluster's), dry_run (print the SQL and run nothing; works on any target).
-#}
{% macro load_raw_data_from_s3(
    s3_prefix=none,
    iam_role=none,
    format='csv',
    mode='replace',
    tables=none,
    region=none,
    dry_run=false
) %}
    {%- set tables = tables if tables is not none else raw_data_tables() -%}
    {%- set sql = load_raw_data_sql(s3_prefix, iam_role, format, mode, tables, region) -%}

    {%- if dry_run -%}
        {{ log('load_raw_data_from_s3: dry run, nothing is executed; the SQL it would run:', info=true) }}
        {{ print(sql) }}
        {{ return(sql) }}
    {%- endif -%}

    {%- if target.type != 'redshift' -%}
        {{ exceptions.raise_compiler_error(
            "load_raw_data_from_s3 runs Redshift COPY from S3, but target '" ~ target.name
            ~ "' is " ~ target.type ~ ". Pass dry_run: true to only print the SQL, or load CSV "
            ~ "files into the local warehouse with `warehouse load <dir>`.") }}
    {%- endif -%}

    {%- set source_format = format | lower -%}
    {%- set prefix = s3_prefix if s3_prefix.endswith('/') else s3_prefix ~ '/' -%}
    {%- for table in tables -%}
        {{ log('load_raw_data_from_s3: raw_data.' ~ table ~ ' <- ' ~ raw_data_s3_path(prefix, table, source_format)
               ~ (' (append)' if mode == 'append' else ' (replace)'), info=true) }}
    {%- endfor -%}

    {%- do run_query(sql) -%}

    {#- Row counts after the commit, so the log shows what the tables now hold. -#}
    {%- set counts = [] -%}
    {%- for table in tables -%}
        {%- do counts.append("select '" ~ table ~ "' as raw_table, count(*) as loaded_rows from raw_data." ~ table) -%}
    {%- endfor -%}
    {%- set result = run_query(counts | join('\nunion all\n')) -%}
    {%- for row in result.rows -%}
        {{ log('load_raw_data_from_s3: raw_data.' ~ row[0] ~ ' now holds ' ~ row[1] ~ ' rows', info=true) }}
    {%- endfor -%}
    {{ return(sql) }}
{% endmacro %}


{#-
    The load as one SQL script (begin ... commit). Validates the arguments; runs nothing, so it
    can be rendered by any adapter (the tests compile it with the Redshift adapter).
-#}
{% macro load_raw_data_sql(s3_prefix, iam_role, format='csv', mode='replace', tables=none, region=none) -%}
    {%- set tables = tables if tables is not none else raw_data_tables() -%}
    {%- set source_format = (format or '') | string | lower -%}
    {%- set columns_by_table = raw_data_columns() -%}

    {%- if not s3_prefix -%}
        {{ exceptions.raise_compiler_error("load_raw_data_from_s3: s3_prefix is required, e.g. s3_prefix: \"s3://bucket/raw/2019-11-30/\"") }}
    {%- endif -%}
    {%- if not (s3_prefix | string).startswith('s3://') -%}
        {{ exceptions.raise_compiler_error("load_raw_data_from_s3: s3_prefix must start with s3:// (got '" ~ s3_prefix ~ "')") }}
    {%- endif -%}
    {%- if not iam_role -%}
        {{ exceptions.raise_compiler_error("load_raw_data_from_s3: iam_role is required: the ARN of an IAM role attached to the cluster that may read the bucket, e.g. iam_role: \"arn:aws:iam::123456789012:role/redshift-copy\"") }}
    {%- endif -%}
    {%- if source_format not in ('csv', 'parquet') -%}
        {{ exceptions.raise_compiler_error("load_raw_data_from_s3: unknown format '" ~ format ~ "' (use csv or parquet)") }}
    {%- endif -%}
    {%- if mode not in ('replace', 'append') -%}
        {{ exceptions.raise_compiler_error("load_raw_data_from_s3: unknown mode '" ~ mode ~ "' (use replace or append)") }}
    {%- endif -%}
    {%- if region and source_format != 'csv' -%}
        {{ exceptions.raise_compiler_error("load_raw_data_from_s3: region works with format csv only; Redshift COPY from Parquet needs the bucket in the cluster's region") }}
    {%- endif -%}
    {%- for value in [s3_prefix, iam_role, region or ''] if "'" in value | string -%}
        {{ exceptions.raise_compiler_error("load_raw_data_from_s3: arguments may not contain a quote (got " ~ value ~ ")") }}
    {%- endfor -%}
    {%- set unknown = tables | reject('in', raw_data_tables()) | list -%}
    {%- if unknown or not tables -%}
        {{ exceptions.raise_compiler_error("load_raw_data_from_s3: tables must be some of " ~ raw_data_tables() | join(', ') ~ " (unknown: " ~ unknown | join(', ') ~ ")") }}
    {%- endif -%}
    {%- set prefix = s3_prefix if s3_prefix.endswith('/') else s3_prefix ~ '/' -%}

-- load_raw_data_from_s3: {{ tables | length }} raw table(s) from {{ prefix }} ({{ source_format }}, {{ mode }}), one transaction
begin;
{%- if mode == 'replace' %}
-- replace: DELETE, not TRUNCATE, because TRUNCATE commits at once on Redshift
{%- endif %}

create schema if not exists raw_data;
{% for table in tables %}
{%- set columns = columns_by_table[table] %}
-- raw_data.{{ table }}
create table if not exists raw_data.{{ table }} (
    {%- for column in columns %}
    {{ column[0] }} {{ column[1] }},
    {%- endfor %}
    _loaded_at timestamp default {{ raw_data_loaded_at_default() }}
)
{#- Loads append in time order, so the newest load's rows are one block of the sort key. #}
{%- if target.type == 'redshift' %} compound sortkey (_loaded_at){% endif %};
{%- if mode == 'replace' %}
{#- Not TRUNCATE: on Redshift TRUNCATE commits the open transaction at once, so a COPY that
    failed afterwards would leave the table empty. DELETE stays inside the transaction; the
    deleted rows are reclaimed later by Redshift's automatic VACUUM DELETE. #}
delete from raw_data.{{ table }};
{%- endif %}
{%- if source_format == 'csv' %}
{#- CSV files have no column mapping: columns must come in the contract's order, after one
    header row. FROM is a key prefix: `nps.csv` also matches `nps.csv.000`, ... (split files). #}
copy raw_data.{{ table }} ({{ columns | map(attribute=0) | join(', ') }})
from '{{ raw_data_s3_path(prefix, table, 'csv') }}'
iam_role '{{ iam_role }}'
format as csv
ignoreheader 1
timeformat 'auto'
dateformat 'auto'
emptyasnull
blanksasnull
encoding utf8
{#- The table's encodings come from its DDL; COPY analyzing compression on each reload is wasted time. #}
compupdate off
statupdate on
{%- if region %}
region '{{ region }}'
{%- endif %};
{%- else %}
{#- Parquet: COPY maps the file's columns to the listed columns by position, so the files
    must hold exactly the table's columns in this order; `_loaded_at` takes its default.
    Every file under the folder <prefix><table>/ is loaded. #}
copy raw_data.{{ table }} ({{ columns | map(attribute=0) | join(', ') }})
from '{{ raw_data_s3_path(prefix, table, 'parquet') }}'
iam_role '{{ iam_role }}'
format as parquet
statupdate on;
{%- endif %}
{% endfor %}
commit;
{%- endmacro %}


{#- Where a raw table's files are: <prefix><table>.csv, or the folder <prefix><table>/ for Parquet. -#}
{% macro raw_data_s3_path(prefix, table, format) -%}
    {{ return(prefix ~ table ~ ('.csv' if format == 'csv' else '/')) }}
{%- endmacro %}
