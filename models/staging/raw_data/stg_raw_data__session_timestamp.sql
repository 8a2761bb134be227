{#- A timestamp row without a clean session-channel row is `orphan_timestamp`.
    A table, incremental by session: a run rebuilds the sessions whose rows were re-decided. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['session_id', 'stg_raw_data__changed_sessions', 'session_id']},
    pre_hook=["{{ delete_changed() }}"],
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['session_id']}, {'columns': ['_written_by_run']}] if target.type == 'postgres' else [],
    dist='session_id',
    sort=['session_at'],
    backup=false,
) }}
{%- set window = load_window() %}

with

checked_timestamps as (

    select
        sessionid,
        ts
    from {{ ref('base_raw_data__session_timestamp') }}
    where
        quarantine_reason is null
        and {{ in_changed('sessionid', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

checked_sessions as (

    select sessionid
    from {{ ref('base_raw_data__user_session_channel') }}
    where
        quarantine_reason is null
        and {{ in_changed('sessionid', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

),

final as (

    select
        checked_timestamps.sessionid as session_id,
        checked_timestamps.ts as session_at,
        -- the run that wrote this row (the tests named *_in_new_rows read the rows since their last pass)
        {{ this_run_id() }} as _written_by_run
    from checked_timestamps
    inner join checked_sessions
        on checked_timestamps.sessionid = checked_sessions.sessionid

)

select * from final
