{#- Every cohort has exactly one row per month from its first month to the last month with any
    session (no gaps, none missing at the end), and its month-0 row holds every member. -#}
with

cohort_rows as (

    select
        cohort_month,
        first_channel,
        count(*) as months,
        max(months_since_first) as last_offset,
        max(case when months_since_first = 0 then active_users end) as month_0_active,
        max(cohort_users) as cohort_users
    from {{ ref('cohort_retention_monthly') }}
    group by cohort_month, first_channel

),

last_month as (

    select max(session_month) as last_session_month
    from {{ ref('fct_sessions') }}

),

final as (

    select
        cohort_rows.cohort_month,
        cohort_rows.first_channel,
        cohort_rows.months,
        cohort_rows.last_offset,
        cohort_rows.month_0_active,
        cohort_rows.cohort_users
    from cohort_rows
    cross join last_month
    where
        cohort_rows.months <> cohort_rows.last_offset + 1
        or cohort_rows.last_offset
        <> {{ dbt.datediff('cohort_rows.cohort_month', 'last_month.last_session_month', 'month') }}
        or cohort_rows.month_0_active <> cohort_rows.cohort_users

)

select * from final
