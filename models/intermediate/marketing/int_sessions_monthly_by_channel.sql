{#- One row per month and channel with at least one clean session: sessions, distinct users,
    distinct paying users and revenue. Incremental by month: a run recounts the months any
    version of a re-decided session falls in, so the monthly marts built on it never scan
    every session again. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'session_months']},
    pre_hook=["{{ delete_affected() }}"],
    post_hook=["{{ analyze_table() }}"],
    dist='all',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}

with

sessions as (

    select
        session_month,
        channel,
        user_id,
        is_paid,
        gross_amount,
        net_amount
    from {{ ref('fct_sessions') }}
    where {{ in_affected('session_month', 'session_months', window) }}

),

final as (

    select
        session_month as month,
        channel,
        count(*) as sessions,
        count(distinct user_id) as unique_users,
        count(distinct case when is_paid then user_id end) as paid_users,
        sum(gross_amount) as gross_revenue,
        sum(net_amount) as net_revenue
    from sessions
    group by session_month, channel

)

select * from final
