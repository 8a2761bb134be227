with

checked_spend as (

    select
        date,
        channel,
        impressions,
        clicks,
        spend
    from {{ ref('base_raw_data__ad_spend') }}
    where quarantine_reason is null

),

final as (

    select
        date as spend_date,
        channel,
        impressions,
        clicks,
        spend
    from checked_spend

)

select * from final
