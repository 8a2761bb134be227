{#- One row per journey month and channel path: how many journeys took it, converting and
    not, and the net revenue of those that converted. -#}
{{ config(
    dist='all',
    sort=['journey_month'],
) }}

with

journeys as (

    select
        journey_month,
        path,
        converted,
        net_revenue
    from {{ ref('fct_journeys') }}

),

final as (

    select
        journey_month,
        path,
        cast(sum(case when converted then 1 else 0 end) as integer) as converting_journeys,
        cast(sum(case when converted then 0 else 1 end) as integer) as non_converting_journeys,
        cast(sum(net_revenue) as bigint) as net_revenue
    from journeys
    group by journey_month, path

)

select * from final
