{{ config(severity='warn') }}

{#- Warns about clean ad spend that no mart shows: channel_performance_monthly has one row per
    channel-month with sessions (the contract's grain), so spend on a channel-month without
    sessions (a campaign that brought no one, or a channel name that does not match) would
    otherwise vanish silently. One row per such channel-month, with its spend. -#}
with

ad_spend as (

    select
        cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as month,
        channel,
        spend
    from {{ ref('stg_raw_data__ad_spend') }}

),

performance as (

    select
        month,
        channel
    from {{ ref('channel_performance_monthly') }}

),

final as (

    select
        ad_spend.month,
        ad_spend.channel,
        count(*) as ad_spend_rows,
        sum(ad_spend.spend) as spend
    from ad_spend
    left join performance
        on
            ad_spend.month = performance.month
            and ad_spend.channel = performance.channel
    where performance.channel is null
    group by ad_spend.month, ad_spend.channel

)

select * from final
