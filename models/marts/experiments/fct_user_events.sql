{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_date',
    on_schema_change='fail',
    indexes=[{'columns': ['event_date']}] if target.type == 'postgres' else [],
    dist='user_id',
    sort=['event_at'],
) }}
{%- do incremental_lookback_days() %}{# a bad var fails every compile, not only incremental runs #}

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
    {%- if is_incremental() %}
    where cast(event_at as date) >= {{ incremental_window_start('event_date') }}
    {%- endif %}

),

variants as (

    select
        user_id,
        variant_id
    from {{ ref('stg_raw_data__user_variant') }}

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
