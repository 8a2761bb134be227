{#- The journeys a run re-decides: the converting journey of every changed conversion, and
    the open (non-converting) journey of every user a changed session names. -#}

with

conversions as (

    select distinct conversion_session_id
    from {{ ref('int_changed_conversions') }}

),

users as (

    select user_id
    from {{ ref('stg_raw_data__changed_session_users') }}

),

final as (

    select cast(conversion_session_id as varchar(48)) as journey_id from conversions
    union
    select {{ dbt.concat(["'open:'", "cast(user_id as varchar(16))"]) }} from users

)

select * from final
