{#- One row per month and channel of channel_monthly_summary: spend, clicks, sessions, new
    paying users and CAC, last-touch revenue and ROAS; and, per attribution model, the CAC of
    a first purchase: spend over the first purchases the model credits to the channel that
    month (channel_attribution_by_purchase_monthly). -#}
{{ config(dist='all', sort=['month']) }}
{%- set attribution_models = attribution_models() %}

with

channel_months as (

    select
        month,
        channel
    from {{ ref('channel_monthly_summary') }}

),

spend_by_month as (

    select
        month,
        channel,
        spend,
        impressions,
        clicks
    from {{ ref('int_ad_spend_monthly') }}

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

first_purchase_credits as (

    -- every model's first-purchase credit side by side, one row per month and channel
    select
        month,
        channel,
        {%- for attribution_model in attribution_models %}
        sum(
            case when attribution_model = '{{ attribution_model }}' then attributed_conversions else 0 end
        ) as {{ attribution_model }}_first_purchases{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('channel_attribution_by_purchase_monthly') }}
    where purchase_type = 'first'
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
        coalesce(last_touch.attributed_revenue, 0) as last_touch_revenue,
        {%- for attribution_model in attribution_models %}
        coalesce(first_purchase_credits.{{ attribution_model }}_first_purchases, 0)
            as {{ attribution_model }}_first_purchases{{ "," if not loop.last }}
        {%- endfor %}
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
    left join first_purchase_credits
        on
            channel_months.month = first_purchase_credits.month
            and channel_months.channel = first_purchase_credits.channel

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
        -- a double before dividing: Redshift's decimal division of these types leaves too
        -- few digits before the point
        cast(
            {{ safe_divide('cast(last_touch_revenue as double precision)', 'spend') }}
            as double precision
        ) as roas,
        {%- for attribution_model in attribution_models %}
        cast(
            {{ safe_divide('spend', 'cast(' ~ attribution_model ~ '_first_purchases as double precision)') }}
            as double precision
        ) as first_purchase_cac_{{ attribution_model }}{{ "," if not loop.last }}
        {%- endfor %}
    from joined

)

select * from final
