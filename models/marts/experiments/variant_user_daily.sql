{#- Incremental by user: a run rebuilds every day of each user with an event, a variant or an
    attribute version re-decided since its last run. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['user_id', 'stg_raw_data__changed_event_users', 'user_id']},
    pre_hook=["{{ delete_changed() }}"],
    dist='user_id',
    sort=['event_date'],
) }}
{%- set window = load_window() %}

with

events as (

    select
        user_id,
        event_date,
        item_id,
        clicked,
        purchased,
        paid_amount,
        variant_id
    from {{ ref('fct_user_events') }}
    where
        variant_id is not null
        and {{ in_changed('user_id', ref('stg_raw_data__changed_event_users'), 'user_id', window) }}

),

attributes as (

    select
        user_id,
        age,
        gender
    from {{ ref('int_user_attributes_latest') }}
    where {{ in_changed('user_id', ref('stg_raw_data__changed_event_users'), 'user_id', window) }}

),

daily as (

    select
        variant_id,
        user_id,
        event_date,
        count(distinct item_id) as items,
        count(distinct case when clicked > 0 then item_id end) as clicks,
        sum(purchased) as purchases,
        sum(paid_amount) as revenue
    from events
    group by variant_id, user_id, event_date

),

final as (

    select
        cast(daily.variant_id as varchar(32)) as variant_id,
        cast(daily.user_id as integer) as user_id,
        cast(daily.event_date as date) as event_date,
        cast(attributes.age as varchar(16)) as age,
        cast(attributes.gender as varchar(16)) as gender,
        cast(daily.items as bigint) as items,
        cast(daily.clicks as bigint) as clicks,
        cast(daily.purchases as bigint) as purchases,
        cast(daily.revenue as bigint) as revenue
    from daily
    left join attributes
        on daily.user_id = attributes.user_id

)

select * from final
