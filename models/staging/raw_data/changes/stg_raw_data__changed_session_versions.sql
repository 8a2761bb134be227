{#- Every version (kept or quarantined, as the base models hold them) of the sessions a run
    re-decides: the users and start times they had or have, and whether any version of a
    transaction row exists. The users, months and conversions a changed session reaches are
    read from here, so a session that moved to another user or month re-decides both. -#}

with

changed_sessions as (

    select session_id
    from {{ ref('stg_raw_data__changed_sessions') }}

),

channel_versions as (

    select
        sessionid,
        userid
    from {{ ref('base_raw_data__user_session_channel') }}
    where sessionid in (select changed_sessions.session_id from changed_sessions)

),

timestamp_versions as (

    select
        sessionid,
        ts
    from {{ ref('base_raw_data__session_timestamp') }}
    where sessionid in (select changed_sessions.session_id from changed_sessions)

),

transaction_sessions as (

    select distinct sessionid
    from {{ ref('base_raw_data__session_transaction') }}
    where sessionid in (select changed_sessions.session_id from changed_sessions)

),

final as (

    select distinct
        changed_sessions.session_id,
        channel_versions.userid as user_id,
        timestamp_versions.ts as session_at,
        transaction_sessions.sessionid is not null as has_transaction_version
    from changed_sessions
    left join channel_versions
        on changed_sessions.session_id = channel_versions.sessionid
    left join timestamp_versions
        on changed_sessions.session_id = timestamp_versions.sessionid
    left join transaction_sessions
        on changed_sessions.session_id = transaction_sessions.sessionid

)

select * from final
