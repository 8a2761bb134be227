{#- Clean sessions with their channel, start time and transaction, and the revenue rules
    every mart shares: paid (amount > 0), conversion (paid and not refunded), net amount.
    A table, incremental by session like the staging tables it joins, indexed by session, user
    and month: every model downstream looks sessions up by key instead of joining the three
    session tables again. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['session_id', 'stg_raw_data__changed_sessions', 'session_id']},
    pre_hook=["{{ delete_changed() }}"],
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['session_id']}, {'columns': ['user_id', 'session_at']}, {'columns': ['session_month']}, {'columns': ['_written_by_run']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['session_at'],
    backup=false,
) }}
{%- set window = load_window() %}

with

sessions as (

    select
        session_id,
        user_id,
        channel
    from {{ ref('stg_raw_data__user_session_channel') }}
    where {{ in_changed('session_id', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

session_timestamps as (

    select
        session_id,
        session_at
    from {{ ref('stg_raw_data__session_timestamp') }}
    where {{ in_changed('session_id', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

transactions as (

    select
        session_id,
        is_refunded,
        amount
    from {{ ref('stg_raw_data__session_transaction') }}
    where {{ in_changed('session_id', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

sessions_with_transactions as (

    select
        sessions.session_id,
        sessions.user_id,
        sessions.channel,
        session_timestamps.session_at,
        transactions.session_id is not null as has_transaction,
        coalesce(transactions.amount, 0) as gross_amount,
        coalesce(transactions.is_refunded, false) as is_refunded
    from sessions
    inner join session_timestamps
        on sessions.session_id = session_timestamps.session_id
    left join transactions
        on sessions.session_id = transactions.session_id

),

final as (

    select
        session_id,
        user_id,
        channel,
        session_at,
        cast(session_at as date) as session_date,
        cast({{ dbt.date_trunc('month', 'session_at') }} as date) as session_month,
        has_transaction,
        gross_amount > 0 as is_paid,
        is_refunded,
        gross_amount > 0 and not is_refunded as is_conversion,
        gross_amount,
        case when is_refunded then 0 else gross_amount end as net_amount,
        -- the run that wrote this row (the tests named *_in_new_rows read the rows since their last pass)
        {{ this_run_id() }} as _written_by_run
    from sessions_with_transactions

)

select * from final
