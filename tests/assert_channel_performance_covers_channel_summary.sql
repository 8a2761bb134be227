{#- channel_performance_monthly has exactly the month and channel rows of
    channel_monthly_summary, and its sessions add up to fct_sessions. -#}
with

summary as (

    select
        month,
        channel
    from {{ ref('channel_monthly_summary') }}

),

performance as (

    select
        month,
        channel,
        sessions
    from {{ ref('channel_performance_monthly') }}

),

session_total as (

    select count(*) as sessions
    from {{ ref('fct_sessions') }}

),

missing_or_extra as (

    select
        coalesce(summary.month, performance.month) as month,
        coalesce(summary.channel, performance.channel) as channel,
        'row in one model only' as problem
    from summary
    full outer join performance
        on
            summary.month = performance.month
            and summary.channel = performance.channel
    where summary.month is null or performance.month is null

),

session_mismatch as (

    select
        cast(null as date) as month,
        cast(null as varchar(32)) as channel,
        'sessions do not add up to fct_sessions' as problem
    from session_total
    where {{ differs('session_total.sessions', '(select sum(performance.sessions) as sessions from performance)') }}

),

final as (

    select * from missing_or_extra
    union all
    select * from session_mismatch

)

select * from final
