{#- One row per journey: a conversion's touchpoints, or a user's sessions after their last
    conversion; the channel path in time order (ties by session_id). A table, rebuilt in full:
    a returning user's non-converting journey moves to the month of their latest session. -#}
{{ config(
    dist='user_id',
    sort=['journey_month'],
) }}

with

journey_touches as (

    select
        journey_id,
        user_id,
        converted,
        journey_month,
        session_id,
        channel,
        session_at,
        net_revenue
    from {{ ref('int_journey_touches') }}

),

journey_totals as (

    select
        journey_id,
        user_id,
        converted,
        journey_month,
        min(session_at) as started_at,
        max(session_at) as ended_at,
        count(*) as touches,
        count(distinct channel) as distinct_channels,
        max(net_revenue) as net_revenue
    from journey_touches
    group by journey_id, user_id, converted, journey_month

),

journey_paths as (

    -- listagg apart from the other aggregates: Redshift allows no DISTINCT beside it
    select
        journey_id,
        {{ dbt.listagg('channel', "' > '", 'order by session_at, session_id') }} as channel_path
    from journey_touches
    group by journey_id

),

final as (

    select
        cast(journey_totals.journey_id as varchar(48)) as journey_id,
        journey_totals.user_id,
        journey_totals.converted,
        journey_totals.journey_month,
        journey_totals.started_at,
        journey_totals.ended_at,
        cast(journey_totals.touches as integer) as touches,
        cast(journey_totals.distinct_channels as integer) as distinct_channels,
        cast(journey_paths.channel_path as varchar(65535)) as path,
        cast(journey_totals.net_revenue as bigint) as net_revenue
    from journey_totals
    inner join journey_paths
        on journey_totals.journey_id = journey_paths.journey_id

)

select * from final
