{#- One row per month with a clean session: how many distinct users had one. Incremental by
    month: a run recounts the months any version of a re-decided session falls in. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'session_months']},
    pre_hook=["{{ delete_affected() }}"],
    dist='all',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}

with

sessions as (

    select
        session_month,
        user_id
    from {{ ref('fct_sessions') }}
    where {{ in_affected('session_month', 'session_months', window) }}

),

final as (

    select
        session_month as month,
        count(distinct user_id) as active_users
    from sessions
    group by session_month

)

select * from final
