{#-
    The contract's single-table rules for bad rows, for one raw table (declared in var
    raw_data_tables), incrementally.

    Returns the raw table's rows with exact duplicates collapsed (`raw_copies` counts the
    copies, `_loaded_at` and `_load_id` aside; `first_loaded_at` and `first_load_id` are the
    earliest copy's load time and load, 0 for a row written outside a load) and
    each row's `quarantine_reason`: the first that applies of `null_key`,
    `conflicting_duplicate` (rows sharing the logical key but disagreeing), `null_value`,
    `invalid_value`, `invalid_timestamp` and the table's own `value_checks`; null for a row
    that passes. Checks against other tables are the staging models' job. A value check's
    condition names the row's columns as `collapsed.<column>`.

    Incremental: a run re-decides every row whose partition (the key's first column) received
    a row of a load inside the model's window, from all raw rows of that partition, and the
    pre-hook `delete_checked_partitions` first deletes exactly those partitions. Rows with a
    null partition are re-decided on every run (they are few: every one is a `null_key`).
-#}
{% macro check_raw_rows(table, value_checks=[], null_key_columns=none) -%}
{%- set spec = raw_data_table(table) -%}
{%- set columns = spec.columns -%}
{%- set key_columns = spec.key -%}
{%- set null_key_columns = null_key_columns if null_key_columns is not none else key_columns -%}
{%- set window = load_window() -%}
{#- PostgreSQL finds a partition and the rows re-decided since a watermark by index; Redshift
    distributes on the partition (the join key) and sorts on when rows were decided. -#}
{{ config(
    meta={'rebuilt_by': [key_columns[0], 'checked']},
    indexes=[{'columns': [key_columns[0]]}, {'columns': ['checked_until']}, {'columns': ['_written_by_run']}] if target.type == 'postgres' else [],
    dist=key_columns[0],
    sort=['checked_until'],
) }}
with

raw_rows as (

    {{ raw_rows_of_checked_partitions(table, window) }}

),

collapsed as (

    select
        {{ columns | join(',\n        ') }},
        count(*) as raw_copies,
        min(_loaded_at) as first_loaded_at,
        min(coalesce(_load_id, 0)) as first_load_id
    from raw_rows
    group by {{ columns | join(', ') }}

),

conflicting_keys as (

    -- keys held by more than one distinct row: a hash aggregate and a join, not a window
    -- function sorting every row
    select
        {{ key_columns | join(',\n        ') }}
    from collapsed
    where {{ key_columns | join(' is not null and ') }} is not null
    group by {{ key_columns | join(', ') }}
    having count(*) > 1

),

checked as (

    select
        {%- for column in columns %}
        collapsed.{{ column }},
        {%- endfor %}
        collapsed.raw_copies,
        collapsed.first_loaded_at,
        collapsed.first_load_id,
        case
            when collapsed.{{ null_key_columns | join(' is null or collapsed.') }} is null
                then 'null_key'
            when conflicting_keys.{{ key_columns[0] }} is not null
                then 'conflicting_duplicate'
            {%- for column in spec.required %}
            when collapsed.{{ column }} is null
                then 'null_value'
            {%- endfor %}
            {%- for column in spec.finite %}
            when not (collapsed.{{ column }} between -1e308 and 1e308)
                then 'invalid_value'
            {%- endfor %}
            {%- for column in spec.not_after_load %}
            when cast(collapsed.{{ column }} as timestamp) > collapsed.first_loaded_at
                or cast(collapsed.{{ column }} as timestamp) < cast('0001-01-01' as timestamp)
                then 'invalid_timestamp'
            {%- endfor %}
            {%- for check in value_checks %}
            when {{ check.condition }}
                then '{{ check.reason }}'
            {%- endfor %}
        end as quarantine_reason
    from collapsed
    left join conflicting_keys
        on
            {%- for column in key_columns %}
            {{ 'and ' if not loop.first }}collapsed.{{ column }} = conflicting_keys.{{ column }}
            {%- endfor %}

),

final as (

    select
        {{ columns | join(',\n        ') }},
        raw_copies,
        first_loaded_at,
        first_load_id,
        cast(quarantine_reason as varchar(32)) as quarantine_reason,
        -- the load id this row was last decided up to: later models find what changed by it
        cast({{ window.until }} as bigint) as checked_until,
        -- the run that wrote this row: the tests named *_in_new_rows read the rows since their last pass
        {{ this_run_id() }} as _written_by_run
    from checked

)

select * from final
{%- endmacro %}


{#- The partition of a raw table's rows: the first column of its logical key. -#}
{% macro raw_partition_column(table) -%}
    {{ return(raw_data_table(table).key[0]) }}
{%- endmacro %}


{#- Partitions of `table` that received rows inside the window (a select of one column). -#}
{% macro touched_partitions(table, window) -%}
    {%- set partition = raw_partition_column(table) -%}
    select distinct {{ partition }}
    from {{ source('raw_data', table) }}
    where
        _load_id > {{ window.since }}
        and _load_id <= {{ window.until }}
        and {{ partition }} is not null
{%- endmacro %}


{#- All raw rows, up to the window's end, of the partitions a run re-decides. -#}
{% macro raw_rows_of_checked_partitions(table, window) -%}
    {%- set spec = raw_data_table(table) -%}
    {%- set partition = spec.key[0] -%}
    {%- set relation = source('raw_data', table) -%}
    {%- set columns = spec.columns + ['_loaded_at', '_load_id'] -%}
    {%- if window.full %}
    select {{ columns | join(', ') }}
    from {{ relation }}
    where coalesce(_load_id, 0) <= {{ window.until }}
    {%- else %}
    select {{ columns | join(', ') }}
    from {{ relation }}
    where
        coalesce(_load_id, 0) <= {{ window.until }}
        and {{ partition }} in ({{ touched_partitions(table, window) }})
    union all
    select {{ columns | join(', ') }}
    from {{ relation }}
    where
        coalesce(_load_id, 0) <= {{ window.until }}
        and {{ partition }} is null
    {%- endif %}
{%- endmacro %}


{#- pre-hook of the base models: delete the partitions this run re-decides. -#}
{% macro delete_checked_partitions(table=none) -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set table = table or model.name.replace('base_raw_data__', '') -%}
    {%- set window = load_window() -%}
    {%- set partition = raw_partition_column(table) -%}
    {%- if window.full -%}
    delete from {{ this }}
    {%- else -%}
    {#- two statements, each by the partition's index: `is null or in (...)` reads every row -#}
    delete from {{ this }}
    where {{ partition }} in ({{ touched_partitions(table, window) }});
    delete from {{ this }}
    where {{ partition }} is null
    {%- endif -%}
{%- endmacro %}
