{#-
    The raw rows that passed their own table's checks (`base_model`) but did not reach the
    staging model (`staging_model`) because a check against another table failed: each gets
    `reason`. Returns source_table, record_key, reason, record, like raw_data_quarantine.
-#}
{% macro rows_failing_cross_check(source_table, base_model, staging_model, base_key, staging_key, reason) -%}
    select
        '{{ source_table }}' as source_table,
        checked.record_key,
        '{{ reason }}' as reason,
        checked.record
    from {{ ref(base_model) }} as checked
    left join {{ ref(staging_model) }} as kept
        on checked.{{ base_key }} = kept.{{ staging_key }}
    where
        checked.quarantine_reason is null
        and kept.{{ staging_key }} is null
{%- endmacro %}
