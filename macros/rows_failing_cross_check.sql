{#-
    The raw rows of `source_table` that passed their own table's checks (its base model,
    `base`) but did not reach `staging_model` (a relation) because a check against another
    table failed: each gets `reason`. Returns source_table, record_key, reason, record, like
    raw_data_quarantine, for the partitions the window re-decides (`changed_sessions`, the
    changed-keys model of sessions). The model passes every relation (ref in its own SQL).
-#}
{% macro rows_failing_cross_check(source_table, base, changed_sessions, staging_model, staging_key, reason, window) -%}
    {%- set spec = raw_data_table(source_table) -%}
    {%- set base_key = spec.key[0] -%}
    select
        '{{ source_table }}' as source_table,
        {{ raw_record_text(spec.key, separator='|', with_names=false, prefix='checked.') }} as record_key,
        '{{ reason }}' as reason,
        {{ raw_record_text(spec.columns, prefix='checked.') }} as record
    from {{ quarantine_partition_rows(source_table, base, changed_sessions, window) }} as checked
    {# a subquery, as `--empty` renders the ref as an aliased one #}
    left join (select {{ staging_key }} from {{ staging_model }}) as kept
        on checked.{{ base_key }} = kept.{{ staging_key }}
    where
        checked.quarantine_reason is null
        and kept.{{ staging_key }} is null
{%- endmacro %}


{#- The rows of a raw table's base model the quarantine re-reads, as a derived table: its
    partitions the window re-decided (for the session tables: every re-decided session), and
    null partitions. Two branches, so each finds its rows by the key's index (`key is null or
    key in (...)` is one filter over a full scan, and its estimate makes the joins after it
    hash whole tables). -#}
{% macro quarantine_partition_rows(table, base, changed_sessions, window) -%}
    {%- set key = raw_data_table(table).key[0] -%}
    {%- if window.full -%}
        {#- a subquery, as `--empty` renders the ref as an aliased one -#}
        (select * from {{ base }})
    {%- else -%}
    (
        select * from {{ base }}
        where
        {%- if table in ['user_session_channel', 'session_timestamp', 'session_transaction'] %}
            {{ in_changed(key, changed_sessions, 'session_id', window) }}
        {%- else %}
            {{ key }} in (select {{ key }} from {{ base }} where checked_until > {{ window.since }})
        {%- endif %}
        union all
        select * from {{ base }} where {{ key }} is null
    )
    {%- endif -%}
{%- endmacro %}


{#- pre-hook of raw_data_quarantine: delete the rows of the partitions a run re-reads. -#}
{% macro delete_quarantine_partitions() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set window = load_window() -%}
    {%- if window.full -%}{{ return('delete from ' ~ this) }}{%- endif -%}
    delete from {{ this }}
    where
    {%- for table in raw_data_tables() %}
        {%- set spec = raw_data_table(table) %}
        {{ 'or ' if not loop.first }}(source_table = '{{ table }}' and record_key in (
            select {{ raw_record_text(spec.key, separator='|', with_names=false) }}
            from {{ quarantine_partition_rows(table, dependency_relation('base_raw_data__' ~ table),
                dependency_relation('stg_raw_data__changed_sessions'), window) }} as partition_rows))
    {%- endfor %}
{%- endmacro %}
