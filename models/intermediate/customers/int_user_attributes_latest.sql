{#- One row per user with metadata: the attributes of the latest `updated_at` version. -#}
with

versions as (

    select
        user_id,
        age,
        gender,
        updated_at
    from {{ ref('stg_raw_data__user_metadata') }}

),

versions_ranked as (

    select
        user_id,
        age,
        gender,
        updated_at,
        row_number() over (partition by user_id order by updated_at desc) as recency
    from versions

),

final as (

    select
        user_id,
        age,
        gender,
        updated_at
    from versions_ranked
    where recency = 1

)

select * from final
