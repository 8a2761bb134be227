{#- The sessions a run re-decides: every session with a channel, timestamp or transaction
    row that its base model re-decided inside the window (macros/incremental/changed_keys.sql),
    with the first load of its rows and whether any was loaded twice, so a model that
    merges new sessions into aggregates can tell a new session from a changed one. -#}
{%- set window = load_window() %}

with

channel_rows as (

    select sessionid
    from {{ ref('base_raw_data__user_session_channel') }}
    where {{ rows_changed_in_window(window) }} and sessionid is not null

),

timestamp_rows as (

    select sessionid
    from {{ ref('base_raw_data__session_timestamp') }}
    where {{ rows_changed_in_window(window) }} and sessionid is not null

),

transaction_rows as (

    select sessionid
    from {{ ref('base_raw_data__session_transaction') }}
    where {{ rows_changed_in_window(window) }} and sessionid is not null

),

changed_ids as (

    select sessionid from channel_rows
    union
    select sessionid from timestamp_rows
    union
    select sessionid from transaction_rows

),

rows_of_changed_sessions as (

    -- every row of those sessions, re-decided or not
    {%- for table in ['user_session_channel', 'session_timestamp', 'session_transaction'] %}
    select
        sessionid,
        first_load_id,
        raw_copies
    from {{ ref('base_raw_data__' ~ table) }}
    where sessionid in (select changed_ids.sessionid from changed_ids)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        sessionid as session_id,
        min(first_load_id) as first_load_id,
        max(raw_copies) = 1 as is_loaded_once
    from rows_of_changed_sessions
    group by sessionid

)

select * from final
