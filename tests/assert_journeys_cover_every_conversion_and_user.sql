{#- fct_journeys has one converting journey per conversion, with its net revenue, and one
    non-converting journey per user with a session after their last conversion. -#}
with

sessions as (

    select
        session_id,
        user_id,
        session_at,
        is_conversion,
        net_amount
    from {{ ref('fct_sessions') }}

),

journeys as (

    select
        journey_id,
        user_id,
        converted,
        net_revenue
    from {{ ref('fct_journeys') }}

),

last_conversion as (

    select
        user_id,
        max(session_at) as last_conversion_at
    from sessions
    where is_conversion
    group by user_id

),

expected as (

    select
        session_id as journey_id,
        net_amount as net_revenue
    from sessions
    where is_conversion

    union all

    select distinct
        {{ dbt.concat(["'open:'", "cast(sessions.user_id as varchar(16))"]) }} as journey_id,
        0 as net_revenue
    from sessions
    left join last_conversion
        on sessions.user_id = last_conversion.user_id
    -- later than the last conversion (a session at the very same time is checked by the model)
    where last_conversion.user_id is null or sessions.session_at > last_conversion.last_conversion_at

),

final as (

    select
        coalesce(expected.journey_id, journeys.journey_id) as journey_id,
        expected.net_revenue as expected_net_revenue,
        journeys.net_revenue
    from expected
    full outer join journeys
        on expected.journey_id = journeys.journey_id
    where
        journeys.journey_id is null
        or expected.journey_id is null
        or expected.net_revenue <> journeys.net_revenue

)

select * from final
