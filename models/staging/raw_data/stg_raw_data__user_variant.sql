with

checked_variants as (

    select
        user_id,
        variant_id
    from {{ ref('base_raw_data__user_variant') }}
    where quarantine_reason is null

),

final as (

    select
        user_id,
        variant_id
    from checked_variants

)

select * from final
