{#- Every active user is new or returning, and each user is new exactly once. -#}
with

monthly as (

    select
        month,
        active_users,
        new_users,
        returning_users
    from {{ ref('active_users_monthly') }}

),

users as (

    select count(*) as users
    from {{ ref('dim_users') }}

),

final as (

    select
        monthly.month,
        'active <> new + returning' as problem
    from monthly
    where monthly.active_users <> monthly.new_users + monthly.returning_users
    union all
    select
        cast(null as date) as month,
        'new users do not add up to dim_users' as problem
    from users
    where users.users <> (select sum(monthly.new_users) as new_users from monthly)

)

select * from final
