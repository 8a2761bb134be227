{#- The conversions a run re-decides, with their days and months: every changed session that
    has or had a transaction row (only such a session is, was or can become a conversion), and
    every conversion whose lookback window holds any version of a changed session (its
    touchpoints change). A conversion of the latter kind was not re-decided, so its row in
    int_sessions_joined is the one it had; it is found by the index on user and time. -#}
{%- set lookback_seconds = attribution_lookback_seconds() %}

with

versions as (

    select
        session_id,
        user_id,
        session_at,
        has_transaction_version
    from {{ ref('stg_raw_data__changed_session_versions') }}

),

conversions as (

    select
        session_id,
        user_id,
        session_at
    from {{ ref('int_sessions_joined') }}
    where is_conversion

),

redecided as (

    select
        session_id,
        session_at
    from versions
    where has_transaction_version

),

reached as (

    select
        conversions.session_id,
        conversions.session_at
    from conversions
    inner join versions
        on
            conversions.user_id = versions.user_id
            and conversions.session_at >= versions.session_at
            and conversions.session_at <= {{ dbt.dateadd('second', lookback_seconds, 'versions.session_at') }}

),

keyed as (

    select session_id, session_at from redecided
    union
    select session_id, session_at from reached

),

final as (

    select distinct
        session_id as conversion_session_id,
        cast(session_at as date) as conversion_date,
        cast({{ dbt.date_trunc('month', 'session_at') }} as date) as conversion_month
    from keyed

)

select * from final
