{#- A timestamp row without a clean session-channel row is `orphan_timestamp`. #}
{#- A table, not a view: the session join is computed once per run, and the quarantine's
    anti-joins, the quality counts, fct_sessions and this model's tests read its result
    (as a view, each of them redid the join of two raw tables of every session). -#}
{{ config(
    materialized='table',
    post_hook=["{{ analyze_table() }}"],
    dist='session_id',
    sort=['session_at'],
    backup=false,
) }}
with

checked_timestamps as (

    select
        sessionid,
        ts
    from {{ ref('base_raw_data__session_timestamp') }}
    where quarantine_reason is null

),

checked_sessions as (

    select sessionid
    from {{ ref('base_raw_data__user_session_channel') }}
    where quarantine_reason is null

),

final as (

    select
        checked_timestamps.sessionid as session_id,
        checked_timestamps.ts as session_at
    from checked_timestamps
    inner join checked_sessions
        on checked_timestamps.sessionid = checked_sessions.sessionid

)

select * from final
