{#- For every attribution model and month, attributed revenue equals the net revenue of that
    month's conversions and attributed conversions equal their count, every month. -#}
with

conversions as (

    select
        session_month as month,
        count(*) as conversions,
        sum(net_amount) as net_revenue
    from {{ ref('fct_sessions') }}
    where is_conversion
    group by session_month

),

attributed as (

    select
        month,
        attribution_model,
        sum(attributed_conversions) as attributed_conversions,
        sum(attributed_revenue) as attributed_revenue
    from {{ ref('channel_attribution_monthly') }}
    group by month, attribution_model

),

models as (

    {{ attribution_model_rows() }}

),

expected as (

    select
        conversions.month,
        models.attribution_model,
        conversions.conversions,
        conversions.net_revenue
    from conversions
    cross join models

),

final as (

    select
        coalesce(expected.month, attributed.month) as month,
        coalesce(expected.attribution_model, attributed.attribution_model) as attribution_model,
        expected.conversions,
        attributed.attributed_conversions,
        expected.net_revenue,
        attributed.attributed_revenue
    from expected
    full outer join attributed
        on
            expected.month = attributed.month
            and expected.attribution_model = attributed.attribution_model
    where
        expected.month is null
        or attributed.month is null
        or not (abs(expected.conversions - attributed.attributed_conversions) <= 0.0001)
        or not (abs(expected.net_revenue - attributed.attributed_revenue) <= 0.0001)

)

select * from final
