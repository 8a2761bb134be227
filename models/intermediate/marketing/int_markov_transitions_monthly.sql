{#- One row per month and Markov transition (from state, to state) of that month's journeys:
    each journey is a walk start -> channel -> ... -> channel -> conversion or null, with
    consecutive touches on the same channel merged into one step. States are numbered per
    month so the solver never compares names: 0 start, 1..n the month's channels in name
    order, -1 conversion, -2 null. Small (one row per month and pair of states), read by the
    solver and its tests without recounting every touch. A table, incremental by month: a run
    replaces the months whose journeys int_journey_touches deleted or wrote (its rebuilt-keys
    log). Their new counts are their old ones plus the step changes int_journey_touches logged
    (markov_step_changes.sql): a returning user's open journey moves one journey's steps, not
    the month's. Where a journeys run in the window logged none (a full rebuild), the months
    are recounted from the touches. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'log:int_journey_touches', 'month']},
    post_hook=["{{ analyze_table() }}"],
    dist='all',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}
{%- set recount = window.full or window.empty
    or not markov_step_changes_complete(ref('int_journey_touches'), window) %}

with

{% if recount -%}
touches as (

    select
        journey_id,
        converted,
        channel,
        session_at,
        session_id
    from {{ ref('int_journey_touches') }}

),

step_counts as (

    -- every journey's steps, then the months to replace (a journey's month is known only
    -- from all its touches)
    select
        counted.month,
        counted.from_name,
        counted.to_name,
        counted.transitions
    from (
        {{ markov_step_counts('touches') }}
    ) as counted
    where {{ in_rebuilt_log('counted.month', ref('int_journey_touches'), window) }}

),
{%- else -%}
previous_counts as (

    select
        month,
        from_name,
        to_name,
        transitions
    from {{ this }}
    where {{ in_rebuilt_log('month', ref('int_journey_touches'), window) }}

),

logged_changes as (

    select
        month,
        from_name,
        to_name,
        steps as transitions
    from {{ load_state_relation('markov_step_changes') }}
    where
        model_name = '{{ ref('int_journey_touches') }}'
        and month is not null
        and rebuilt_until > {{ window.since }}
        and rebuilt_until <= {{ window.until }}

),

step_counts as (

    -- a step no journey takes any more adds up to 0 (below 0 would be a lost change: kept,
    -- so the test on transitions fails)
    select
        counted.month,
        counted.from_name,
        counted.to_name,
        cast(sum(counted.transitions) as bigint) as transitions
    from (
        select * from previous_counts
        union all
        select * from logged_changes
    ) as counted
    group by counted.month, counted.from_name, counted.to_name
    having sum(counted.transitions) <> 0

),
{%- endif %}

channel_states as (

    select
        month,
        to_name as channel,
        row_number() over (partition by month order by to_name) as channel_state
    from step_counts
    where to_name not in ('(conversion)', '(null)')
    group by month, to_name

),

transition_counts as (

    select
        step_counts.month,
        coalesce(from_states.channel_state, 0) as from_state,
        coalesce(to_states.channel_state, case when step_counts.to_name = '(conversion)' then -1 else -2 end)
            as to_state,
        step_counts.from_name,
        step_counts.to_name,
        step_counts.transitions
    from step_counts
    left join channel_states as from_states
        on
            step_counts.month = from_states.month
            and step_counts.from_name = from_states.channel
    left join channel_states as to_states
        on
            step_counts.month = to_states.month
            and step_counts.to_name = to_states.channel

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
