{#- A table over int_sessions_monthly_by_channel (months x channels rows), rebuilt on every
    run: the incremental work happens in the intermediate model. -#}
{{ config(dist='all', sort=['month']) }}

with

monthly as (

    select
        month,
        channel,
        unique_users,
        paid_users,
        gross_revenue,
        net_revenue
    from {{ ref('int_sessions_monthly_by_channel') }}

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
