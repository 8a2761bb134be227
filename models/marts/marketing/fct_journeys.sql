{#- One row per journey: a conversion's touchpoints, or a user's sessions after their last
    conversion; the channel path in time order (ties by session_id), its month the latest
    touch's. A table, incremental by journey: a run rebuilds the row of each journey
    int_journey_touches re-decided, from its touches. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['journey_id', 'int_changed_journeys', 'journey_id']},
    pre_hook=["{{ delete_changed() }}"],
    indexes=[{'columns': ['journey_id']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['journey_month'],
) }}
{%- set window = load_window() %}

with

journey_touches as (

    select
        journey_id,
        user_id,
        converted,
        channel,
        session_at,
        session_id,
        net_revenue
    from {{ ref('int_journey_touches') }}
    where {{ in_changed('journey_id', ref('int_changed_journeys'), 'journey_id', window) }}

),

journey_touches_flagged as (

    -- counts a journey's distinct channels without count(distinct) beside listagg
    select
        *,
        row_number() over (
            partition by journey_id, channel order by session_at, session_id
        ) as channel_touch_number
    from journey_touches

),

journeys as (

    select
        journey_id,
        user_id,
        converted,
        {{ journey_month_of('max(session_at)') }} as journey_month,
        min(session_at) as started_at,
        max(session_at) as ended_at,
        count(*) as touches,
        sum(case when channel_touch_number = 1 then 1 else 0 end) as distinct_channels,
        {{ dbt.listagg('channel', "' > '", 'order by session_at, session_id') }} as channel_path,
        max(net_revenue) as net_revenue
    from journey_touches_flagged
    group by journey_id, user_id, converted

),

final as (

    select
        cast(journey_id as varchar(48)) as journey_id,
        user_id,
        converted,
        journey_month,
        started_at,
        ended_at,
        cast(touches as integer) as touches,
        cast(distinct_channels as integer) as distinct_channels,
        cast(channel_path as varchar(65535)) as path,
        cast(net_revenue as bigint) as net_revenue
    from journeys

)

select * from final
