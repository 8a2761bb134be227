{#- Incremental by month: a run recounts the months of every version of the answers it
    re-decided (a new answer, a conflicting copy, a corrected date). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'stg_raw_data__changed_nps_months', 'month']},
    pre_hook=["{{ delete_changed() }}"],
    dist='all',
    sort=['month'],
) }}
{%- set window = load_window() %}
{%- set response_month = 'cast(' ~ dbt.date_trunc('month', 'responded_at') ~ ' as date)' %}

with

responses as (

    select
        responded_at,
        score
    from {{ ref('stg_raw_data__nps') }}
    where {{ in_changed(response_month, ref('stg_raw_data__changed_nps_months'), 'month', window) }}

),

bucketed as (

    select
        cast({{ dbt.date_trunc('month', 'responded_at') }} as date) as month,
        case when score >= 9 then 1 else 0 end as is_promoter,
        case when score between 7 and 8 then 1 else 0 end as is_passive,
        case when score <= 6 then 1 else 0 end as is_detractor
    from responses

),

monthly as (

    select
        month,
        count(*) as responses,
        sum(is_promoter) as promoters,
        sum(is_passive) as passives,
        sum(is_detractor) as detractors
    from bucketed
    group by month

),

final as (

    select
        cast(month as date) as month,
        cast(responses as bigint) as responses,
        cast(promoters as bigint) as promoters,
        cast(passives as bigint) as passives,
        cast(detractors as bigint) as detractors,
        cast(round(100.0 * (promoters - detractors) / responses, 2) as numeric(5, 2)) as nps
    from monthly

)

select * from final
