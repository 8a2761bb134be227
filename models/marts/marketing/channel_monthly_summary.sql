{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='month',
    on_schema_change='fail',
    dist='all',
    sort=['month'],
) }}
{%- do incremental_lookback_days() %}{# a bad var fails every compile, not only incremental runs #}

with

sessions as (

    select
        session_month,
        channel,
        user_id,
        is_paid,
        gross_amount,
        net_amount
    from {{ ref('fct_sessions') }}
    {%- if is_incremental() %}
    where session_month >= {{ incremental_window_start('month', ref('fct_sessions'), 'session_date') }}
    {%- endif %}

),

monthly as (

    select
        session_month as month,
        channel,
        count(distinct user_id) as unique_users,
        count(distinct case when is_paid then user_id end) as paid_users,
        sum(gross_amount) as gross_revenue,
        sum(net_amount) as net_revenue
    from sessions
    group by session_month, channel

),

final as (

    select
        cast(month as date) as month,
        cast(channel as varchar(32)) as channel,
        cast(unique_users as bigint) as unique_users,
        cast(paid_users as bigint) as paid_users,
        cast(round(100.0 * paid_users / unique_users, 2) as numeric(5, 2)) as conversion_rate,
        cast(gross_revenue as bigint) as gross_revenue,
        cast(net_revenue as bigint) as net_revenue
    from monthly

)

select * from final
