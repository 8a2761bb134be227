{#-
    run-operation for production: bulk-load the nine raw tables from S3 with Redshift COPY,
    all in ONE transaction, so raw_data holds either the old data or the complete new load and
    never a mix (the same guarantee as `warehouse load` gives locally). Each file is copied
    into a temporary staging table first. `mode: replace` is a diff by content, as
    `warehouse load` does it: rows the table already holds keep their load time and load id,
    only the copies it lacks are added, those the file no longer has are removed. The load
    gets the next id in raw_data._loads, and one row there per table with the rows it added and
    removed, in the same transaction.

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

    {#- After the commit, what the load did and what the tables now hold. -#}
    {%- set counts = [] -%}
    {%- for table in tables -%}
        {%- do counts.append("select '" ~ table ~ "' as raw_table, (select count(*) from raw_data." ~ table
            ~ ") as held_rows, rows_added, rows_removed, load_id from raw_data._loads where raw_table = '" ~ table
            ~ "' and load_id = (select max(load_id) from raw_data._loads)") -%}
    {%- endfor -%}
    {%- set result = run_query(counts | join('\nunion all\n')) -%}
    {%- for row in result.rows -%}
        {{ log('load_raw_data_from_s3: load ' ~ row[4] ~ ': raw_data.' ~ row[0] ~ ' +' ~ row[2] ~ ' -' ~ row[3]
               ~ ' rows, now holds ' ~ row[1], info=true) }}
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

create schema if not exists raw_data;
create table if not exists raw_data._loads (load_id bigint, raw_table varchar(64), load_mode varchar(16), loaded_at timestamp, rows_added bigint, rows_removed bigint);
{#- Locked until this load commits: load ids follow the order in which loads commit. #}
lock raw_data._loads;
create temporary table load_number as select coalesce(max(load_id), 0) + 1 as load_id from raw_data._loads;
{% for table in tables %}
{%- set columns = columns_by_table[table] %}
{%- set names = columns | map(attribute=0) | join(', ') %}
{%- set row_text = raw_record_text(columns | map(attribute=0) | list) %}
-- raw_data.{{ table }}
create table if not exists raw_data.{{ table }} (
    {%- for column in columns %}
    {{ column[0] }} {{ column[1] }},
    {%- endfor %}
    _loaded_at timestamp default {{ raw_data_loaded_at_default() }},
    _load_id bigint
)
{#- Loads append in time order, so the newest load's rows are one block of the sort key. #}
{%- if target.type == 'redshift' %} compound sortkey (_loaded_at){% endif %};
create temporary table load_{{ table }} (
    {%- for column in columns %}
    {{ column[0] }} {{ column[1] }}{{ ',' if not loop.last }}
    {%- endfor %}
);
{%- if source_format == 'csv' %}
{#- CSV files have no column mapping: columns must come in the contract's order, after one
    header row. FROM is a key prefix: `nps.csv` also matches `nps.csv.000`, ... (split files). #}
copy load_{{ table }} ({{ names }})
from '{{ raw_data_s3_path(prefix, table, 'csv') }}'
iam_role '{{ iam_role }}'
format as csv
ignoreheader 1
timeformat 'auto'
dateformat 'auto'
emptyasnull
blanksasnull
encoding utf8
compupdate off
{%- if region %}
region '{{ region }}'
{%- endif %};
{%- else %}
{#- Parquet: COPY maps the file's columns to the listed columns by position, so the files
    must hold exactly the table's columns in this order. Every file under the folder
    <prefix><table>/ is loaded. #}
copy load_{{ table }} ({{ names }})
from '{{ raw_data_s3_path(prefix, table, 'parquet') }}'
iam_role '{{ iam_role }}'
format as parquet;
{%- endif %}
{%- if mode == 'append' %}
insert into raw_data.{{ table }} ({{ names }}, _load_id)
select {{ names }}, load_number.load_id
from load_{{ table }} cross join load_number;
insert into raw_data._loads (load_id, raw_table, load_mode, loaded_at, rows_added, rows_removed)
select load_number.load_id, '{{ table }}', 'append', {{ raw_data_loaded_at_default() }}, count(*), 0
from load_{{ table }} cross join load_number
group by load_number.load_id;
{%- else %}
{#- replace, as a diff by content: per distinct row (its text tells a NULL from any value),
    the copies the table and the file hold. Where they differ, the table keeps its oldest
    copies (with their load time and load id) up to the file's count, and the file's surplus
    copies are added by this load. DELETE, not TRUNCATE: TRUNCATE commits at once on Redshift. #}
create temporary table load_{{ table }}_diff as
select
    coalesce(held.row_text, wanted.row_text) as row_text,
    coalesce(held.copies, 0) as held,
    coalesce(wanted.copies, 0) as wanted
from (select {{ row_text }} as row_text, count(*) as copies from raw_data.{{ table }} group by 1) as held
full outer join (select {{ row_text }} as row_text, count(*) as copies from load_{{ table }} group by 1) as wanted
    on held.row_text = wanted.row_text
where coalesce(held.copies, 0) <> coalesce(wanted.copies, 0);
create temporary table load_{{ table }}_kept as
select numbered.{{ columns | map(attribute=0) | join(', numbered.') }}, numbered._loaded_at, numbered._load_id
from (
    select {{ names }}, _loaded_at, _load_id, {{ row_text }} as row_text,
        row_number() over (partition by {{ row_text }} order by coalesce(_load_id, 0), _loaded_at) as copy
    from raw_data.{{ table }}
    where {{ row_text }} in (select row_text from load_{{ table }}_diff)
) as numbered
inner join load_{{ table }}_diff as diff
    on numbered.row_text = diff.row_text
where numbered.copy <= least(diff.held, diff.wanted);
delete from raw_data.{{ table }}
where {{ row_text }} in (select row_text from load_{{ table }}_diff);
insert into raw_data.{{ table }} ({{ names }}, _loaded_at, _load_id)
select {{ names }}, _loaded_at, _load_id
from load_{{ table }}_kept;
insert into raw_data.{{ table }} ({{ names }}, _load_id)
select numbered.{{ columns | map(attribute=0) | join(', numbered.') }}, load_number.load_id
from (
    select {{ names }}, {{ row_text }} as row_text,
        row_number() over (partition by {{ row_text }} order by {{ row_text }}) as copy
    from load_{{ table }}
    where {{ row_text }} in (select row_text from load_{{ table }}_diff where wanted > held)
) as numbered
inner join load_{{ table }}_diff as diff
    on numbered.row_text = diff.row_text
cross join load_number
where numbered.copy <= diff.wanted - diff.held;
insert into raw_data._loads (load_id, raw_table, load_mode, loaded_at, rows_added, rows_removed)
select
    load_number.load_id, '{{ table }}', 'replace', {{ raw_data_loaded_at_default() }},
    coalesce(sum(greatest(diff.wanted - diff.held, 0)), 0),
    coalesce(sum(greatest(diff.held - diff.wanted, 0)), 0)
from load_number
left join load_{{ table }}_diff as diff
    on 1 = 1
group by load_number.load_id;
{%- endif %}
{% endfor %}
commit;
{%- endmacro %}


{#- Where a raw table's files are: <prefix><table>.csv, or the folder <prefix><table>/ for Parquet. -#}
{% macro raw_data_s3_path(prefix, table, format) -%}
    {{ return(prefix ~ table ~ ('.csv' if format == 'csv' else '/')) }}
{%- endmacro %}
