{#- path_transform_summary_monthly counts every journey of fct_journeys once per transform:
    per month and transform, its converting and non-converting journeys and net revenue are
    fct_journeys' for that month. -#}
with

journeys as (

    select
        journey_month,
        sum(case when converted then 1 else 0 end) as converting_journeys,
        sum(case when converted then 0 else 1 end) as non_converting_journeys,
        sum(net_revenue) as net_revenue
    from {{ ref('fct_journeys') }}
    group by journey_month

),

transforms as (

    select 'exposure' as path_transform
    union all
    select 'first_touch' as path_transform

),

expected as (

    select
        journeys.journey_month,
        transforms.path_transform,
        journeys.converting_journeys,
        journeys.non_converting_journeys,
        journeys.net_revenue
    from journeys
    cross join transforms

),

summarised as (

    select
        journey_month,
        path_transform,
        sum(converting_journeys) as converting_journeys,
        sum(non_converting_journeys) as non_converting_journeys,
        sum(net_revenue) as net_revenue
    from {{ ref('path_transform_summary_monthly') }}
    group by journey_month, path_transform

),

final as (

    select
        coalesce(expected.journey_month, summarised.journey_month) as journey_month,
        coalesce(expected.path_transform, summarised.path_transform) as path_transform
    from expected
    full outer join summarised
        on
            expected.journey_month = summarised.journey_month
            and expected.path_transform = summarised.path_transform
    where
        expected.journey_month is null
        or summarised.journey_month is null
        or expected.converting_journeys <> summarised.converting_journeys
        or expected.non_converting_journeys <> summarised.non_converting_journeys
        or expected.net_revenue <> summarised.net_revenue

)

select * from final
