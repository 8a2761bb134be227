{#- One row per month, channel and rule-based attribution model (first_touch, last_touch,
    linear, position_based, time_decay) that gave the channel credit: the exact daily sums of
    int_rule_based_attribution_daily added up, then rounded. Incremental by month: a run
    re-sums the months that model logged for the days it rebuilt (macro affected:
    rebuilt:int_rule_based_attribution_daily), at most 31 rows per channel and model each. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'int_changed_conversions', 'conversion_month']},
    pre_hook=["{{ delete_changed() }}"],
    dist='all',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}

with

daily_credits as (

    select
        conversion_month,
        channel,
        attribution_model,
        credit,
        revenue_credit
    from {{ ref('int_rule_based_attribution_daily') }}
    where {{ in_changed('conversion_month', ref('int_changed_conversions'), 'conversion_month', window) }}

),

final as (

    select
        conversion_month as month,
        channel,
        attribution_model,
        cast(sum(credit) as numeric(38, 10)) as attributed_conversions,
        cast(sum(revenue_credit) as numeric(38, 10)) as attributed_revenue
    from daily_credits
    group by conversion_month, channel, attribution_model

)

select * from final
