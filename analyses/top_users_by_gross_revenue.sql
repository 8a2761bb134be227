-- The course's question: who are the ten users with the highest gross revenue?
with

users as (

    select
        user_id,
        gross_revenue,
        net_revenue,
        paid_session_count,
        first_channel
    from {{ ref('dim_users') }}

),

final as (

    select
        user_id,
        gross_revenue,
        net_revenue,
        paid_session_count,
        first_channel
    from users
    order by gross_revenue desc, user_id asc
    limit 10

)

select * from final
