{#- Per raw table: raw_rows - exact_duplicate_rows = quarantined_rows + clean_rows.
    Raw rows are counted through the base models (every raw row is in exactly one collapsed
    row, raw_copies times), so no model outside staging reads a source. -#}
with

{% for table in raw_data_tables() %}
{{ table }}_collapsed as (

    select
        coalesce(sum(raw_copies), 0) as raw_rows,
        coalesce(sum(raw_copies - 1), 0) as exact_duplicate_rows
    from {{ ref('base_raw_data__' ~ table) }}

),

{{ table }}_clean as (

    select count(*) as clean_rows
    from {{ ref('stg_raw_data__' ~ table) }}

),

{% endfor %}
quarantine as (

    select
        source_table,
        count(*) as quarantined_rows
    from {{ ref('raw_data_quarantine') }}
    group by source_table

),

counts as (

    {% for table in raw_data_tables() %}
    select
        '{{ table }}' as source_table,
        {{ table }}_collapsed.raw_rows,
        {{ table }}_collapsed.exact_duplicate_rows,
        {{ table }}_clean.clean_rows
    from {{ table }}_collapsed
    cross join {{ table }}_clean
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        counts.source_table,
        cast(counts.raw_rows as bigint) as raw_rows,
        cast(counts.exact_duplicate_rows as bigint) as exact_duplicate_rows,
        cast(coalesce(quarantine.quarantined_rows, 0) as bigint) as quarantined_rows,
        cast(counts.clean_rows as bigint) as clean_rows
    from counts
    left join quarantine
        on counts.source_table = quarantine.source_table

)

select * from final
