with

checked_channels as (

    select channelname
    from {{ ref('base_raw_data__channel') }}
    where quarantine_reason is null

),

final as (

    select channelname as channel_name
    from checked_channels

)

select * from final
