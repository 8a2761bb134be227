{#- A timestamp row without a clean session-channel row is `orphan_timestamp`. #}
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
