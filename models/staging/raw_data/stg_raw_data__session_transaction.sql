{#- A transaction counts only on a clean session (one that reaches fct_sessions);
    any other is `orphan_transaction`. #}
{#- A table, not a view: the session join is computed once per run, and the quarantine's
    anti-joins, the quality counts, fct_sessions and this model's tests read its result
    (as a view, each of them redid the join of two raw tables of every session). -#}
{{ config(
    materialized='table',
    post_hook=["{{ analyze_table() }}"],
    dist='session_id',
    sort=['session_id'],
    backup=false,
) }}
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
