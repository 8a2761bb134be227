{#- One row per channel and complete day: spend, sessions, conversions, new paying users,
    conversion rate and CAC, by the same rules as the monthly marts (channel_performance_monthly:
    spend from ad_spend, CAC = spend / new paying users on the channel of their first paid
    session; int_sessions_joined: a conversion is a paid session not refunded), per day. What
    channel_metric_anomalies scores.
    - Every day from a channel's first day with sessions or spend is a row, a day without either
      included (0 sessions, 0 spend): a channel that goes quiet is a drop, not a gap.
    - The newest day is left out until its ad spend has arrived (ad platforms report a day once
      it is over), so a day loaded halfway is never compared with whole days.
    A table: channel_metric_anomalies reads it several times, and it is days x channels rows. -#}
{{ config(materialized='table', dist='all', sort=['metric_date']) }}

with

sessions as (

    select
        session_date,
        channel,
        is_conversion
    from {{ ref('int_sessions_joined') }}

),

ad_spend as (

    select
        spend_date,
        channel,
        spend
    from {{ ref('stg_raw_data__ad_spend') }}

),

first_payments as (

    select
        first_paid_at,
        first_paid_channel
    from {{ ref('int_users_sessions_aggregated') }}
    where first_paid_at is not null

),

sessions_by_day as (

    select
        session_date as metric_date,
        channel,
        count(*) as sessions,
        sum(case when is_conversion then 1 else 0 end) as conversions
    from sessions
    group by session_date, channel

),

spend_by_day as (

    select
        spend_date as metric_date,
        channel,
        sum(spend) as spend
    from ad_spend
    group by spend_date, channel

),

new_paying_users as (

    -- each user once: on the day of their first paid session, on its channel
    select
        cast(first_paid_at as date) as metric_date,
        first_paid_channel as channel,
        count(*) as new_paying_users
    from first_payments
    group by cast(first_paid_at as date), first_paid_channel

),

newest_session_day as (

    select max(metric_date) as newest_date
    from sessions_by_day

),

newest_spend_day as (

    select max(metric_date) as newest_date
    from spend_by_day

),

complete_through as (

    -- the newest day with sessions whose ad spend has arrived too (no spend at all: the
    -- newest day with sessions)
    select
        least(
            newest_session_day.newest_date,
            coalesce(newest_spend_day.newest_date, newest_session_day.newest_date)
        ) as last_complete_date
    from newest_session_day
    cross join newest_spend_day

),

days as (

    select metric_date from sessions_by_day
    union
    select metric_date from spend_by_day

),

channels_seen as (

    select
        metric_date,
        channel
    from sessions_by_day
    union all
    select
        metric_date,
        channel
    from spend_by_day

),

channel_first_days as (

    select
        channel,
        min(metric_date) as first_date
    from channels_seen
    group by channel

),

channel_days as (

    select
        days.metric_date,
        channel_first_days.channel
    from days
    inner join channel_first_days
        on days.metric_date >= channel_first_days.first_date
    inner join complete_through
        on days.metric_date <= complete_through.last_complete_date

),

joined as (

    select
        channel_days.metric_date,
        channel_days.channel,
        coalesce(spend_by_day.spend, 0) as spend,
        coalesce(sessions_by_day.sessions, 0) as sessions,
        coalesce(sessions_by_day.conversions, 0) as conversions,
        coalesce(new_paying_users.new_paying_users, 0) as new_paying_users
    from channel_days
    left join spend_by_day
        on
            channel_days.metric_date = spend_by_day.metric_date
            and channel_days.channel = spend_by_day.channel
    left join sessions_by_day
        on
            channel_days.metric_date = sessions_by_day.metric_date
            and channel_days.channel = sessions_by_day.channel
    left join new_paying_users
        on
            channel_days.metric_date = new_paying_users.metric_date
            and channel_days.channel = new_paying_users.channel

),

final as (

    select
        cast(metric_date as date) as metric_date,
        cast(channel as varchar(32)) as channel,
        cast(spend as numeric(18, 2)) as spend,
        cast(sessions as bigint) as sessions,
        cast(conversions as bigint) as conversions,
        cast(new_paying_users as bigint) as new_paying_users,
        cast({{ safe_divide('conversions', 'sessions') }} as double precision) as conversion_rate,
        cast({{ safe_divide('spend', 'new_paying_users') }} as numeric(18, 6)) as cac
    from joined

)

select * from final
