{#- One row per month and channel with a removal effect above 0: the month's conversions and
    their net revenue split over the channels in proportion to their removal effects (the
    Markov rows of channel_attribution_monthly). -#}
with

removal_effects as (

    select
        month,
        channel,
        removal_effect
    from {{ ref('int_markov_removal_effects_monthly') }}
    where removal_effect > 0

),

journeys as (

    select
        {{ journey_month_of('session_at') }} as journey_month,
        net_revenue
    from {{ ref('int_journey_touches') }}
    -- one row per converting journey: its touch on the conversion's own session
    where converted and session_id = journey_id

),

monthly_conversions as (

    select
        journey_month as month,
        count(*) as conversions,
        sum(net_revenue) as net_revenue
    from journeys
    group by journey_month

),

shares as (

    select
        month,
        channel,
        removal_effect / sum(removal_effect) over (partition by month) as credit_share
    from removal_effects

),

final as (

    select
        shares.month,
        shares.channel,
        cast(monthly_conversions.conversions * shares.credit_share as double precision)
            as attributed_conversions,
        cast(monthly_conversions.net_revenue * shares.credit_share as double precision)
            as attributed_revenue
    from shares
    inner join monthly_conversions
        on shares.month = monthly_conversions.month

)

select * from final
