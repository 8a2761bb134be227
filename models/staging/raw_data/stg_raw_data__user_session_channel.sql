{#- A session is clean when its channel row and its timestamp row both pass the single-table
    checks; a channel row whose session has no clean timestamp is `missing_timestamp`. #}
with

checked_sessions as (

    select
        userid,
        sessionid,
        channel
    from {{ ref('base_raw_data__user_session_channel') }}
    where quarantine_reason is null

),

checked_timestamps as (

    select sessionid
    from {{ ref('base_raw_data__session_timestamp') }}
    where quarantine_reason is null

),

final as (

    select
        checked_sessions.sessionid as session_id,
        checked_sessions.userid as user_id,
        checked_sessions.channel
    from checked_sessions
    inner join checked_timestamps
        on checked_sessions.sessionid = checked_timestamps.sessionid

)

select * from final
