{#- One row per month, channel and rule-based attribution model (first_touch, last_touch,
    linear, position_based, time_decay) that gave the channel credit. Incremental by month: a
    run rebuilds the months of every conversion it may have changed (macro affected:
    conversion_months). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['month', 'conversion_months']},
    pre_hook=["{{ delete_affected() }}"],
    dist='all',
    sort=['month'],
    backup=false,
) }}
{%- set window = load_window() %}
{%- set attribution_models = ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] %}

with

touchpoints as (

    select
        conversion_month,
        channel,
        conversion_revenue,
        {%- for attribution_model in attribution_models %}
        {{ attribution_model }}_weight{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_touchpoints_weighted') }}
    where {{ in_affected('conversion_month', 'conversion_months', window) }}

),

credits as (

    {%- for attribution_model in attribution_models %}
    select
        conversion_month as month,
        channel,
        '{{ attribution_model }}' as attribution_model,
        -- numeric, so the sums are exact whatever order the rows are added in
        cast({{ attribution_model }}_weight as numeric(38, 18)) as credit,
        cast({{ attribution_model }}_weight as numeric(38, 18)) * conversion_revenue as revenue_credit
    from touchpoints
    where {{ attribution_model }}_weight > 0
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        month,
        channel,
        attribution_model,
        cast(sum(credit) as numeric(38, 10)) as attributed_conversions,
        cast(sum(revenue_credit) as numeric(38, 10)) as attributed_revenue
    from credits
    group by month, channel, attribution_model

)

select * from final
