{#- One row per month and channel with a simplified Shapley value above 0 (Zhao et al.
    2018): the game's players are the channels, a coalition's worth the conversion rates of
    the channel sets it contains, so a channel's value is the sum, over the month's channel
    sets that contain it, of the set's conversion rate divided by its size. The month's
    conversions and their net revenue are split in proportion (the shapley rows of
    channel_attribution_monthly). Exact: one pass over the month's journeys, then the sets
    (at most 2^channels of them, in practice a few hundred), no coalition enumerated. -#}
{{ config(
    dist='all',
    sort=['month'],
) }}

with

journeys as (

    select
        journey_month,
        channel_set,
        distinct_channels,
        converted,
        net_revenue
    from {{ ref('fct_journeys') }}

),

channels as (

    -- every channel with a session: a set's members are found among them
    select distinct channel
    from {{ ref('int_sessions_monthly_by_channel') }}

),

channel_sets as (

    -- r(T): the share of the month's journeys with exactly the set T that converted
    select
        journey_month,
        channel_set,
        distinct_channels,
        -- a double: Redshift's decimal division would leave too few digits
        cast(sum(case when converted then 1 else 0 end) as double precision)
            / count(*) as conversion_rate
    from journeys
    group by journey_month, channel_set, distinct_channels

),

set_members as (

    -- each set once per channel in it: channel_set joins the names, escaped so that no name
    -- holds the ' + ' between them, so a name is a member exactly when ' + name + ' occurs
    select
        channel_sets.journey_month,
        channels.channel,
        -- one exact decimal per term, so the sums below do not depend on the order rows
        -- arrive in (a double's sum does): an incremental build equals a full one
        cast(
            channel_sets.conversion_rate / channel_sets.distinct_channels as numeric(38, 18)
        ) as value_share
    from channel_sets
    inner join channels
        on {{ dbt.position(
            dbt.concat(["' + '", shapley_channel_key('channels.channel'), "' + '"]),
            dbt.concat(["' + '", 'channel_sets.channel_set', "' + '"])) }} > 0

),

shapley_values as (

    select
        journey_month as month,
        channel,
        sum(value_share) as shapley_value
    from set_members
    group by journey_month, channel

),

monthly_conversions as (

    select
        journey_month as month,
        count(*) as conversions,
        sum(net_revenue) as net_revenue
    from journeys
    where converted
    group by journey_month

),

shares as (

    select
        month,
        channel,
        shapley_value,
        cast(shapley_value as double precision)
        / cast(sum(shapley_value) over (partition by month) as double precision)
            as credit_share
    from shapley_values
    where shapley_value > 0

),

final as (

    select
        cast(shares.month as date) as month,
        cast(shares.channel as varchar(32)) as channel,
        cast(shares.shapley_value as double precision) as shapley_value,
        cast(shares.credit_share as double precision) as credit_share,
        cast(monthly_conversions.conversions * shares.credit_share as numeric(38, 10))
            as attributed_conversions,
        cast(monthly_conversions.net_revenue * shares.credit_share as numeric(38, 10))
            as attributed_revenue
    from shares
    inner join monthly_conversions
        on shares.month = monthly_conversions.month

)

select * from final
