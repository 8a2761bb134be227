{#- channel_attribution_by_purchase_monthly adds up: for every attribution model, month and
    purchase type, its credit equals the count and net revenue of that month's conversions of
    that type (a user's first conversion by time, then session_id, recounted here from
    fct_sessions); and per month, channel and model, first plus repeat equals
    channel_attribution_monthly's row. -#}
{%- set tolerance = 0.0001 %}

with

conversions as (

    select
        session_month as month,
        net_amount,
        row_number() over (
            partition by user_id order by session_at, session_id
        ) as conversion_number
    from {{ ref('fct_sessions') }}
    where is_conversion

),

models as (

    {{ attribution_model_rows() }}

),

expected as (

    select
        conversions.month,
        models.attribution_model,
        case when conversions.conversion_number = 1 then 'first' else 'repeat' end
            as purchase_type,
        count(*) as conversions,
        sum(conversions.net_amount) as net_revenue
    from conversions
    cross join models
    group by
        conversions.month,
        models.attribution_model,
        case when conversions.conversion_number = 1 then 'first' else 'repeat' end

),

by_purchase as (

    select
        month,
        channel,
        attribution_model,
        purchase_type,
        attributed_conversions,
        attributed_revenue
    from {{ ref('channel_attribution_by_purchase_monthly') }}

),

attributed_by_type as (

    select
        month,
        attribution_model,
        purchase_type,
        sum(attributed_conversions) as attributed_conversions,
        sum(attributed_revenue) as attributed_revenue
    from by_purchase
    group by month, attribution_model, purchase_type

),

type_mismatches as (

    select
        coalesce(expected.month, attributed_by_type.month) as month,
        cast(null as varchar(32)) as channel,
        coalesce(expected.attribution_model, attributed_by_type.attribution_model)
            as attribution_model,
        coalesce(expected.purchase_type, attributed_by_type.purchase_type) as purchase_type,
        'the type''s conversions' as compared_with
    from expected
    full outer join attributed_by_type
        on
            expected.month = attributed_by_type.month
            and expected.attribution_model = attributed_by_type.attribution_model
            and expected.purchase_type = attributed_by_type.purchase_type
    where
        expected.month is null
        or attributed_by_type.month is null
        or not (abs(expected.conversions - attributed_by_type.attributed_conversions) <= {{ tolerance }})
        or not (abs(expected.net_revenue - attributed_by_type.attributed_revenue) <= {{ tolerance }})

),

summed_types as (

    select
        month,
        channel,
        attribution_model,
        sum(attributed_conversions) as attributed_conversions,
        sum(attributed_revenue) as attributed_revenue
    from by_purchase
    group by month, channel, attribution_model

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

row_mismatches as (

    select
        coalesce(attribution.month, summed_types.month) as month,
        coalesce(attribution.channel, summed_types.channel) as channel,
        coalesce(attribution.attribution_model, summed_types.attribution_model)
            as attribution_model,
        cast(null as varchar(8)) as purchase_type,
        'channel_attribution_monthly' as compared_with
    from attribution
    full outer join summed_types
        on
            attribution.month = summed_types.month
            and attribution.channel = summed_types.channel
            and attribution.attribution_model = summed_types.attribution_model
    where
        attribution.month is null
        or summed_types.month is null
        or not (abs(attribution.attributed_conversions - summed_types.attributed_conversions) <= {{ tolerance }})
        or not (abs(attribution.attributed_revenue - summed_types.attributed_revenue) <= {{ tolerance }})

),

final as (

    select * from type_mismatches
    union all
    select * from row_mismatches

)

select * from final
