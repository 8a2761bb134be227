{#- int_markov_transitions_monthly keeps its counts by difference (its old counts plus the step
    changes int_journey_touches logged): they must equal a recount of the journeys' touches,
    step for step, every month, and none may be 0 or below. -#}
{%- set transitions = ref('int_markov_transitions_monthly') -%}

with

kept as (

    select
        month,
        from_name,
        to_name,
        transitions
    from {{ transitions }}

),

recounted as (

    {{ markov_step_counts(ref('int_journey_touches')) }}

),

final as (

    select
        coalesce(kept.month, recounted.month) as month,
        coalesce(kept.from_name, recounted.from_name) as from_name,
        coalesce(kept.to_name, recounted.to_name) as to_name,
        kept.transitions as kept_transitions,
        recounted.transitions as recounted_transitions
    from kept
    full outer join recounted
        on
            kept.month = recounted.month
            and kept.from_name = recounted.from_name
            and kept.to_name = recounted.to_name
    where
        kept.transitions is null
        or recounted.transitions is null
        or kept.transitions <> recounted.transitions
        or kept.transitions < 1

)


select * from final
