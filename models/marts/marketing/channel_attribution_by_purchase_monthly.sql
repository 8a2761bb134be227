{#- One row per month, channel, attribution model and purchase type (first: the user's first
    conversion, by time then session_id; repeat: any later one) where the channel received
    credit. The rule-based models split each conversion by its touchpoints' weights (as in
    channel_attribution_monthly): the first purchases' touchpoints are summed here, the repeat
    ones are the month's exact sums (int_rule_based_attribution_daily) less those; markov and
    shapley split each of the month's conversions of a type by the month's shares. Rebuilt on
    every run: whether a conversion is a user's first depends on every conversion they ever
    made. -#}
{{ config(
    dist='all',
    sort=['month'],
) }}
{%- set rule_based_models = rule_based_attribution_models() %}

with

conversions as (

    select
        session_id,
        user_id,
        session_at,
        session_month,
        net_amount
    from {{ ref('int_sessions_joined') }}
    where is_conversion

),

touchpoints as (

    select
        conversion_session_id,
        channel,
        conversion_revenue,
        {%- for attribution_model in rule_based_models %}
        {{ attribution_model }}_weight{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_touchpoints_weighted') }}

),

daily_credits as (

    select
        conversion_month,
        channel,
        attribution_model,
        touches,
        credit,
        revenue_credit
    from {{ ref('int_rule_based_attribution_daily') }}

),

attribution as (

    select
        month,
        channel,
        attribution_model,
        attributed_conversions
    from {{ ref('channel_attribution_monthly') }}
    where attribution_model in ('markov', 'shapley')

),

conversions_typed as (

    select
        session_id,
        session_month,
        net_amount,
        case
            when row_number() over (
                partition by user_id order by session_at, session_id
            ) = 1 then 'first'
            else 'repeat'
        end as purchase_type
    from conversions

),

first_conversions as (

    select
        session_id,
        session_month
    from conversions_typed
    where purchase_type = 'first'

),

first_purchase_sums as (

    -- the first purchases' touchpoints only (about one conversion in five), every
    -- rule-based model's sums side by side, as int_rule_based_attribution_daily sums them
    select
        first_conversions.session_month as month,
        touchpoints.channel,
        {%- for attribution_model in rule_based_models %}
        {%- set credited = 'touchpoints.' ~ attribution_model ~ '_weight > 0' %}
        {%- set credit = 'cast(touchpoints.' ~ attribution_model ~ '_weight as numeric(38, 18))' %}
        sum(case when {{ credited }} then 1 else 0 end) as {{ attribution_model }}_touches,
        sum(case when {{ credited }} then {{ credit }} end) as {{ attribution_model }}_credit,
        sum(
            case when {{ credited }} then {{ credit }} * touchpoints.conversion_revenue end
        ) as {{ attribution_model }}_revenue_credit{{ "," if not loop.last }}
        {%- endfor %}
    from touchpoints
    inner join first_conversions
        on touchpoints.conversion_session_id = first_conversions.session_id
    group by first_conversions.session_month, touchpoints.channel

),

first_purchase_credits as (

    {%- for attribution_model in rule_based_models %}
    select
        month,
        channel,
        '{{ attribution_model }}' as attribution_model,
        {{ attribution_model }}_touches as touches,
        {{ attribution_model }}_credit as credit,
        {{ attribution_model }}_revenue_credit as revenue_credit
    from first_purchase_sums
    where {{ attribution_model }}_touches > 0
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

monthly_credits as (

    -- every conversion's exact sums, per month (the daily sums added up)
    select
        conversion_month as month,
        channel,
        attribution_model,
        sum(touches) as touches,
        sum(credit) as credit,
        sum(revenue_credit) as revenue_credit
    from daily_credits
    group by conversion_month, channel, attribution_model

),

rule_based_credits as (

    -- first purchases as summed above; repeat ones the rest (exact: the same decimals), where
    -- a repeat purchase's touch credited the channel
    select
        month,
        channel,
        attribution_model,
        'first' as purchase_type,
        credit as attributed_conversions,
        revenue_credit as attributed_revenue
    from first_purchase_credits
    union all
    select
        monthly_credits.month,
        monthly_credits.channel,
        monthly_credits.attribution_model,
        'repeat' as purchase_type,
        monthly_credits.credit - coalesce(first_purchase_credits.credit, 0)
            as attributed_conversions,
        monthly_credits.revenue_credit - coalesce(first_purchase_credits.revenue_credit, 0)
            as attributed_revenue
    from monthly_credits
    left join first_purchase_credits
        on
            monthly_credits.month = first_purchase_credits.month
            and monthly_credits.channel = first_purchase_credits.channel
            and monthly_credits.attribution_model = first_purchase_credits.attribution_model
    where monthly_credits.touches > coalesce(first_purchase_credits.touches, 0)

),

monthly_conversions_by_type as (

    select
        session_month as month,
        purchase_type,
        count(*) as conversions,
        sum(net_amount) as net_revenue
    from conversions_typed
    group by session_month, purchase_type

),

monthly_shares as (

    -- a data-driven model's share of a month: its channel's credit over the month's
    select
        month,
        channel,
        attribution_model,
        -- the decimals summed (exact in any order), then one division of doubles
        cast(attributed_conversions as double precision)
        / cast(
            sum(attributed_conversions) over (partition by month, attribution_model)
            as double precision
        ) as credit_share
    from attribution

),

data_driven_credits as (

    select
        monthly_shares.month,
        monthly_shares.channel,
        monthly_shares.attribution_model,
        monthly_conversions_by_type.purchase_type,
        monthly_conversions_by_type.conversions * monthly_shares.credit_share
            as attributed_conversions,
        monthly_conversions_by_type.net_revenue * monthly_shares.credit_share
            as attributed_revenue
    from monthly_shares
    inner join monthly_conversions_by_type
        on monthly_shares.month = monthly_conversions_by_type.month

),

credits as (

    select * from rule_based_credits
    union all
    select * from data_driven_credits

),

final as (

    select
        cast(month as date) as month,
        cast(channel as varchar(32)) as channel,
        cast(attribution_model as varchar(16)) as attribution_model,
        cast(purchase_type as varchar(8)) as purchase_type,
        cast(attributed_conversions as numeric(38, 10)) as attributed_conversions,
        cast(attributed_revenue as numeric(38, 10)) as attributed_revenue
    from credits

)

select * from final
