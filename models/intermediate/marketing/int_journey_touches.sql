{#- One row per journey and touch: every conversion's touchpoints (a converting journey) and,
    per user, the sessions after their last conversion inside the lookback window before the
    latest of them (that user's non-converting journey). fct_journeys aggregates it into paths;
    the Markov chain counts its steps. A table, incremental by journey (macro affected:
    journeys): a run rebuilds the journeys of the conversions int_touchpoints_weighted rebuilt,
    and the open journey of every user a re-decided session names. An open journey reads only
    the user's sessions inside the lookback window before their latest session (that one from
    int_users_sessions_aggregated's row of the user, the sessions by an index on user and
    time), never their whole history. The months of the journeys it deletes and writes go to
    the rebuilt-keys log, so the Markov chain replaces exactly those months (a returning
    user moves their open journey to a later month), and the Markov steps of those journeys to
    the step-changes log, so it does so by difference (markov_step_changes.sql). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['journey_id', 'int_changed_journeys', 'journey_id']},
    pre_hook=["{{ log_rebuilt_keys('journey_month') }}", "{{ log_markov_step_changes(-1) }}", "{{ delete_changed() }}"],
    post_hook=["{{ analyze_table() }}", "{{ log_rebuilt_keys('journey_month', written=true) }}", "{{ log_markov_step_changes(1) }}"],
    indexes=[{'columns': ['journey_id']}, {'columns': ['journey_month']}, {'columns': ['_written_by_run']}] if target.type == 'postgres' else [],
    dist='journey_id',
    sort=['journey_month'],
    backup=false,
) }}
{%- set window = load_window() %}
{#- the journeys its pre-hook deletes before the rows below are written (meta rebuilt_by) -#}
{%- do ref('int_changed_journeys') %}
{%- set lookback_days = attribution_lookback_days() -%}
{#- In seconds, as int_touchpoints_weighted does, so a fractional lookback works on Redshift. -#}
{%- set lookback_seconds = (lookback_days * 86400) | round | int -%}

with

touchpoints as (

    select
        conversion_session_id,
        user_id,
        conversion_month,
        conversion_revenue,
        session_id,
        channel,
        session_at,
        touch_position,
        touch_count
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
        recent_sessions.session_at,
        recent_sessions.last_at
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
        conversion_month as journey_month,
        session_id,
        channel,
        session_at,
        touch_position,
        touch_count,
        conversion_revenue as net_revenue
    from touchpoints

),

open_touches as (

    select
        {{ dbt.concat(["'open:'", "cast(user_id as varchar(16))"]) }} as journey_id,
        user_id,
        false as converted,
        cast({{ dbt.date_trunc('month', 'last_at') }} as date) as journey_month,
        session_id,
        channel,
        session_at,
        row_number() over (
            partition by user_id order by session_at, session_id
        ) as touch_position,
        count(*) over (partition by user_id) as touch_count,
        0 as net_revenue
    from open_journey_sessions

),

journey_touches as (

    select * from converting_touches
    union all
    select * from open_touches

),

journey_touches_flagged as (

    -- counts a journey's distinct channels without count(distinct) beside listagg
    select
        *,
        row_number() over (
            partition by journey_id, channel order by touch_position
        ) as channel_touch_number
    from journey_touches

),

final as (

    select
        cast(journey_id as varchar(48)) as journey_id,
        user_id,
        converted,
        journey_month,
        session_id,
        channel,
        session_at,
        cast(touch_position as integer) as touch_position,
        cast(touch_count as integer) as touch_count,
        channel_touch_number = 1 as is_first_touch_on_channel,
        cast(net_revenue as bigint) as net_revenue,
        -- the run that wrote this row (the tests named *_in_new_rows read the rows since their last pass)
        {{ this_run_id() }} as _written_by_run
    from journey_touches_flagged

)

select * from final
