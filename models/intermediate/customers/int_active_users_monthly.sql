{#- One row per month with a clean session: how many distinct users had one, counted from
    int_sessions_monthly_by_user (one row per user and month, a few per user) rather than from
    every session of the month. Incremental by month: a run recounts the months any version of
    a re-decided session falls in. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'stg_raw_data__changed_session_months', 'month']},
    pre_hook=["{{ delete_changed() }}"],
    dist='all',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}

with

users_monthly as (

    select
        month,
        user_id
    from {{ ref('int_sessions_monthly_by_user') }}
    where {{ in_changed('month', ref('stg_raw_data__changed_session_months'), 'month', window) }}

),

final as (

    select
        month,
        -- one row per user and month (its grain test): a count of rows is a count of users
        count(user_id) as active_users
    from users_monthly
    group by month

)

select * from final
