{#- The marketing marts' gross revenue equals the clean transactions' total: no transaction
    is lost or double counted between staging, fct_sessions and channel_monthly_summary. -#}
with

transactions as (

    select coalesce(sum(amount), 0) as gross_revenue
    from {{ ref('stg_raw_data__session_transaction') }}

),

sessions as (

    select coalesce(sum(gross_amount), 0) as gross_revenue
    from {{ ref('fct_sessions') }}

),

summary as (

    select coalesce(sum(gross_revenue), 0) as gross_revenue
    from {{ ref('channel_monthly_summary') }}

),

final as (

    select
        transactions.gross_revenue as transactions_gross,
        sessions.gross_revenue as fct_sessions_gross,
        summary.gross_revenue as channel_summary_gross
    from transactions
    cross join sessions
    cross join summary
    where
        {{ differs('transactions.gross_revenue', 'sessions.gross_revenue') }}
        or {{ differs('transactions.gross_revenue', 'summary.gross_revenue') }}

)

select * from final
