with

checked_responses as (

    select
        id,
        created,
        score
    from {{ ref('base_raw_data__nps') }}
    where quarantine_reason is null

),

final as (

    select
        id as response_id,
        created as responded_at,
        cast(score as integer) as score
    from checked_responses

)

select * from final
