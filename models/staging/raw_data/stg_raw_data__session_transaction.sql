{#- A transaction counts only on a clean session (one that reaches fct_sessions);
    any other is `orphan_transaction`. #}
with

checked_transactions as (

    select
        sessionid,
        refunded,
        amount
    from {{ ref('base_raw_data__session_transaction') }}
    where quarantine_reason is null

),

clean_sessions as (

    select session_id
    from {{ ref('stg_raw_data__user_session_channel') }}

),

final as (

    select
        checked_transactions.sessionid as session_id,
        coalesce(checked_transactions.refunded, false) as is_refunded,
        checked_transactions.amount
    from checked_transactions
    inner join clean_sessions
        on checked_transactions.sessionid = clean_sessions.session_id

)

select * from final
