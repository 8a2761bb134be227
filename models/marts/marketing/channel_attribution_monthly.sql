{#- The rule-based models' credit (int_rule_based_attribution_monthly, incremental by
    month), Markov's (int_markov_attribution_monthly) and Shapley's
    (channel_shapley_values_monthly) side by side: a table of months x
    channels x models rows, rebuilt on every run from those three. -#}
{{ config(dist='all', sort=['month']) }}

with

rule_based_credits as (

    select
        month,
        channel,
        attribution_model,
        attributed_conversions,
        attributed_revenue
    from {{ ref('int_rule_based_attribution_monthly') }}

),

markov_credits as (

    select
        month,
        channel,
        attributed_conversions,
        attributed_revenue
    from {{ ref('int_markov_attribution_monthly') }}

),

shapley_credits as (

    select
        month,
        channel,
        attributed_conversions,
        attributed_revenue
    from {{ ref('channel_shapley_values_monthly') }}

),

credits as (

    select
        month,
        channel,
        attribution_model,
        attributed_conversions,
        attributed_revenue
    from rule_based_credits
    union all
    select
        month,
        channel,
        'markov' as attribution_model,
        attributed_conversions,
        attributed_revenue
    from markov_credits
    union all
    select
        month,
        channel,
        'shapley' as attribution_model,
        attributed_conversions,
        attributed_revenue
    from shapley_credits

),

final as (

    select
        cast(month as date) as month,
        cast(channel as varchar(32)) as channel,
        cast(attribution_model as varchar(16)) as attribution_model,
        cast(attributed_conversions as numeric(38, 10)) as attributed_conversions,
        cast(attributed_revenue as numeric(38, 10)) as attributed_revenue
    from credits

)

select * from final
