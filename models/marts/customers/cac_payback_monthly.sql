{#- One row per cohort of new paying users (the month of their first paid session and that
    session's channel) and month since, from 0 up to the last month with any session: a full
    triangle, no gaps. What the channel spent that month to win them (CAC), and how much net
    revenue, on any channel, they have brought per user since: the month the cohort pays back
    its CAC is the first with is_paid_back. -#}
{{ config(
    dist='all',
    sort=['cohort_month'],
) }}

with

users as (

    select
        user_id,
        first_paid_at,
        first_paid_channel
    from {{ ref('int_users_sessions_aggregated') }}
    where first_paid_at is not null

),

user_months as (

    -- one row per user and month with a session
    select
        user_id,
        month as session_month,
        net_revenue
    from {{ ref('int_sessions_monthly_by_user') }}

),

channel_months as (

    select
        month,
        channel,
        spend
    from {{ ref('channel_performance_monthly') }}

),

month_offsets as (

    select n as months_since_first
    from {{ integer_series(4) }} as month_series

),

cohort_members as (

    select
        user_id,
        cast({{ dbt.date_trunc('month', 'first_paid_at') }} as date) as cohort_month,
        first_paid_channel as channel
    from users

),

cohorts as (

    select
        cohort_month,
        channel,
        count(*) as new_paying_users
    from cohort_members
    group by cohort_month, channel

),

last_month as (

    select max(session_month) as last_session_month
    from user_months

),

cohort_grid as (

    select
        cohorts.cohort_month,
        cohorts.channel,
        cohorts.new_paying_users,
        month_offsets.months_since_first
    from cohorts
    cross join last_month
    inner join month_offsets
        on
            month_offsets.months_since_first
            <= {{ dbt.datediff('cohorts.cohort_month', 'last_month.last_session_month', 'month') }}

),

cohort_revenue as (

    -- the members' net revenue from their cohort month on (none before: it is their first
    -- paid month)
    select
        cohort_members.cohort_month,
        cohort_members.channel,
        {{ dbt.datediff('cohort_members.cohort_month', 'user_months.session_month', 'month') }}
            as months_since_first,
        sum(user_months.net_revenue) as net_revenue
    from user_months
    inner join cohort_members
        on user_months.user_id = cohort_members.user_id
    where user_months.session_month >= cohort_members.cohort_month
    group by
        cohort_members.cohort_month,
        cohort_members.channel,
        {{ dbt.datediff('cohort_members.cohort_month', 'user_months.session_month', 'month') }}

),

cohort_months as (

    select
        cohort_grid.cohort_month,
        cohort_grid.channel,
        cohort_grid.months_since_first,
        cohort_grid.new_paying_users,
        coalesce(channel_months.spend, 0) as spend,
        sum(coalesce(cohort_revenue.net_revenue, 0)) over (
            partition by cohort_grid.cohort_month, cohort_grid.channel
            order by cohort_grid.months_since_first
            rows between unbounded preceding and current row
        ) as cumulative_net_revenue
    from cohort_grid
    left join cohort_revenue
        on
            cohort_grid.cohort_month = cohort_revenue.cohort_month
            and cohort_grid.channel = cohort_revenue.channel
            and cohort_grid.months_since_first = cohort_revenue.months_since_first
    left join channel_months
        on
            cohort_grid.cohort_month = channel_months.month
            and cohort_grid.channel = channel_months.channel

),

cohort_returns as (

    -- doubles: Redshift's decimal division leaves a ratio of two such quotients no digit
    -- before the point (an LTV:CAC of 1 or more would overflow)
    select
        *,
        cast(spend as double precision) / new_paying_users as cac,
        cast(cumulative_net_revenue as double precision) / new_paying_users
            as cumulative_net_revenue_per_user
    from cohort_months

),

final as (

    select
        cohort_month,
        cast(channel as varchar(32)) as channel,
        cast(months_since_first as integer) as months_since_first,
        cast(new_paying_users as integer) as new_paying_users,
        cast(spend as numeric(18, 2)) as spend,
        cast(cac as double precision) as cac,
        cast(cumulative_net_revenue_per_user as double precision)
            as cumulative_net_revenue_per_user,
        cast(
            {{ safe_divide('cumulative_net_revenue_per_user', 'cac') }} as double precision
        ) as ltv_to_cac,
        -- compared before dividing (both by new_paying_users): exact at break-even
        case
            when spend = 0 then null
            else cumulative_net_revenue >= spend
        end as is_paid_back
    from cohort_returns

)

select * from final
