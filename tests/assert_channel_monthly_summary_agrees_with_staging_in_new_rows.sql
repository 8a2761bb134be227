{#- channel_monthly_summary against the clean sessions of the staging layer, not against
    fct_sessions or the intermediate aggregate it is built from: per month and channel, users,
    paying users, conversion rate, gross and net revenue, compared null-safely. In a build
    after it passed the run before, only the months this run re-decided
    (stg_raw_data__changed_session_months); otherwise, and with test_scope full, every month
    (reads_only_this_runs_changes, macros/incremental/build_runs.sql). -#}
{%- set session_month = 'cast(' ~ dbt.date_trunc('month', 'session_at') ~ ' as date)' %}
{%- set every_month = 'false' if reads_only_this_runs_changes(
    ['stg_raw_data__changed_session_months'], ['int_sessions_monthly_by_channel']) else 'true' %}

with

months_in_scope as (

    select month
    from {{ ref('stg_raw_data__changed_session_months') }}

),

sessions as (

    select
        session_id,
        user_id,
        channel
    from {{ ref('stg_raw_data__user_session_channel') }}

),

session_times as (

    select
        session_id,
        {{ session_month }} as month
    from {{ ref('stg_raw_data__session_timestamp') }}
    where
        {{ every_month }}
        or {{ session_month }} in (select months_in_scope.month from months_in_scope)

),

transactions as (

    select
        session_id,
        amount,
        is_refunded
    from {{ ref('stg_raw_data__session_transaction') }}

),

sessions_in_scope as (

    select
        session_times.month,
        sessions.channel,
        sessions.user_id,
        coalesce(transactions.amount, 0) as amount,
        coalesce(transactions.is_refunded, false) as is_refunded
    from sessions
    inner join session_times
        on sessions.session_id = session_times.session_id
    left join transactions
        on sessions.session_id = transactions.session_id

),

expected as (

    select
        month,
        channel,
        count(distinct user_id) as unique_users,
        count(distinct case when amount > 0 then user_id end) as paid_users,
        sum(amount) as gross_revenue,
        sum(case when is_refunded then 0 else amount end) as net_revenue
    from sessions_in_scope
    group by month, channel

),

summary as (

    select
        month,
        channel,
        unique_users,
        paid_users,
        conversion_rate,
        gross_revenue,
        net_revenue
    from {{ ref('channel_monthly_summary') }}
    where
        {{ every_month }}
        or month in (select months_in_scope.month from months_in_scope)

),

final as (

    select
        coalesce(expected.month, summary.month) as month,
        coalesce(expected.channel, summary.channel) as channel
    from expected
    full outer join summary
        on
            expected.month = summary.month
            and expected.channel = summary.channel
    where
        expected.month is null
        or summary.month is null
        or {{ differs('expected.unique_users', 'summary.unique_users') }}
        or {{ differs('expected.paid_users', 'summary.paid_users') }}
        or {{ differs('round(100.0 * expected.paid_users / expected.unique_users, 2)', 'summary.conversion_rate') }}
        or {{ differs('expected.gross_revenue', 'summary.gross_revenue') }}
        or {{ differs('expected.net_revenue', 'summary.net_revenue') }}

)

select * from final
