{#- One row per journey and touch: every conversion's touchpoints (a converting journey) and,
    per user, the sessions after their last conversion inside the lookback window before the
    latest of them (that user's non-converting journey). No position, count or month is
    stored: a returning user's new session would change them on every touch of their open
    journey. fct_journeys computes them per journey, the Markov chain per step
    (markov_step_changes.sql).
    Incremental by journey with the strategy `sync`: a run re-decides the journeys of the
    conversions int_touchpoints_weighted rebuilt and the open journey of every user a
    re-decided session names, and writes only the difference: a returning user's open journey
    gains their new sessions and loses those that left the lookback window, and a converting
    journey is written once, when its conversion arrives (again only if a late or conflicting
    row changes it). An open journey reads only the user's sessions inside the lookback window
    before their latest session. The months of the journeys it re-decides (before and after)
    go to the rebuilt-keys log, so the Markov chain replaces exactly those months (a returning
    user moves their open journey to a later month), and their Markov steps to the
    step-changes log, so it does so by difference. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='sync',
    on_schema_change='fail',
    meta={'rebuilt_by': ['journey_id', 'int_changed_journeys', 'journey_id']},
    pre_hook=["{{ log_rebuilt_keys(journey_month_of('max(session_at)'), per='journey_id') }}", "{{ log_markov_step_changes(-1) }}"],
    post_hook=["{{ analyze_table() }}", "{{ log_rebuilt_keys(journey_month_of('max(session_at)'), written=true, per='journey_id') }}", "{{ log_markov_step_changes(1) }}"],
    indexes=[{'columns': ['journey_id']}, {'columns': ['_written_by_run']}] if target.type == 'postgres' else [],
    dist='journey_id',
    sort=['journey_id'],
    backup=false,
) }}
{%- set window = load_window() %}
{#- the journeys whose rows the strategy `sync` replaces by the rows below (meta rebuilt_by) -#}
{%- do ref('int_changed_journeys') %}
{%- set lookback_days = attribution_lookback_days() -%}
{#- In seconds, as int_touchpoints_weighted does, so a fractional lookback works on Redshift. -#}
{%- set lookback_seconds = (lookback_days * 86400) | round | int -%}

with

touchpoints as (

    select
        conversion_session_id,
        user_id,
        conversion_revenue,
        session_id,
        channel,
        session_at
    from {{ ref('int_touchpoints_weighted') }}
    where {{ in_changed('conversion_session_id', ref('int_changed_conversions'), 'conversion_session_id', window) }}

),

latest_sessions as (

    -- each user's latest session, one row each: not an aggregate over their whole history
    select
        user_id,
        last_session_at as last_at
    from {{ ref('int_users_sessions_aggregated') }}
    where {{ in_changed('user_id', ref('stg_raw_data__changed_session_users'), 'user_id', window) }}

),

sessions as (

    select
        session_id,
        user_id,
        channel,
        session_at,
        is_conversion
    from {{ ref('int_sessions_joined') }}

),

recent_sessions as (

    -- the sessions an open journey can hold: inside the lookback window before the latest,
    -- both ends inclusive, as for a conversion's touchpoints
    select
        sessions.session_id,
        sessions.user_id,
        sessions.channel,
        sessions.session_at,
        sessions.is_conversion,
        latest_sessions.last_at
    from sessions
    inner join latest_sessions
        on
            sessions.user_id = latest_sessions.user_id
            and sessions.session_at >= {{ dbt.dateadd('second', -1 * lookback_seconds, 'latest_sessions.last_at') }}

),

conversions_ranked as (

    select
        user_id,
        session_id,
        session_at,
        row_number() over (
            partition by user_id order by session_at desc, session_id desc
        ) as recency_rank
    from recent_sessions
    where is_conversion

),

last_conversions as (

    -- the last conversion, if it lies inside the window (an earlier one precedes every
    -- session of the window)
    select
        user_id,
        session_id as last_conversion_session_id,
        session_at as last_conversion_at
    from conversions_ranked
    where recency_rank = 1

),

open_journey_sessions as (

    -- the window's sessions after the last conversion; ties on time broken by session_id
    select
        recent_sessions.session_id,
        recent_sessions.user_id,
        recent_sessions.channel,
        recent_sessions.session_at
    from recent_sessions
    left join last_conversions
        on recent_sessions.user_id = last_conversions.user_id
    where
        last_conversions.user_id is null
        or recent_sessions.session_at > last_conversions.last_conversion_at
        or (
            recent_sessions.session_at = last_conversions.last_conversion_at
            and recent_sessions.session_id > last_conversions.last_conversion_session_id
        )

),

converting_touches as (

    select
        conversion_session_id as journey_id,
        user_id,
        true as converted,
        session_id,
        channel,
        session_at,
        conversion_revenue as net_revenue
    from touchpoints

),

open_touches as (

    select
        {{ dbt.concat(["'open:'", "cast(user_id as varchar(16))"]) }} as journey_id,
        user_id,
        false as converted,
        session_id,
        channel,
        session_at,
        0 as net_revenue
    from open_journey_sessions

),

journey_touches as (

    select * from converting_touches
    union all
    select * from open_touches

),

final as (

    select
        cast(journey_id as varchar(48)) as journey_id,
        user_id,
        converted,
        session_id,
        channel,
        session_at,
        cast(net_revenue as bigint) as net_revenue,
        -- the run that wrote this row (the tests named *_in_new_rows read the rows since their last pass)
        {{ this_run_id() }} as _written_by_run
    from journey_touches

)

select * from final
