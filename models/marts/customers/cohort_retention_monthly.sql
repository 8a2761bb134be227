{#- One row per cohort (first-session month and first channel) and month since the first
    session, from 0 up to the last month with any session: a full triangle, no gaps. Its
    members' activity comes by user and month (int_sessions_monthly_by_user), not session. -#}
{{ config(
    dist='all',
    sort=['cohort_month'],
) }}

with

users as (

    select
        user_id,
        first_session_at,
        first_channel
    from {{ ref('int_users_sessions_aggregated') }}

),

user_months as (

    -- one row per user and month with a session
    select
        user_id,
        month as session_month,
        net_revenue
    from {{ ref('int_sessions_monthly_by_user') }}

),

month_offsets as (

    select n as months_since_first
    from {{ integer_series(4) }} as month_series

),

cohort_members as (

    select
        user_id,
        cast({{ dbt.date_trunc('month', 'first_session_at') }} as date) as cohort_month,
        first_channel
    from users

),

cohorts as (

    select
        cohort_month,
        first_channel,
        count(*) as cohort_users
    from cohort_members
    group by cohort_month, first_channel

),

last_month as (

    select max(session_month) as last_session_month
    from user_months

),

cohort_grid as (

    select
        cohorts.cohort_month,
        cohorts.first_channel,
        cohorts.cohort_users,
        month_offsets.months_since_first
    from cohorts
    cross join last_month
    inner join month_offsets
        on
            month_offsets.months_since_first
            <= {{ dbt.datediff('cohorts.cohort_month', 'last_month.last_session_month', 'month') }}

),

cohort_activity as (

    select
        cohort_members.cohort_month,
        cohort_members.first_channel,
        {{ dbt.datediff('cohort_members.cohort_month', 'user_months.session_month', 'month') }}
            as months_since_first,
        count(*) as active_users,
        sum(user_months.net_revenue) as net_revenue
    from user_months
    inner join cohort_members
        on user_months.user_id = cohort_members.user_id
    group by
        cohort_members.cohort_month,
        cohort_members.first_channel,
        {{ dbt.datediff('cohort_members.cohort_month', 'user_months.session_month', 'month') }}

),

cohort_months as (

    select
        cohort_grid.cohort_month,
        cohort_grid.first_channel,
        cohort_grid.months_since_first,
        cohort_grid.cohort_users,
        coalesce(cohort_activity.active_users, 0) as active_users,
        coalesce(cohort_activity.net_revenue, 0) as net_revenue
    from cohort_grid
    left join cohort_activity
        on
            cohort_grid.cohort_month = cohort_activity.cohort_month
            and cohort_grid.first_channel = cohort_activity.first_channel
            and cohort_grid.months_since_first = cohort_activity.months_since_first

),

final as (

    select
        cohort_month,
        cast(first_channel as varchar(32)) as first_channel,
        cast(months_since_first as integer) as months_since_first,
        cast(cohort_users as integer) as cohort_users,
        cast(active_users as integer) as active_users,
        cast(1.0 * active_users / cohort_users as double precision) as retention_rate,
        cast(net_revenue as bigint) as net_revenue,
        cast(
            1.0 * sum(net_revenue) over (
                partition by cohort_month, first_channel
                order by months_since_first
                rows between unbounded preceding and current row
            ) / cohort_users as double precision
        ) as cumulative_net_revenue_per_user
    from cohort_months

)

select * from final
