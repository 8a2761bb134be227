{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_date',
    on_schema_change='fail',
    indexes=[{'columns': ['session_date']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['session_at'],
) }}
{%- do incremental_lookback_days() %}{# a bad var fails every compile, not only incremental runs #}

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
    {%- if is_incremental() %}
    where session_date >= {{ incremental_window_start('session_date') }}
    {%- endif %}

),

final as (

    select
        cast(session_id as varchar(32)) as session_id,
        cast(user_id as integer) as user_id,
        cast(channel as varchar(32)) as channel,
        cast(session_at as timestamp) as session_at,
        cast(session_date as date) as session_date,
        cast(session_month as date) as session_month,
        cast(has_transaction as boolean) as has_transaction,
        cast(is_paid as boolean) as is_paid,
        cast(is_refunded as boolean) as is_refunded,
        cast(is_conversion as boolean) as is_conversion,
        cast(gross_amount as integer) as gross_amount,
        cast(net_amount as integer) as net_amount
    from sessions

)

select * from final
