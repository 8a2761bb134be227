{#- One row per conversion day, channel and rule-based attribution model (first_touch,
    last_touch, linear, position_based, time_decay) that gave the channel credit, with exact
    sums (numeric, so the same whatever order rows are added in) that
    int_rule_based_attribution_monthly adds up. Incremental by day (macro affected:
    conversion_days): a daily load rebuilds a day or two, not the whole month. The months of
    the rows it deletes and writes go to the rebuilt-keys log, so the monthly model re-sums
    exactly those months. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'rebuilt_by': ['conversion_date', 'int_changed_conversions', 'conversion_date']},
    pre_hook=["{{ delete_changed() }}"],
    post_hook=["{{ analyze_table() }}"],
    indexes=[{'columns': ['conversion_date']}, {'columns': ['conversion_month']}] if target.type == 'postgres' else [],
    dist='all',
    sort=['conversion_date'],
    backup=false,
) }}
{%- set window = load_window() %}
{%- set attribution_models = rule_based_attribution_models() %}

with

touchpoints as (

    select
        cast(conversion_at as date) as conversion_date,
        conversion_month,
        channel,
        conversion_revenue,
        {%- for attribution_model in attribution_models %}
        {{ attribution_model }}_weight{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_touchpoints_weighted') }}
    where
        {{ in_changed('cast(conversion_at as date)', ref('int_changed_conversions'), 'conversion_date', window) }}
        {%- if not window.full and not window.empty %}
        -- implied by the days, and found by the conversion_month index (sort key on Redshift)
        and conversion_month in (
            select conversion_month
            from {{ ref('int_changed_conversions') }}
        )
        {%- endif %}

),

daily_sums as (

    -- one pass: every attribution model's sums side by side; a model's sums read only its
    -- positive weights
    select
        conversion_date,
        conversion_month,
        channel,
        {%- for attribution_model in attribution_models %}
        {%- set credited = attribution_model ~ '_weight > 0' %}
        {%- set credit = 'cast(' ~ attribution_model ~ '_weight as numeric(38, 18))' %}
        sum(case when {{ credited }} then 1 else 0 end) as {{ attribution_model }}_touches,
        sum(case when {{ credited }} then {{ credit }} end) as {{ attribution_model }}_credit,
        sum(
            case when {{ credited }} then {{ credit }} * conversion_revenue end
        ) as {{ attribution_model }}_revenue_credit{{ "," if not loop.last }}
        {%- endfor %}
    from touchpoints
    group by conversion_date, conversion_month, channel

),

credits as (

    -- one row per attribution model that gave the channel credit that day
    {%- for attribution_model in attribution_models %}
    select
        conversion_date,
        conversion_month,
        channel,
        '{{ attribution_model }}' as attribution_model,
        {{ attribution_model }}_touches as touches,
        {{ attribution_model }}_credit as credit,
        {{ attribution_model }}_revenue_credit as revenue_credit
    from daily_sums
    where {{ attribution_model }}_touches > 0
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        conversion_date,
        conversion_month,
        channel,
        attribution_model,
        cast(touches as integer) as touches,
        cast(credit as numeric(38, 18)) as credit,
        cast(revenue_credit as numeric(38, 18)) as revenue_credit
    from credits

)

select * from final
