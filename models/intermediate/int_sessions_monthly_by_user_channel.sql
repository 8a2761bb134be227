{#- One row per month, user and channel with at least one clean session: the user's sessions,
    paid sessions and revenue that month on that channel. Incremental by month: a run recounts
    the months any version of a re-decided session falls in, reading those months' sessions
    once; int_sessions_monthly_by_user and int_sessions_monthly_by_channel add its rows up
    (a few per user and month) instead of each reading and de-duplicating every session of
    the month again. -#}
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

sessions as (

    select
        session_month,
        user_id,
        channel,
        is_paid,
        gross_amount,
        net_amount
    from {{ ref('int_sessions_joined') }}
    where {{ in_changed('session_month', ref('stg_raw_data__changed_session_months'), 'month', window) }}

),

final as (

    select
        session_month as month,
        user_id,
        channel,
        count(*) as sessions,
        sum(case when is_paid then 1 else 0 end) as paid_sessions,
        sum(gross_amount) as gross_revenue,
        sum(net_amount) as net_revenue
    from sessions
    group by session_month, user_id, channel

)

select * from final
