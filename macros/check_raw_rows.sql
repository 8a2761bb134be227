{#-
    The contract's single-table rules for bad rows, for one raw table.

    Returns a select of the raw table's rows with exact duplicates collapsed (`raw_copies`
    counts the copies), each row's `record_key` and `record` as text, and its
    `quarantine_reason`: the first that applies of `null_key`, `conflicting_duplicate`
    (rows sharing the logical key but disagreeing) and the table's own `value_checks`;
    null for a row that passes. Checks against other tables are the staging models' job.
-#}
{% macro check_raw_rows(source_relation, columns, key_columns, value_checks=[], null_key_columns=none) -%}
{%- set null_key_columns = null_key_columns if null_key_columns is not none else key_columns -%}
with

raw_rows as (

    select
        {{ columns | join(',\n        ') }}
    from {{ source_relation }}

),

collapsed as (

    select
        {{ columns | join(',\n        ') }},
        count(*) as raw_copies
    from raw_rows
    group by {{ columns | join(', ') }}

),

checked as (

    select
        {{ columns | join(',\n        ') }},
        raw_copies,
        case
            when {{ null_key_columns | join(' is null or ') }} is null
                then 'null_key'
            when {{ key_columns | join(' is not null and ') }} is not null
                and count(*) over (partition by {{ key_columns | join(', ') }}) > 1
                then 'conflicting_duplicate'
            {%- for check in value_checks %}
            when {{ check.condition }}
                then '{{ check.reason }}'
            {%- endfor %}
        end as quarantine_reason
    from collapsed

),

final as (

    select
        {{ columns | join(',\n        ') }},
        raw_copies,
        quarantine_reason,
        {{ raw_record_text(key_columns, separator='|', with_names=false) }} as record_key,
        {{ raw_record_text(columns) }} as record
    from checked

)

select * from final
{%- endmacro %}
