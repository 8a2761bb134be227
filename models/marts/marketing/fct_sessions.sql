{{ config(
    dist='session_id',
    sort=['session_at'],
) }}

with

sessions as (

    select
        session_id,
        user_id,
        channel,
        session_at,
        session_date,
        session_month,
        has_transaction,
        is_paid,
        is_refunded,
        is_conversion,
        gross_amount,
        net_amount
    from {{ ref('int_sessions_joined') }}

),

final as (

    select * from sessions

)

select * from final
