{#- Every raw row that does not reach the marts, with the contract's reason. -#}
with

{% for table in raw_data_tables() %}
{{ table }}_rejected as (

    select
        '{{ table }}' as source_table,
        record_key,
        quarantine_reason as reason,
        record
    from {{ ref('base_raw_data__' ~ table) }}
    where quarantine_reason is not null

),

{% endfor %}
sessions_missing_timestamp as (

    {{ rows_failing_cross_check(
        'user_session_channel', 'base_raw_data__user_session_channel',
        'stg_raw_data__user_session_channel', 'sessionid', 'session_id', 'missing_timestamp',
    ) }}

),

orphan_timestamps as (

    {{ rows_failing_cross_check(
        'session_timestamp', 'base_raw_data__session_timestamp',
        'stg_raw_data__session_timestamp', 'sessionid', 'session_id', 'orphan_timestamp',
    ) }}

),

orphan_transactions as (

    {{ rows_failing_cross_check(
        'session_transaction', 'base_raw_data__session_transaction',
        'stg_raw_data__session_transaction', 'sessionid', 'session_id', 'orphan_transaction',
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

select * from final
