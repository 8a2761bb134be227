{{ config(dist='user_id', sort=['user_id']) }}

with

user_sessions as (

    select
        user_id,
        first_session_at,
        last_session_at,
        first_channel,
        last_channel,
        session_count,
        paid_session_count,
        gross_revenue,
        net_revenue,
        first_paid_at
    from {{ ref('int_users_sessions_aggregated') }}

),

variants as (

    select
        user_id,
        variant_id
    from {{ ref('stg_raw_data__user_variant') }}

),

attributes as (

    select
        user_id,
        age,
        gender
    from {{ ref('int_user_attributes_latest') }}

),

final as (

    select
        cast(user_sessions.user_id as integer) as user_id,
        cast(user_sessions.first_session_at as timestamp) as first_session_at,
        cast(user_sessions.last_session_at as timestamp) as last_session_at,
        cast(user_sessions.first_channel as varchar(32)) as first_channel,
        cast(user_sessions.last_channel as varchar(32)) as last_channel,
        cast(user_sessions.session_count as bigint) as session_count,
        cast(user_sessions.paid_session_count as bigint) as paid_session_count,
        cast(user_sessions.gross_revenue as bigint) as gross_revenue,
        cast(user_sessions.net_revenue as bigint) as net_revenue,
        cast(user_sessions.first_paid_at as timestamp) as first_paid_at,
        cast(variants.variant_id as varchar(32)) as variant_id,
        cast(attributes.age as varchar(16)) as age,
        cast(attributes.gender as varchar(16)) as gender
    from user_sessions
    left join variants
        on user_sessions.user_id = variants.user_id
    left join attributes
        on user_sessions.user_id = attributes.user_id

)

select * from final
