{#- One row per month and channel with at least one clean session: sessions, distinct users,
    distinct paying users and revenue, added up over int_sessions_monthly_by_user_channel's
    users (one row per user, month and channel: a count of rows is a count of distinct users).
    Incremental by month: a run recounts the months any version of a re-decided session falls
    in, so the monthly marts built on it never scan every session again. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'stg_raw_data__changed_session_months', 'month']},
    pre_hook=["{{ delete_changed() }}"],
    post_hook=["{{ analyze_table() }}"],
    dist='all',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}

with

users_channels as (

    select
        month,
        channel,
        user_id,
        sessions,
        paid_sessions,
        gross_revenue,
        net_revenue
    from {{ ref('int_sessions_monthly_by_user_channel') }}
    where {{ in_changed('month', ref('stg_raw_data__changed_session_months'), 'month', window) }}

),

final as (

    select
        month,
        channel,
        cast(sum(sessions) as bigint) as sessions,
        count(user_id) as unique_users,
        sum(case when paid_sessions > 0 then 1 else 0 end) as paid_users,
        cast(sum(gross_revenue) as bigint) as gross_revenue,
        cast(sum(net_revenue) as bigint) as net_revenue
    from users_channels
    group by month, channel

)

select * from final
