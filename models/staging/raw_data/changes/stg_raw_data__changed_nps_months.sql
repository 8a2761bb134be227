{#- The months a run re-decides for NPS: the month of every answer its base model
    re-decided inside the window. -#}
{%- set window = load_window() %}

with

answers as (

    select created
    from {{ ref('base_raw_data__nps') }}
    where {{ rows_changed_in_window(window) }} and created is not null

),

final as (

    select distinct cast({{ dbt.date_trunc('month', 'created') }} as date) as month
    from answers

)

select * from final
