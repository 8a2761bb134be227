-- The course's question: through which channel did each user first and last arrive?
with

users as (

    select
        user_id,
        first_channel,
        last_channel,
        first_session_at,
        last_session_at
    from {{ ref('dim_users') }}

),

final as (

    select
        user_id,
        first_channel,
        last_channel,
        first_channel = last_channel as same_channel,
        first_session_at,
        last_session_at
    from users

)

select * from final
order by user_id
