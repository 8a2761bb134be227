{#- cac_payback_monthly's cohorts are channel_performance_monthly's new paying users: every
    channel-month with new paying users is a cohort with those users and that spend (and no
    other cohort exists); and at the last month, the cohorts' revenue to date is the whole net
    revenue of every paying user (dim_users: a user's revenue comes at or after their first
    paid session). -#}
with

payback as (

    select
        cohort_month,
        channel,
        months_since_first,
        new_paying_users,
        spend,
        cumulative_net_revenue_per_user
    from {{ ref('cac_payback_monthly') }}

),

performance as (

    select
        month,
        channel,
        new_paying_users,
        spend
    from {{ ref('channel_performance_monthly') }}
    where new_paying_users > 0

),

paying_users as (

    select sum(net_revenue) as net_revenue
    from {{ ref('dim_users') }}
    where first_paid_at is not null

),

cohorts as (

    select
        cohort_month,
        channel,
        new_paying_users,
        spend
    from payback
    where months_since_first = 0

),

cohort_mismatches as (

    select
        coalesce(cohorts.cohort_month, performance.month) as cohort_month,
        coalesce(cohorts.channel, performance.channel) as channel,
        'channel_performance_monthly' as compared_with
    from cohorts
    full outer join performance
        on
            cohorts.cohort_month = performance.month
            and cohorts.channel = performance.channel
    where
        cohorts.cohort_month is null
        or performance.month is null
        or cohorts.new_paying_users <> performance.new_paying_users
        or cohorts.spend <> performance.spend

),

cohort_ends as (

    select
        cohort_month,
        channel,
        max(months_since_first) as last_month_since
    from payback
    group by cohort_month, channel

),

latest as (

    -- each cohort's last row: its revenue to date at the last month
    select
        sum(payback.cumulative_net_revenue_per_user * payback.new_paying_users) as net_revenue
    from payback
    inner join cohort_ends
        on
            payback.cohort_month = cohort_ends.cohort_month
            and payback.channel = cohort_ends.channel
            and payback.months_since_first = cohort_ends.last_month_since

),

revenue_mismatches as (

    select
        cast(null as date) as cohort_month,
        cast(null as varchar(32)) as channel,
        'dim_users net revenue' as compared_with
    from latest
    cross join paying_users
    where not (abs(coalesce(latest.net_revenue, 0) - coalesce(paying_users.net_revenue, 0)) <= 0.001)

),

final as (

    select * from cohort_mismatches
    union all
    select * from revenue_mismatches

)

select * from final
