-- The course's question: how many users were active each month, and how many were new?
with

monthly as (

    select
        month,
        active_users,
        new_users,
        returning_users
    from {{ ref('active_users_monthly') }}

),

final as (

    select
        month,
        active_users,
        new_users,
        returning_users,
        round(100.0 * new_users / active_users, 2) as new_user_share_pct
    from monthly

)

select * from final
order by month
