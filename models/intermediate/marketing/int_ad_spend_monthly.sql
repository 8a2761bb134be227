{#- One row per month and channel with ad_spend rows: the month's spend, impressions and
    clicks, whether or not the channel had a session that month. -#}
with

ad_spend as (

    select
        spend_date,
        channel,
        impressions,
        clicks,
        spend
    from {{ ref('stg_raw_data__ad_spend') }}

),

final as (

    select
        cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as month,
        channel,
        cast(sum(spend) as numeric(18, 2)) as spend,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks
    from ad_spend
    group by cast({{ dbt.date_trunc('month', 'spend_date') }} as date), channel

)

select * from final
