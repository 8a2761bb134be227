{#- One row per user with a clean session: first and last session and channel (ties on time
    broken by session_id), session counts and revenue. A table, incremental by user: a run
    rewrites the users any changed session names (in any version of its channel row:
    stg_raw_data__changed_session_users).
    - A user any of whose re-decided sessions existed before (a late timestamp or transaction,
      a conflicting copy, a vanished row) is recomputed from all of their sessions.
    - A user whose re-decided sessions are all new (every row of them, in the three session
      tables, first loaded inside the run's window, and loaded once) only gains sessions: their
      previous row is merged with the aggregate of the new sessions (counts and sums add up,
      first and last compare), so a daily load never reads a returning user's history again.
    The strategy `replace_affected` deletes the users after the select, which reads their
    previous rows. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    on_schema_change='fail',
    meta={'rebuilt_by': ['user_id', 'stg_raw_data__changed_session_users', 'user_id']},
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['user_id']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['user_id'],
    backup=false,
) }}
{%- set window = load_window() %}
{%- set merging = is_incremental() and not window.full and not window.empty %}
{#- set outside the branches, so parsing (never incremental) records every model read -#}
{%- set changed_sessions = ref('stg_raw_data__changed_sessions') %}
{%- set changed_session_versions = ref('stg_raw_data__changed_session_versions') %}

with

{% if merging -%}
new_sessions as (

    -- nothing of these sessions was there before this run's window
    select session_id
    from {{ changed_sessions }}
    where
        first_load_id > {{ window.since }}
        and is_loaded_once

),

users_recomputed as (

    -- every user any version of a changed session that is not new names
    select distinct user_id
    from {{ changed_session_versions }}
    where
        user_id is not null
        and session_id not in (select new_sessions.session_id from new_sessions)

),

users_merged as (

    select user_id
    from {{ changed_session_versions }}
    where
        user_id is not null
        and session_id in (select new_sessions.session_id from new_sessions)
    except
    select user_id from users_recomputed

),

{% endif -%}
{%- set session_columns = 'session_id, user_id, channel, session_at, is_paid, gross_amount, net_amount' %}
sessions as (

    {% if merging -%}
    -- two branches, each found by an index (`or` between them is one filter over a full
    -- scan); `union` makes a new session of a recomputed user one row
    select {{ session_columns }}
    from {{ ref('int_sessions_joined') }}
    where user_id in (select users_recomputed.user_id from users_recomputed)
    union
    select {{ session_columns }}
    from {{ ref('int_sessions_joined') }}
    where session_id in (select new_sessions.session_id from new_sessions)
    {%- else -%}
    select {{ session_columns }}
    from {{ ref('int_sessions_joined') }}
    where {{ in_changed('user_id', ref('stg_raw_data__changed_session_users'), 'user_id', window) }}
    {%- endif %}

),

sessions_ordered as (

    -- one sort (user, time, session_id) serves every window: a user's first session is
    -- number 1, the last is number session_count, the first paid one is the paid session
    -- with a running paid count of 1 (three orders would sort every session three times)
    select
        user_id,
        session_id,
        channel,
        session_at,
        is_paid,
        row_number() over (
            partition by user_id order by session_at asc, session_id asc
        ) as session_number,
        sum(case when is_paid then 1 else 0 end) over (
            partition by user_id order by session_at asc, session_id asc
            rows between unbounded preceding and current row
        ) as paid_sessions_so_far,
        count(*) over (partition by user_id) as session_count,
        sum(case when is_paid then 1 else 0 end) over (partition by user_id) as paid_session_count,
        sum(gross_amount) over (partition by user_id) as gross_revenue,
        sum(net_amount) over (partition by user_id) as net_revenue
    from sessions

),

sessions_flagged as (

    select
        *,
        session_number = 1 as is_first,
        session_number = session_count as is_last,
        coalesce(is_paid and paid_sessions_so_far = 1, false) as is_first_paid
    from sessions_ordered

),

aggregated as (

    -- the totals are the same on every row of a user; the rest comes from one row each
    select
        user_id,
        max(case when is_first then session_at end) as first_session_at,
        max(case when is_last then session_at end) as last_session_at,
        max(case when is_first then channel end) as first_channel,
        max(case when is_last then channel end) as last_channel,
        max(session_count) as session_count,
        max(paid_session_count) as paid_session_count,
        max(gross_revenue) as gross_revenue,
        max(net_revenue) as net_revenue,
        max(case when is_first_paid then session_at end) as first_paid_at,
        max(case when is_first_paid then channel end) as first_paid_channel,
        max(case when is_first then session_id end) as first_session_id,
        max(case when is_last then session_id end) as last_session_id,
        max(case when is_first_paid then session_id end) as first_paid_session_id
    from sessions_flagged
    where is_first or is_last or is_first_paid
    group by user_id

),

{% if merging -%}
previous as (

    select *
    from {{ this }}
    where user_id in (select users_merged.user_id from users_merged)

),

merged as (

    -- `added` holds only the user's new sessions; either side may be missing
    select
        coalesce(previous.user_id, added.user_id) as user_id,
        case when {{ newer_side_wins('first_session', 'first_session', '<') }} then added.first_session_at else previous.first_session_at end
            as first_session_at,
        case when {{ newer_side_wins('last_session', 'last_session', '>') }} then added.last_session_at else previous.last_session_at end
            as last_session_at,
        case when {{ newer_side_wins('first_session', 'first_session', '<') }} then added.first_channel else previous.first_channel end
            as first_channel,
        case when {{ newer_side_wins('last_session', 'last_session', '>') }} then added.last_channel else previous.last_channel end
            as last_channel,
        coalesce(previous.session_count, 0) + coalesce(added.session_count, 0) as session_count,
        coalesce(previous.paid_session_count, 0) + coalesce(added.paid_session_count, 0) as paid_session_count,
        coalesce(previous.gross_revenue, 0) + coalesce(added.gross_revenue, 0) as gross_revenue,
        coalesce(previous.net_revenue, 0) + coalesce(added.net_revenue, 0) as net_revenue,
        case when {{ newer_side_wins('first_paid', 'first_paid_session', '<') }} then added.first_paid_at else previous.first_paid_at end
            as first_paid_at,
        case when {{ newer_side_wins('first_paid', 'first_paid_session', '<') }} then added.first_paid_channel else previous.first_paid_channel end
            as first_paid_channel,
        case when {{ newer_side_wins('first_session', 'first_session', '<') }} then added.first_session_id else previous.first_session_id end
            as first_session_id,
        case when {{ newer_side_wins('last_session', 'last_session', '>') }} then added.last_session_id else previous.last_session_id end
            as last_session_id,
        case when {{ newer_side_wins('first_paid', 'first_paid_session', '<') }} then added.first_paid_session_id else previous.first_paid_session_id end
            as first_paid_session_id
    from previous
    full outer join (
        select aggregated.*
        from aggregated
        where aggregated.user_id in (select users_merged.user_id from users_merged)
    ) as added
        on previous.user_id = added.user_id

),

recomputed as (

    select *
    from aggregated
    where aggregated.user_id not in (select users_merged.user_id from users_merged)

),

combined as (

    select * from merged
    union all
    select * from recomputed

),

{% else -%}
combined as (

    select * from aggregated

),

{% endif -%}
final as (

    select
        user_id,
        first_session_at,
        last_session_at,
        first_channel,
        last_channel,
        cast(session_count as bigint) as session_count,
        cast(paid_session_count as bigint) as paid_session_count,
        gross_revenue,
        net_revenue,
        first_paid_at,
        first_paid_channel,
        first_session_id,
        last_session_id,
        first_paid_session_id
    from combined

)

select * from final

