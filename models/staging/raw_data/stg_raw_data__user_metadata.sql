{#- Every clean version of a user's attributes; the latest `updated_at` is current. #}
with

checked_versions as (

    select
        user_id,
        age,
        gender,
        updated_at
    from {{ ref('base_raw_data__user_metadata') }}
    where quarantine_reason is null

),

final as (

    select
        user_id,
        age,
        gender,
        updated_at
    from checked_versions

)

select * from final
