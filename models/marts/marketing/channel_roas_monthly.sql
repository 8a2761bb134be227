{{ config(dist='all', sort=['month']) }}

with

channel_months as (

    select
        month,
        channel,
        spend
    from {{ ref('channel_performance_monthly') }}

),

ad_spend as (

    -- a channel's spend in a month it had no session (so no channel_performance_monthly
    -- row): the spend beside the credit a touch in an earlier month's lookback gives it
    select
        month,
        channel,
        spend
    from {{ ref('int_ad_spend_monthly') }}

),

attribution as (

    select
        month,
        channel,
        attribution_model,
        attributed_conversions,
        attributed_revenue
    from {{ ref('channel_attribution_monthly') }}

),

first_purchases as (

    select
        month,
        channel,
        attribution_model,
        attributed_conversions
    from {{ ref('channel_attribution_by_purchase_monthly') }}
    where purchase_type = 'first'

),

-- Every model the attribution mart holds (markov included once it is there): no list to keep.
attribution_models as (

    select distinct attribution_model
    from attribution

),

grid as (

    select
        channel_months.month,
        channel_months.channel,
        attribution_models.attribution_model,
        channel_months.spend
    from channel_months
    cross join attribution_models

),

-- Full join: a touch in the lookback window can credit a channel in a month it had no session
-- (so no channel_performance_monthly row: its spend, if any, comes from int_ad_spend_monthly);
-- its credit must still count.
final as (

    select
        coalesce(grid.month, attribution.month) as month,
        cast(coalesce(grid.channel, attribution.channel) as varchar(32)) as channel,
        cast(coalesce(grid.attribution_model, attribution.attribution_model) as varchar(16))
            as attribution_model,
        cast(coalesce(grid.spend, ad_spend.spend, 0) as numeric(18, 2)) as spend,
        cast(coalesce(attribution.attributed_conversions, 0) as numeric(38, 10))
            as attributed_conversions,
        cast(coalesce(attribution.attributed_revenue, 0) as numeric(38, 10))
            as attributed_revenue,
        cast(
            {{ safe_divide(
                'cast(coalesce(attribution.attributed_revenue, 0) as double precision)',
                'coalesce(grid.spend, ad_spend.spend)') }}
            as double precision
        ) as roas,
        cast(coalesce(first_purchases.attributed_conversions, 0) as numeric(38, 10))
            as first_purchase_conversions,
        cast(
            {{ safe_divide(
                'coalesce(grid.spend, ad_spend.spend, 0)',
                'cast(first_purchases.attributed_conversions as double precision)') }}
            as double precision
        ) as first_purchase_cac
    from grid
    full outer join attribution
        on
            grid.month = attribution.month
            and grid.channel = attribution.channel
            and grid.attribution_model = attribution.attribution_model
    left join ad_spend
        on
            grid.month is null
            and attribution.month = ad_spend.month
            and attribution.channel = ad_spend.channel
    -- a model's first-purchase credit is part of its credit: it has an attribution row
    left join first_purchases
        on
            attribution.month = first_purchases.month
            and attribution.channel = first_purchases.channel
            and attribution.attribution_model = first_purchases.attribution_model

)

select * from final
