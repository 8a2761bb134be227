{#- A transaction counts only on a clean session (one that reaches fct_sessions); any other
    is `orphan_transaction`. A table, incremental by session: a run rebuilds the sessions
    whose rows were re-decided. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['session_id', 'stg_raw_data__changed_sessions', 'session_id']},
    pre_hook=["{{ delete_changed() }}"],
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['session_id']}, {'columns': ['_written_by_run']}] if target.type == 'postgres' else [],
    dist='session_id',
    sort=['session_id'],
    backup=false,
) }}
{%- set window = load_window() %}

with

checked_transactions as (

    select
        sessionid,
        refunded,
        amount
    from {{ ref('base_raw_data__session_transaction') }}
    where
        quarantine_reason is null
        and {{ in_changed('sessionid', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

clean_sessions as (

    select session_id
    from {{ ref('stg_raw_data__user_session_channel') }}
    where {{ in_changed('session_id', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

final as (

    select
        checked_transactions.sessionid as session_id,
        coalesce(checked_transactions.refunded, false) as is_refunded,
        checked_transactions.amount,
        -- the run that wrote this row (the tests named *_in_new_rows read the rows since their last pass)
        {{ this_run_id() }} as _written_by_run
    from checked_transactions
    inner join clean_sessions
        on checked_transactions.sessionid = clean_sessions.session_id

)

select * from final
