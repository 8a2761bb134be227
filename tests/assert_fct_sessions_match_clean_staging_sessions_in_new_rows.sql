{#- Reconciliation by key, not by count: fct_sessions holds exactly the clean sessions of
    staging (a channel row and a timestamp row that both passed their checks). Anti-joins both
    ways, so a session on one side only is reported whatever its counts or revenue, a NULL
    session id included. In a build after it passed the run before, only the sessions this
    run re-decided (stg_raw_data__changed_sessions); otherwise, and with test_scope full,
    every session (reads_only_this_runs_changes, macros/incremental/build_runs.sql). -#}
{%- set every_session = 'false' if reads_only_this_runs_changes(
    ['stg_raw_data__changed_sessions'], ['fct_sessions']) else 'true' %}

with

sessions_in_scope as (

    select session_id
    from {{ ref('stg_raw_data__changed_sessions') }}

),

channels as (

    select session_id
    from {{ ref('stg_raw_data__user_session_channel') }}
    where
        {{ every_session }}
        or session_id in (select sessions_in_scope.session_id from sessions_in_scope)

),

timestamps as (

    select session_id
    from {{ ref('stg_raw_data__session_timestamp') }}
    where
        {{ every_session }}
        or session_id in (select sessions_in_scope.session_id from sessions_in_scope)

),

clean_sessions as (

    select channels.session_id
    from channels
    inner join timestamps
        on channels.session_id = timestamps.session_id

),

fct_sessions as (

    select session_id
    from {{ ref('fct_sessions') }}
    where
        {{ every_session }}
        or session_id in (select sessions_in_scope.session_id from sessions_in_scope)

),

missing_from_fct_sessions as (

    select
        clean_sessions.session_id,
        'clean in staging, missing from fct_sessions' as problem
    from clean_sessions
    left join fct_sessions
        on clean_sessions.session_id = fct_sessions.session_id
    where fct_sessions.session_id is null

),

not_clean_in_staging as (

    select
        fct_sessions.session_id,
        'in fct_sessions, not a clean session in staging' as problem
    from fct_sessions
    left join clean_sessions
        on fct_sessions.session_id = clean_sessions.session_id
    where clean_sessions.session_id is null

),

final as (

    select
        session_id,
        problem
    from missing_from_fct_sessions
    union all
    select
        session_id,
        problem
    from not_clean_in_staging

)

select * from final
