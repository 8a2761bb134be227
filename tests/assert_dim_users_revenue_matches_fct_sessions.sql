{#- dim_users' revenue and session counts add up to fct_sessions. -#}
with

sessions as (

    select
        count(*) as sessions,
        coalesce(sum(case when is_paid then 1 else 0 end), 0) as paid_sessions,
        coalesce(sum(gross_amount), 0) as gross_revenue,
        coalesce(sum(net_amount), 0) as net_revenue
    from {{ ref('fct_sessions') }}

),

users as (

    select
        coalesce(sum(session_count), 0) as sessions,
        coalesce(sum(paid_session_count), 0) as paid_sessions,
        coalesce(sum(gross_revenue), 0) as gross_revenue,
        coalesce(sum(net_revenue), 0) as net_revenue
    from {{ ref('dim_users') }}

),

final as (

    select
        sessions.sessions,
        users.sessions as user_sessions,
        sessions.gross_revenue,
        users.gross_revenue as user_gross_revenue,
        sessions.net_revenue,
        users.net_revenue as user_net_revenue
    from sessions
    cross join users
    where
        {{ differs('sessions.sessions', 'users.sessions') }}
        or {{ differs('sessions.paid_sessions', 'users.paid_sessions') }}
        or {{ differs('sessions.gross_revenue', 'users.gross_revenue') }}
        or {{ differs('sessions.net_revenue', 'users.net_revenue') }}

)

select * from final
