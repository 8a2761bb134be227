{#- One row per month and channel of that month's journeys: the probability of reaching
    conversion from start in the month's first-order Markov chain, with and without the
    channel, and the channel's removal effect (1 - without / with).

    Exact: the absorption probability is solved by eliminating the channel states one by one
    (Gaussian elimination on the chain): removing state k replaces every pair of transitions
    i -> k -> j with i -> j of probability p(i,k) p(k,j) / (1 - p(k,k)), summed with any
    direct i -> j, which leaves the probability of reaching every other state unchanged. Once
    every channel is gone, start -> conversion is P. No sampling and no iteration: the
    answer is exact up to floating point rounding (about 1e-15 here). The steps are unrolled
    (SQL has no loop that Redshift allows with the aggregates each step needs), one per
    possible channel state up to the var markov_max_channels; `channel_states_left` says
    whether that was enough, and a test requires 0.

    Each month is solved once with every channel (removed_state 0 below) and once per channel
    removed: transitions into the removed channel go to null instead, its own are dropped. -#}
{{ config(
    materialized='table',
    post_hook=["{{ analyze_table() }}"],
    dist='all',
    backup=false,
) }}
{%- set max_channels = markov_max_channels() %}

with

transitions as (

    select
        month,
        from_state,
        to_state,
        from_name,
        probability
    from {{ ref('int_markov_transitions_monthly') }}

),

channels as (

    select distinct
        month,
        from_state as channel_state,
        from_name as channel
    from transitions
    where from_state > 0

),

chains as (

    -- removed_state 0 is the whole chain (the start state is never removed)
    select distinct
        month,
        0 as removed_state
    from transitions

    union all

    select
        month,
        channel_state as removed_state
    from channels

),

edges_0 as (

    select
        chains.month,
        chains.removed_state,
        transitions.from_state,
        case
            when transitions.to_state = chains.removed_state then -2 else transitions.to_state
        end as to_state,
        sum(transitions.probability) as probability
    from chains
    inner join transitions
        on chains.month = transitions.month
    where transitions.from_state <> chains.removed_state or chains.removed_state = 0
    group by
        chains.month,
        chains.removed_state,
        transitions.from_state,
        case
            when transitions.to_state = chains.removed_state then -2 else transitions.to_state
        end

),
{%- for k in range(1, max_channels + 1) %}

{#- eliminate channel state k from edges_{{ k - 1 }} #}
self_loops_{{ k }} as (

    select
        month,
        removed_state,
        probability
    from edges_{{ k - 1 }}
    where from_state = {{ k }} and to_state = {{ k }}

),

paths_{{ k }} as (

    select
        month,
        removed_state,
        from_state,
        to_state,
        probability
    from edges_{{ k - 1 }}
    where from_state <> {{ k }} and to_state <> {{ k }}

    union all

    select
        into_state.month,
        into_state.removed_state,
        into_state.from_state,
        out_of_state.to_state,
        into_state.probability * out_of_state.probability
        / (1.0 - coalesce(self_loops_{{ k }}.probability, 0.0)) as probability
    from edges_{{ k - 1 }} as into_state
    inner join edges_{{ k - 1 }} as out_of_state
        on
            into_state.month = out_of_state.month
            and into_state.removed_state = out_of_state.removed_state
            and into_state.to_state = out_of_state.from_state
    left join self_loops_{{ k }}
        on
            into_state.month = self_loops_{{ k }}.month
            and into_state.removed_state = self_loops_{{ k }}.removed_state
    where
        into_state.to_state = {{ k }}
        and into_state.from_state <> {{ k }}
        and out_of_state.to_state <> {{ k }}

),

edges_{{ k }} as (

    select
        month,
        removed_state,
        from_state,
        to_state,
        sum(probability) as probability
    from paths_{{ k }}
    group by month, removed_state, from_state, to_state

),
{%- endfor %}

solved as (

    select
        month,
        removed_state,
        sum(case when from_state = 0 and to_state = -1 then probability else 0 end)
            as conversion_probability,
        sum(case when from_state > 0 or to_state > 0 then 1 else 0 end) as edges_left
    from edges_{{ max_channels }}
    group by month, removed_state

),

with_and_without as (

    select
        channels.month,
        channels.channel,
        whole_chain.conversion_probability as full_conversion_probability,
        coalesce(without_channel.conversion_probability, 0) as conversion_probability,
        coalesce(whole_chain.edges_left, 0) + coalesce(without_channel.edges_left, 0)
            as channel_states_left
    from channels
    inner join solved as whole_chain
        on
            channels.month = whole_chain.month
            and whole_chain.removed_state = 0
    left join solved as without_channel
        on
            channels.month = without_channel.month
            and channels.channel_state = without_channel.removed_state

),

final as (

    select
        month,
        cast(channel as varchar(32)) as channel,
        cast(conversion_probability as double precision) as conversion_probability,
        cast(full_conversion_probability as double precision) as full_conversion_probability,
        cast(
            case
                when full_conversion_probability > 0
                    -- a channel that cannot change P has effect 0, not rounding noise
                    and full_conversion_probability - conversion_probability
                    > 1e-12 * full_conversion_probability
                    then 1.0 - conversion_probability / full_conversion_probability
                when full_conversion_probability > 0 then 0.0
            end as double precision
        ) as removal_effect,
        cast(channel_states_left as integer) as channel_states_left
    from with_and_without

)

select * from final
