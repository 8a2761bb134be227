{#- One row per user and month with at least one clean session: the user's sessions and
    revenue that month. Incremental by month: a run recounts the months any version of a
    re-decided session falls in, so cohort_retention_monthly reads one row per active user and
    month instead of every session. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'session_months']},
    pre_hook=["{{ delete_affected() }}"],
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['month']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}

with

sessions as (

    select
        session_month,
        user_id,
        gross_amount,
        net_amount
    from {{ ref('fct_sessions') }}
    where {{ in_affected('session_month', 'session_months', window) }}

),

final as (

    select
        session_month as month,
        user_id,
        count(*) as sessions,
        sum(gross_amount) as gross_revenue,
        sum(net_amount) as net_revenue
    from sessions
    group by session_month, user_id

)

select * from final
