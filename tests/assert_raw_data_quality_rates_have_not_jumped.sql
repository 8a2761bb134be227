{{ config(severity='warn') }}

{#- Warns when a table's duplicate or quarantine rate rose by more than the var
    `quality_rate_jump_threshold` (a fraction, default 0.05) since the previous build. -#}
with

history as (

    select
        built_at,
        source_table,
        exact_duplicate_rate,
        quarantine_rate
    from {{ ref('raw_data_quality_history') }}

),

with_previous as (

    select
        built_at,
        source_table,
        exact_duplicate_rate,
        quarantine_rate,
        lag(exact_duplicate_rate) over (
            partition by source_table order by built_at
        ) as previous_duplicate_rate,
        lag(quarantine_rate) over (
            partition by source_table order by built_at
        ) as previous_quarantine_rate,
        row_number() over (partition by source_table order by built_at desc) as recency
    from history

),

final as (

    select
        built_at,
        source_table,
        previous_duplicate_rate,
        exact_duplicate_rate,
        previous_quarantine_rate,
        quarantine_rate
    from with_previous
    where
        recency = 1
        and (
            exact_duplicate_rate - previous_duplicate_rate > {{ quality_rate_jump_threshold() }}
            or quarantine_rate - previous_quarantine_rate > {{ quality_rate_jump_threshold() }}
        )

)

select * from final
