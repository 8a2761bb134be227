{{ config(dist='all', sort=['month']) }}

with

channel_months as (

    select
        month,
        channel
    from {{ ref('channel_monthly_summary') }}

),

ad_spend as (

    select
        spend_date,
        channel,
        impressions,
        clicks,
        spend
    from {{ ref('stg_raw_data__ad_spend') }}

),

sessions_by_month as (

    select
        month,
        channel,
        sessions
    from {{ ref('int_sessions_monthly_by_channel') }}

),

first_payments as (

    select
        first_paid_at,
        first_paid_channel
    from {{ ref('int_users_sessions_aggregated') }}
    where first_paid_at is not null

),

last_touch as (

    select
        month,
        channel,
        attributed_revenue
    from {{ ref('channel_attribution_monthly') }}
    where attribution_model = 'last_touch'

),

spend_with_month as (

    select
        cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as month,
        channel,
        spend,
        impressions,
        clicks
    from ad_spend

),

spend_by_month as (

    select
        month,
        channel,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from spend_with_month
    group by month, channel

),

new_paying_users as (

    -- each user once: in the month of their first paid session, on its channel
    select
        cast({{ dbt.date_trunc('month', 'first_paid_at') }} as date) as month,
        first_paid_channel as channel,
        count(*) as new_paying_users
    from first_payments
    group by cast({{ dbt.date_trunc('month', 'first_paid_at') }} as date), first_paid_channel

),

joined as (

    select
        channel_months.month,
        channel_months.channel,
        coalesce(spend_by_month.spend, 0) as spend,
        coalesce(spend_by_month.impressions, 0) as impressions,
        coalesce(spend_by_month.clicks, 0) as clicks,
        coalesce(sessions_by_month.sessions, 0) as sessions,
        coalesce(new_paying_users.new_paying_users, 0) as new_paying_users,
        coalesce(last_touch.attributed_revenue, 0) as last_touch_revenue
    from channel_months
    left join spend_by_month
        on
            channel_months.month = spend_by_month.month
            and channel_months.channel = spend_by_month.channel
    left join sessions_by_month
        on
            channel_months.month = sessions_by_month.month
            and channel_months.channel = sessions_by_month.channel
    left join new_paying_users
        on
            channel_months.month = new_paying_users.month
            and channel_months.channel = new_paying_users.channel
    left join last_touch
        on
            channel_months.month = last_touch.month
            and channel_months.channel = last_touch.channel

),

final as (

    select
        cast(month as date) as month,
        cast(channel as varchar(32)) as channel,
        cast(spend as numeric(18, 2)) as spend,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast({{ safe_divide('clicks', 'impressions') }} as double precision) as click_through_rate,
        cast(sessions as bigint) as sessions,
        cast(new_paying_users as bigint) as new_paying_users,
        cast({{ safe_divide('spend', 'new_paying_users') }} as numeric(18, 6)) as cac,
        cast(last_touch_revenue as numeric(38, 10)) as last_touch_revenue,
        cast({{ safe_divide('last_touch_revenue', 'spend') }} as double precision) as roas
    from joined

)

select * from final
