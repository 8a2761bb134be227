{%- do incremental_lookback_days() %}{# a bad var fails every compile, not only incremental runs #}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['month', 'attribution_model'],
    on_schema_change='fail',
    dist='all',
    sort=['month'],
) }}

{%- set attribution_models = ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] %}

-- depends_on: {{ ref('stg_raw_data__session_timestamp') }} {#- the incremental window reads it #}

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
    {%- if is_incremental() %}
    where conversion_month >= {{ incremental_window_start(
        'month', ref('stg_raw_data__session_timestamp'), 'session_at') }}
    {%- endif %}

),

markov_credits as (

    -- every month: a returning user's non-converting journey moves to a later month, which
    -- changes the earlier month's chain (hence the unique key by model too)
    select
        month,
        channel,
        attributed_conversions,
        attributed_revenue
    from {{ ref('int_markov_attribution_monthly') }}

),

credits as (

    {%- for attribution_model in attribution_models %}
    select
        conversion_month as month,
        channel,
        '{{ attribution_model }}' as attribution_model,
        {{ attribution_model }}_weight as credit,
        {{ attribution_model }}_weight * conversion_revenue as revenue_credit
    from touchpoints
    where {{ attribution_model }}_weight > 0
    union all
    {%- endfor %}
    select
        month,
        channel,
        'markov' as attribution_model,
        attributed_conversions as credit,
        attributed_revenue as revenue_credit
    from markov_credits

),

final as (

    select
        cast(month as date) as month,
        cast(channel as varchar(32)) as channel,
        cast(attribution_model as varchar(16)) as attribution_model,
        cast(sum(credit) as numeric(38, 10)) as attributed_conversions,
        cast(sum(revenue_credit) as numeric(38, 10)) as attributed_revenue
    from credits
    group by month, channel, attribution_model

)

select * from final
