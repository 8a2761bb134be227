{#- Incremental by session: a run deletes and rebuilds the sessions whose raw rows were
    re-decided since its last run (a new session, a late timestamp or transaction, a
    conflicting copy that sends an old session to the quarantine). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['session_id', 'stg_raw_data__changed_sessions', 'session_id']},
    pre_hook=["{{ delete_changed() }}"],
    indexes=[{'columns': ['session_id']}, {'columns': ['user_id']}, {'columns': ['session_month']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['session_at'],
) }}
{%- set window = load_window() %}

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
    where {{ in_changed('session_id', ref('stg_raw_data__changed_sessions'), 'session_id', window) }}

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
