{#- One row per user with a clean session: first and last session and channel (ties on time
    broken by session_id), session counts and revenue. A table, incremental by user: a run
    recomputes the users any re-decided session names (in any version of its channel row),
    so dim_users, active_users_monthly and their tests never aggregate every session again. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['user_id', 'session_users']},
    pre_hook=["{{ delete_affected() }}"],
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['user_id']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['user_id'],
    backup=false,
) }}
{%- set window = load_window() %}

with

sessions as (

    select
        session_id,
        user_id,
        channel,
        session_at,
        is_paid,
        gross_amount,
        net_amount
    from {{ ref('int_sessions_joined') }}
    where {{ in_affected('user_id', 'session_users', window) }}

),

sessions_ranked as (

    select
        user_id,
        channel,
        row_number() over (
            partition by user_id order by session_at asc, session_id asc
        ) as first_rank,
        row_number() over (
            partition by user_id order by session_at desc, session_id desc
        ) as last_rank,
        case
            when is_paid
                then row_number() over (
                    partition by user_id, is_paid order by session_at asc, session_id asc
                )
        end as paid_rank
    from sessions

),

first_and_last_channel as (

    select
        user_id,
        max(case when first_rank = 1 then channel end) as first_channel,
        max(case when last_rank = 1 then channel end) as last_channel,
        max(case when paid_rank = 1 then channel end) as first_paid_channel
    from sessions_ranked
    where first_rank = 1 or last_rank = 1 or paid_rank = 1
    group by user_id

),

totals as (

    select
        user_id,
        min(session_at) as first_session_at,
        max(session_at) as last_session_at,
        count(*) as session_count,
        sum(case when is_paid then 1 else 0 end) as paid_session_count,
        sum(gross_amount) as gross_revenue,
        sum(net_amount) as net_revenue,
        min(case when is_paid then session_at end) as first_paid_at
    from sessions
    group by user_id

),

final as (

    select
        totals.user_id,
        totals.first_session_at,
        totals.last_session_at,
        first_and_last_channel.first_channel,
        first_and_last_channel.last_channel,
        totals.session_count,
        totals.paid_session_count,
        totals.gross_revenue,
        totals.net_revenue,
        totals.first_paid_at,
        first_and_last_channel.first_paid_channel
    from totals
    inner join first_and_last_channel
        on totals.user_id = first_and_last_channel.user_id

)

select * from final
