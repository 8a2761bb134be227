{#- The users a run re-decides for sessions: every user any version of a changed session names. -#}

with

versions as (

    select user_id
    from {{ ref('stg_raw_data__changed_session_versions') }}
    where user_id is not null

),

final as (

    select distinct user_id
    from versions

)

select * from final
