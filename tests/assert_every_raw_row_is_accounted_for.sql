{#- The data contract's invariant: every raw row is clean, quarantined, or an exact duplicate. -#}
select
    source_table,
    raw_rows,
    exact_duplicate_rows,
    quarantined_rows,
    clean_rows
from {{ ref('raw_data_quality') }}
where raw_rows - exact_duplicate_rows <> quarantined_rows + clean_rows
