{#- Every raw row that does not reach the marts, with the contract's reason. Incremental by
    key partition: a run re-reads, per raw table, the partitions the base layer re-decided
    (for the three session tables: every re-decided session, since their checks against each
    other change with any of them), and the pre-hook first deletes exactly those rows. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=["{{ delete_quarantine_partitions() }}"],
    indexes=[{'columns': ['source_table', 'record_key']}] if target.type == 'postgres' else [],
    dist='even',
    sort=['source_table'],
) }}
{%- set window = load_window() %}
{%- set changed_sessions = ref('stg_raw_data__changed_sessions') %}
{%- set base_models = {} %}
{%- for table in raw_data_tables() %}
    {%- do base_models.update({table: ref('base_raw_data__' ~ table)}) %}
{%- endfor %}

with

{% for table in raw_data_tables() %}
{%- set spec = raw_data_table(table) %}
{{ table }}_rejected as (

    select
        '{{ table }}' as source_table,
        {{ raw_record_text(spec.key, separator='|', with_names=false) }} as record_key,
        quarantine_reason as reason,
        {{ raw_record_text(spec.columns) }} as record
    from {{ quarantine_partition_rows(table, base_models[table], changed_sessions, window) }} as partition_rows
    where quarantine_reason is not null

),

{% endfor %}
sessions_missing_timestamp as (

    {{ rows_failing_cross_check(
        'user_session_channel', base_models['user_session_channel'], changed_sessions,
        ref('stg_raw_data__user_session_channel'), 'session_id', 'missing_timestamp', window,
    ) }}

),

orphan_timestamps as (

    {{ rows_failing_cross_check(
        'session_timestamp', base_models['session_timestamp'], changed_sessions,
        ref('stg_raw_data__session_timestamp'), 'session_id', 'orphan_timestamp', window,
    ) }}

),

orphan_transactions as (

    {{ rows_failing_cross_check(
        'session_transaction', base_models['session_transaction'], changed_sessions,
        ref('stg_raw_data__session_transaction'), 'session_id', 'orphan_transaction', window,
    ) }}

),

final as (

    {% for table in raw_data_tables() %}
    select * from {{ table }}_rejected
    union all
    {% endfor %}
    select * from sessions_missing_timestamp
    union all
    select * from orphan_timestamps
    union all
    select * from orphan_transactions

)

select
    cast(source_table as varchar(64)) as source_table,
    cast(record_key as varchar(1024)) as record_key,
    cast(reason as varchar(32)) as reason,
    cast(record as varchar(4096)) as record
from final
