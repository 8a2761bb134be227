{#- One row per month and Markov transition (from state, to state) of that month's journeys:
    each journey is a walk start -> channel -> ... -> channel -> conversion or null, with
    consecutive touches on the same channel merged into one step. States are numbered per
    month so the solver never compares names: 0 start, 1..n the month's channels in name
    order, -1 conversion, -2 null. Small (one row per month and pair of states), read by the
    solver and its tests without recounting every touch. A table, incremental by month: a run
    recounts the months whose journeys int_journey_touches deleted or wrote (its rebuilt-keys
    log). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'rebuilt:int_journey_touches']},
    pre_hook=["{{ delete_affected() }}"],
    post_hook=["{{ analyze_table() }}"],
    dist='all',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}

with

touches as (

    select
        journey_id,
        journey_month,
        converted,
        channel,
        touch_position,
        touch_count
    from {{ ref('int_journey_touches') }}
    where {{ in_affected('journey_month', 'rebuilt:int_journey_touches', window) }}

),

touches_with_previous as (

    select
        journey_id,
        journey_month,
        converted,
        channel,
        touch_position,
        touch_count,
        lag(channel) over (partition by journey_id order by touch_position) as previous_channel
    from touches

),

steps as (

    -- a touch on the same channel as the touch before it is the same step
    select
        journey_month as month,
        previous_channel as from_channel,
        channel as to_channel,
        cast(null as varchar(16)) as to_outcome
    from touches_with_previous
    where previous_channel is null or previous_channel <> channel

    union all

    select
        journey_month as month,
        channel as from_channel,
        cast(null as varchar(32)) as to_channel,
        case when converted then 'conversion' else 'null' end as to_outcome
    from touches
    where touch_position = touch_count

),

channel_states as (

    select
        month,
        to_channel as channel,
        row_number() over (partition by month order by to_channel) as channel_state
    from steps
    where to_channel is not null
    group by month, to_channel

),

steps_numbered as (

    select
        steps.month,
        coalesce(from_states.channel_state, 0) as from_state,
        coalesce(to_states.channel_state, case when steps.to_outcome = 'conversion' then -1 else -2 end)
            as to_state,
        coalesce(from_states.channel, '(start)') as from_name,
        coalesce(to_states.channel, '(' || steps.to_outcome || ')') as to_name
    from steps
    left join channel_states as from_states
        on
            steps.month = from_states.month
            and steps.from_channel = from_states.channel
    left join channel_states as to_states
        on
            steps.month = to_states.month
            and steps.to_channel = to_states.channel

),

transition_counts as (

    select
        month,
        from_state,
        to_state,
        from_name,
        to_name,
        count(*) as transitions
    from steps_numbered
    group by month, from_state, to_state, from_name, to_name

),

final as (

    select
        month,
        cast(from_state as integer) as from_state,
        cast(to_state as integer) as to_state,
        cast(from_name as varchar(32)) as from_name,
        cast(to_name as varchar(32)) as to_name,
        cast(transitions as bigint) as transitions,
        cast(
            1.0 * transitions / sum(transitions) over (partition by month, from_state)
            as double precision
        ) as probability
    from transition_counts

)

select * from final
