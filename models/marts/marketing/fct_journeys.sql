{#- One row per journey: a conversion's touchpoints, or a user's sessions after their last
    conversion; the channel path in time order (ties by session_id), its transforms (exposure:
    repeats collapsed; first touch: each channel once), its channel set, its month the latest
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

    -- marks a journey's first touch on each channel (its distinct channels, counted without
    -- count(distinct) beside listagg) and each touch on another channel than the one before
    -- (a step of the exposure path)
    select
        *,
        row_number() over (
            partition by journey_id, channel order by session_at, session_id
        ) as channel_touch_number,
        lag(channel) over (
            partition by journey_id order by session_at, session_id
        ) as previous_channel
    from journey_touches

),

channel_sets as (

    -- each journey's distinct channels in name order: the Shapley game's coalition, a
    -- name's '%' and '+' escaped (%25, %2B) so that ' + ' only ever separates two names.
    -- Apart from the paths: Redshift takes one listagg order per select.
    select
        journey_id,
        {{ dbt.listagg(shapley_channel_key('channel'), "' + '", 'order by channel') }} as channel_set
    from journey_touches_flagged
    where channel_touch_number = 1
    group by journey_id

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
        -- listagg skips nulls: the touches on another channel than the one before ...
        {{ dbt.listagg(
            "case when previous_channel is null or previous_channel <> channel then channel end",
            "' > '", 'order by session_at, session_id') }} as exposure_path,
        -- ... and each channel's first touch
        {{ dbt.listagg(
            'case when channel_touch_number = 1 then channel end',
            "' > '", 'order by session_at, session_id') }} as first_touch_path,
        -- the same two with each name escaped, so ' > ' only ever separates two steps (what
        -- path_transform_summary_monthly counts and cuts)
        {{ dbt.listagg(
            "case when previous_channel is null or previous_channel <> channel then "
            ~ path_step_key('channel') ~ " end",
            "' > '", 'order by session_at, session_id') }} as exposure_path_key,
        {{ dbt.listagg(
            'case when channel_touch_number = 1 then ' ~ path_step_key('channel') ~ ' end',
            "' > '", 'order by session_at, session_id') }} as first_touch_path_key,
        max(net_revenue) as net_revenue
    from journey_touches_flagged
    group by journey_id, user_id, converted

),

final as (

    select
        cast(journeys.journey_id as varchar(48)) as journey_id,
        journeys.user_id,
        journeys.converted,
        journeys.journey_month,
        journeys.started_at,
        journeys.ended_at,
        cast(journeys.touches as integer) as touches,
        cast(journeys.distinct_channels as integer) as distinct_channels,
        cast(journeys.channel_path as varchar(65535)) as path,
        cast(journeys.net_revenue as bigint) as net_revenue,
        cast(journeys.exposure_path as varchar(65535)) as exposure_path,
        cast(journeys.first_touch_path as varchar(65535)) as first_touch_path,
        cast(journeys.exposure_path_key as varchar(65535)) as exposure_path_key,
        cast(journeys.first_touch_path_key as varchar(65535)) as first_touch_path_key,
        cast(channel_sets.channel_set as varchar(65535)) as channel_set
    from journeys
    inner join channel_sets
        on journeys.journey_id = channel_sets.journey_id

)

select * from final
