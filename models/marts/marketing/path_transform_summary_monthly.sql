{#- One row per journey month, path transform (exposure: consecutive touches on the same
    channel collapsed; first_touch: each channel once, in the order of its first touch) and
    transformed path, keeping its last path_max_steps steps (cut from fct_journeys' path keys,
    where ' > ' only separates steps, then read back as names): how many journeys took it,
    converting and not, and the net revenue of those that converted. Rebuilt on every run
    from fct_journeys, as path_summary_monthly is. -#}
{{ config(
    dist='all',
    sort=['journey_month'],
) }}
{%- set max_steps = path_max_steps() %}

with

journeys as (

    select
        journey_month,
        converted,
        net_revenue,
        exposure_path_key,
        first_touch_path_key
    from {{ ref('fct_journeys') }}

),

transformed as (

    select
        journey_month,
        'exposure' as path_transform,
        {{ path_from_key(path_last_steps('exposure_path_key', max_steps)) }} as path,
        converted,
        net_revenue
    from journeys
    union all
    select
        journey_month,
        'first_touch' as path_transform,
        {{ path_from_key(path_last_steps('first_touch_path_key', max_steps)) }} as path,
        converted,
        net_revenue
    from journeys

),

final as (

    select
        journey_month,
        cast(path_transform as varchar(16)) as path_transform,
        cast(path as varchar(65535)) as path,
        cast(sum(case when converted then 1 else 0 end) as integer) as converting_journeys,
        cast(sum(case when converted then 0 else 1 end) as integer) as non_converting_journeys,
        cast(sum(net_revenue) as bigint) as net_revenue
    from transformed
    group by journey_month, path_transform, path

)

select * from final
