{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='month',
    on_schema_change='fail',
    dist='all',
    sort=['month'],
) }}
{%- do incremental_lookback_days() %}{# a bad var fails every compile, not only incremental runs #}

with

sessions as (

    select
        user_id,
        session_month
    from {{ ref('fct_sessions') }}
    {%- if is_incremental() %}
    where session_month >= {{ incremental_window_start('month', ref('fct_sessions'), 'session_date') }}
    {%- endif %}

),

users as (

    select
        user_id,
        first_session_at
    from {{ ref('int_users_sessions_aggregated') }}

),

user_months as (

    select distinct
        sessions.session_month as month,
        sessions.user_id,
        cast({{ dbt.date_trunc('month', 'users.first_session_at') }} as date) as first_month
    from sessions
    inner join users
        on sessions.user_id = users.user_id

),

final as (

    select
        cast(month as date) as month,
        cast(count(*) as bigint) as active_users,
        cast(sum(case when month = first_month then 1 else 0 end) as bigint) as new_users,
        cast(sum(case when month > first_month then 1 else 0 end) as bigint) as returning_users
    from user_months
    group by month

)

select * from final
