{#- One row per conversion and touchpoint, with the credit each attribution model gives the
    touchpoint. A conversion's credits sum to 1 under every model. -#}
{#- A table, incremental by conversion: a run rebuilds the conversions that a re-decided
    session can reach: the session itself (a new, changed or vanished conversion) and every
    conversion whose lookback window holds any version of it (macro affected: conversions,
    which finds the latter among this table's rows: so the strategy `replace_affected`
    deletes them only after the select). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    on_schema_change='fail',
    meta={'rebuilt_by': ['conversion_session_id', 'int_changed_conversions', 'conversion_session_id']},
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['conversion_session_id']}, {'columns': ['conversion_month']}, {'columns': ['user_id', 'conversion_at']}, {'columns': ['_written_by_run']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['conversion_month'],
    backup=false,
) }}
{%- set half_life_days = attribution_half_life_days() -%}
{%- set lookback_seconds = attribution_lookback_seconds() -%}
{%- set window = load_window() %}

with

conversions as (

    select
        session_id as conversion_session_id,
        user_id,
        session_at as conversion_at,
        session_month as conversion_month,
        net_amount as conversion_revenue
    from {{ ref('int_sessions_joined') }}
    where
        is_conversion
        and {{ in_changed('session_id', ref('int_changed_conversions'), 'conversion_session_id', window) }}

),

sessions as (

    -- every session that can be a touchpoint of the conversions rebuilt
    select
        session_id,
        user_id,
        channel,
        session_at
    from {{ ref('int_sessions_joined') }}
    {%- if not window.full %}
    where user_id in (select converting.user_id from conversions as converting)
    {%- endif %}

),

touches_in_lookback as (

    select
        conversions.conversion_session_id,
        conversions.user_id,
        conversions.conversion_at,
        conversions.conversion_month,
        conversions.conversion_revenue,
        sessions.session_id,
        sessions.channel,
        sessions.session_at,
        cast(
            {{ dbt.datediff('sessions.session_at', 'conversions.conversion_at', 'second') }}
            / 86400.0 as double precision
        ) as days_before_conversion
    from conversions
    inner join sessions
        on
            conversions.user_id = sessions.user_id
            and conversions.conversion_at >= sessions.session_at
            -- both ends inclusive: a session exactly lookback days before still counts
            and {{ dbt.dateadd('second', -1 * lookback_seconds, 'conversions.conversion_at') }}
            <= sessions.session_at

),

touches_decayed as (

    select
        *,
        power(2.0, -1.0 * days_before_conversion / {{ half_life_days }}) as decay
    from touches_in_lookback

),

touches_ordered as (

    -- One order (time, then session_id) serves every window, so the touches are sorted once.
    -- A conversion is its own latest touch (0 days before itself, decay 1), so the decay
    -- total is never 0, even when a tiny half-life underflows the older touches; the order
    -- fixes the order of summation, so a conversion rebuilt on its own gets the very same
    -- double as in a full build.
    select
        *,
        row_number() over (
            partition by conversion_session_id order by session_at, session_id
        ) as touch_position,
        count(*) over (
            partition by conversion_session_id order by session_at, session_id
            rows between unbounded preceding and unbounded following
        ) as touch_count,
        sum(decay) over (
            partition by conversion_session_id order by session_at, session_id
            rows between unbounded preceding and unbounded following
        ) as decay_total
    from touches_decayed

),

touches_marked as (

    -- the position of the latest touch not on Organic (the contract names the channel); null
    -- when every touch is on Organic, and the last touch then gets last_non_organic's credit.
    -- The same window order as above, so the touches are not sorted again.
    select
        *,
        max(case when channel <> 'Organic' then touch_position end) over (
            partition by conversion_session_id order by session_at, session_id
            rows between unbounded preceding and unbounded following
        ) as last_non_organic_position
    from touches_ordered

),

final as (

    select
        conversion_session_id,
        user_id,
        conversion_at,
        conversion_month,
        conversion_revenue,
        session_id,
        channel,
        session_at,
        days_before_conversion,
        touch_position,
        touch_count,
        cast(case when touch_position = 1 then 1 else 0 end as double precision)
            as first_touch_weight,
        cast(case when touch_position = touch_count then 1 else 0 end as double precision)
            as last_touch_weight,
        cast(1.0 / touch_count as double precision) as linear_weight,
        cast(
            case
                when touch_count = 1 then 1.0
                when touch_count = 2 then 0.5
                when touch_position = 1 or touch_position = touch_count then 0.4
                else 0.2 / (touch_count - 2)
            end as double precision
        ) as position_based_weight,
        cast(decay / decay_total as double precision) as time_decay_weight,
        cast(
            case
                when touch_position = coalesce(last_non_organic_position, touch_count) then 1
                else 0
            end as double precision
        ) as last_non_organic_weight,
        -- the run that wrote this row (the tests named *_in_new_rows read the rows since their last pass)
        {{ this_run_id() }} as _written_by_run
    from touches_marked

)

select * from final
