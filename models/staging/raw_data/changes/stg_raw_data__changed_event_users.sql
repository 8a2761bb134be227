{#- The users a run re-decides for the A/B test: every user with an event, a variant or an
    attribute row that its base model re-decided inside the window. -#}
{%- set window = load_window() %}

with

event_rows as (

    select user_id
    from {{ ref('base_raw_data__user_event') }}
    where {{ rows_changed_in_window(window) }} and user_id is not null

),

variant_rows as (

    select user_id
    from {{ ref('base_raw_data__user_variant') }}
    where {{ rows_changed_in_window(window) }} and user_id is not null

),

metadata_rows as (

    select user_id
    from {{ ref('base_raw_data__user_metadata') }}
    where {{ rows_changed_in_window(window) }} and user_id is not null

),

final as (

    select user_id from event_rows
    union
    select user_id from variant_rows
    union
    select user_id from metadata_rows

)

select * from final
