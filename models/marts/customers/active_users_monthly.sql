{#- A table (one row per month) over two small incremental models: distinct active users per
    month, and each user's first session; rebuilt on every run. -#}
{{ config(dist='all', sort=['month']) }}

with

active as (

    select
        month,
        active_users
    from {{ ref('int_active_users_monthly') }}

),

users as (

    select first_session_at
    from {{ ref('int_users_sessions_aggregated') }}

),

new_users as (

    select
        cast({{ dbt.date_trunc('month', 'first_session_at') }} as date) as month,
        count(*) as new_users
    from users
    group by cast({{ dbt.date_trunc('month', 'first_session_at') }} as date)

),

final as (

    select
        cast(active.month as date) as month,
        cast(active.active_users as bigint) as active_users,
        cast(coalesce(new_users.new_users, 0) as bigint) as new_users,
        cast(active.active_users - coalesce(new_users.new_users, 0) as bigint) as returning_users
    from active
    left join new_users
        on active.month = new_users.month

)

select * from final
