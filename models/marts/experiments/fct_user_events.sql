{#- Incremental by user: a run rebuilds the events of every user with an event or a variant
    row re-decided since its last run. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['user_id', 'stg_raw_data__changed_event_users', 'user_id']},
    pre_hook=["{{ delete_changed() }}"],
    indexes=[{'columns': ['user_id']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['event_at'],
) }}
{%- set window = load_window() %}

with

events as (

    select
        user_id,
        event_at,
        item_id,
        clicked,
        purchased,
        paid_amount
    from {{ ref('stg_raw_data__user_event') }}
    where {{ in_changed('user_id', ref('stg_raw_data__changed_event_users'), 'user_id', window) }}

),

variants as (

    select
        user_id,
        variant_id
    from {{ ref('stg_raw_data__user_variant') }}
    where {{ in_changed('user_id', ref('stg_raw_data__changed_event_users'), 'user_id', window) }}

),

final as (

    select
        cast(events.user_id as integer) as user_id,
        cast(events.event_at as timestamp) as event_at,
        cast(events.event_at as date) as event_date,
        cast(events.item_id as integer) as item_id,
        cast(events.clicked as integer) as clicked,
        cast(events.purchased as integer) as purchased,
        cast(events.paid_amount as integer) as paid_amount,
        cast(variants.variant_id as varchar(32)) as variant_id
    from events
    left join variants
        on events.user_id = variants.user_id

)

select * from final
