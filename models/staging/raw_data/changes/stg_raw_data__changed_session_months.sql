{#- The months a run re-decides for sessions: every month any version of a changed session
    starts in. -#}

with

versions as (

    select session_at
    from {{ ref('stg_raw_data__changed_session_versions') }}
    where session_at is not null

),

final as (

    select distinct cast({{ dbt.date_trunc('month', 'session_at') }} as date) as month
    from versions

)

select * from final
