{#- One row per month and channel of that month's journeys: what the first-order Markov chain
    says happens to the conversion probability if the channel is cut. -#}
{{ config(
    dist='all',
    sort=['month'],
) }}

with

removal_effects as (

    select
        month,
        channel,
        removal_effect,
        conversion_probability,
        full_conversion_probability
    from {{ ref('int_markov_removal_effects_monthly') }}

),

final as (

    select
        cast(month as date) as month,
        cast(channel as varchar(32)) as channel,
        cast(removal_effect as double precision) as removal_effect,
        cast(conversion_probability as double precision) as conversion_probability,
        cast(full_conversion_probability as double precision) as full_conversion_probability
    from removal_effects

)

select * from final
