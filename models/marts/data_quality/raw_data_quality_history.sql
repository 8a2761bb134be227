{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['built_at', 'source_table'],
    on_schema_change='append_new_columns',
    full_refresh=false,
    dist='even',
    sort=['built_at'],
) }}

{#- --full-refresh rebuilds the marts but never erases this build log (full_refresh=false).
    Every build that runs it appends its row (`warehouse build` runs it when raw rows changed). -#}
{#- Each build appends the current data-quality counts, so rates can be charted over time. -#}
with

current_quality as (

    select
        source_table,
        raw_rows,
        exact_duplicate_rows,
        quarantined_rows,
        clean_rows
    from {{ ref('raw_data_quality') }}

),

final as (

    select
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as built_at,
        cast('{{ invocation_id }}' as varchar(64)) as invocation_id,
        cast(source_table as varchar(64)) as source_table,
        cast(raw_rows as bigint) as raw_rows,
        cast(exact_duplicate_rows as bigint) as exact_duplicate_rows,
        cast(quarantined_rows as bigint) as quarantined_rows,
        cast(clean_rows as bigint) as clean_rows,
        cast(
            case when raw_rows > 0 then 1.0 * exact_duplicate_rows / raw_rows end
            as double precision
        ) as exact_duplicate_rate,
        cast(
            case when raw_rows > 0 then 1.0 * quarantined_rows / raw_rows end
            as double precision
        ) as quarantine_rate
    from current_quality

)

select * from final
