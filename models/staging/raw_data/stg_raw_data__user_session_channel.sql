{#- A session is clean when its channel row and its timestamp row both pass the single-table
    checks; a channel row whose session has no clean timestamp is `missing_timestamp`.
    A table, incremental by session: a run rebuilds the sessions whose rows were re-decided. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['session_id', 'stg_raw_data__changed_sessions', 'session_id']},
    pre_hook=["{{ delete_changed() }}"],
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['session_id']}, {'columns': ['user_id']}, {'columns': ['_written_by_run']}] if target.type == 'postgres' else [],
    dist='session_id',
    sort=['session_id'],
    backup=false,
) }}
{%- set window = load_window() %}

with

checked_sessions as (

    select
        userid,
        sessionid,
        channel
    from {{ ref('base_raw_data__user_session_channel') }}
    where
        quarantine_reason is null
        and {{ in_changed('sessionid', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

checked_timestamps as (

    select sessionid
    from {{ ref('base_raw_data__session_timestamp') }}
    where
        quarantine_reason is null
        and {{ in_changed('sessionid', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

final as (

    select
        checked_sessions.sessionid as session_id,
        checked_sessions.userid as user_id,
        checked_sessions.channel,
        -- the run that wrote this row (the tests named *_in_new_rows read the rows since their last pass)
        {{ this_run_id() }} as _written_by_run
    from checked_sessions
    inner join checked_timestamps
        on checked_sessions.sessionid = checked_timestamps.sessionid

)

select * from final
