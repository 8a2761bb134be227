{#- One row per user and month with at least one clean session: the user's sessions and
    revenue that month, added up over int_sessions_monthly_by_user_channel's channels.
    Incremental by month: a run recounts the months any version of a re-decided session falls
    in, so cohort_retention_monthly reads one row per active user and month instead of every
    session. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'stg_raw_data__changed_session_months', 'month']},
    pre_hook=["{{ delete_changed() }}"],
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['month']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}

with

users_channels as (

    select
        month,
        user_id,
        sessions,
        gross_revenue,
        net_revenue
    from {{ ref('int_sessions_monthly_by_user_channel') }}
    where {{ in_changed('month', ref('stg_raw_data__changed_session_months'), 'month', window) }}

),

final as (

    select
        month,
        user_id,
        cast(sum(sessions) as bigint) as sessions,
        cast(sum(gross_revenue) as bigint) as gross_revenue,
        cast(sum(net_revenue) as bigint) as net_revenue
    from users_channels
    group by month, user_id

)

select * from final
