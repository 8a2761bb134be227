{#- channel_monthly_summary recomputed from fct_sessions, row for row: users, paid users,
    conversion rate, gross and net revenue per month and channel. -#}
with

recomputed as (

    select
        session_month as month,
        channel,
        count(distinct user_id) as unique_users,
        count(distinct case when is_paid then user_id end) as paid_users,
        sum(gross_amount) as gross_revenue,
        sum(net_amount) as net_revenue
    from {{ ref('fct_sessions') }}
    group by session_month, channel

),

summary as (

    select
        month,
        channel,
        unique_users,
        paid_users,
        conversion_rate,
        gross_revenue,
        net_revenue
    from {{ ref('channel_monthly_summary') }}

),

final as (

    select
        coalesce(recomputed.month, summary.month) as month,
        coalesce(recomputed.channel, summary.channel) as channel
    from recomputed
    full outer join summary
        on
            recomputed.month = summary.month
            and recomputed.channel = summary.channel
    where
        recomputed.month is null
        or summary.month is null
        or recomputed.unique_users <> summary.unique_users
        or recomputed.paid_users <> summary.paid_users
        or summary.conversion_rate
        <> round(100.0 * recomputed.paid_users / recomputed.unique_users, 2)
        or recomputed.gross_revenue <> summary.gross_revenue
        or recomputed.net_revenue <> summary.net_revenue

)

select * from final
