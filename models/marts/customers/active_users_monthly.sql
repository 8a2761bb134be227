{{ config(dist='all', sort=['month']) }}

with

sessions as (

    select
        user_id,
        session_month
    from {{ ref('int_sessions_joined') }}

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
