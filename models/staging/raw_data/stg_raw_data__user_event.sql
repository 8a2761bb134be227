with

checked_events as (

    select
        user_id,
        datestamp,
        item_id,
        clicked,
        purchased,
        paidamount
    from {{ ref('base_raw_data__user_event') }}
    where quarantine_reason is null

),

final as (

    select
        user_id,
        datestamp as event_at,
        item_id,
        clicked,
        purchased,
        paidamount as paid_amount
    from checked_events

)

select * from final
