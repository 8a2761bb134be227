{#-
    Load-aware incremental builds. Every raw row carries `_load_id`, the id of the load that
    brought it (raw_data._loads; ids follow the loads' commit order); a run processes only the
    loads since each model's last run, whatever their rows' event times or load clocks.

    State, in small tables in the staging schema (created by the on-run-start hook):
    - load_checkpoints: per run and raw table, the run's cutoff (the newest load id it saw at
      its start: loads committed during the run wait for the next one), the table's row count
      and a checksum of its rows' content. A run whose count or checksum of the rows up to the
      previous cutoff differs from what that run recorded has seen that table's history
      rewritten (rows removed by a replacing load, or changed outside a load: a delete, an
      update, an insert without a load id) and says so (`history_rewritten`, per table): the
      models that read that table, and only those, rebuild in full.
    - model_watermarks: per incremental model, the load id it has processed up to, written in
      the same transaction as the model's rows (post-hook), so a failed or killed build never
      advances it. Runs are ordered by their number (build_runs), never by a clock.
    - rebuilt_keys: for a model whose consumers are rebuilt by a key it cannot derive from
      the base layer (int_journey_touches: the months of its journeys), the keys of the rows
      each run deleted and wrote, under that run's window end (log_rebuilt_keys).
    - node_builds: per model, seed and snapshot, the run that last built it, the load id it
      had then processed up to and the fingerprint of its code (node_builds.sql), which
      `warehouse build` compares to select what to build.
    - build_runs and test_results: each run's number, and each data test's last result
      (build_runs.sql).
    - markov_step_changes: the Markov steps of the journeys int_journey_touches deleted
      (negative) and wrote, per run and month, so the chain's counts change by difference
      (markov_step_changes.sql).
    - read_states: the raw tables' states `warehouse build` read to select (raw_table_states,
      under the build's token), which its build's checkpoint takes instead of reading every
      raw row again, when no run and no load came in between (`scheduled_states`).
-#}

{#- The state tables (described above) and their columns. -#}
{% macro load_state_tables() -%}
    {{ return({
        'load_checkpoints': 'invocation_id varchar(64), run_id integer, cutoff bigint, raw_table varchar(64), '
            ~ 'raw_rows bigint, raw_checksum decimal(38, 0), history_rewritten boolean, recorded_at timestamp',
        'model_watermarks': 'model_name varchar(512), loaded_until bigint, previous_loaded_until bigint, '
            ~ 'was_full_rebuild boolean, settings_fingerprint varchar(64), run_id integer, recorded_at timestamp',
        'rebuilt_keys': 'model_name varchar(512), key_value varchar(64), rebuilt_until bigint, recorded_at timestamp',
        'node_builds': 'node_id varchar(512), fingerprint varchar(64), run_id integer, loaded_until bigint, full_run integer, recorded_at timestamp',
        'markov_step_changes': 'model_name varchar(512), month date, from_name varchar(32), to_name varchar(32), '
            ~ 'steps bigint, rebuilt_until bigint, recorded_at timestamp',
        'build_runs': 'run_id integer, invocation_id varchar(64), started_at timestamp',
        'test_results': 'test_name varchar(512), status varchar(16), failures bigint, fingerprint varchar(64), run_id integer, started_run integer, recorded_at timestamp',
        'changed_key_windows': 'model_name varchar(512), since bigint, until bigint, recorded_at timestamp',
        'read_states': 'token varchar(64), previous_run integer, loads_seen bigint, raw_table varchar(64), '
            ~ 'raw_rows bigint, newest bigint, raw_checksum decimal(38, 0), history_rewritten boolean, recorded_at timestamp',
        'state_version': 'version integer',
    }) }}
{%- endmacro %}

{#- The version of the state tables' shape: state of another version is dropped (its models
    then rebuild in full; their own tables may need `dbt build --full-refresh` once). -#}
{% macro load_state_version() -%}
    {{ return(4) }}
{%- endmacro %}


{% macro load_state_relation(name) -%}
    {{ return(api.Relation.create(
        database=target.database, schema=generate_schema_name('staging', none), identifier=name)) }}
{%- endmacro %}


{#- Whether the load-state tables exist (not before the first run's on-run-start hook; a
    `dbt compile` runs no hooks). Asked by every incremental model and scoped test, so it asks
    dbt's relation cache, which the hook tells of the tables it creates (the cache is filled
    before hooks run); where the schema is not cached (`dbt compile` of a few nodes with
    cache_selected_only, a run-operation), dbt lists the schema's relations. -#}
{% macro load_state_exists() -%}
    {%- set relation = load_state_relation('model_watermarks') -%}
    {{ return(adapter.get_relation(database=relation.database, schema=relation.schema,
                                   identifier=relation.identifier) is not none) }}
{%- endmacro %}


{#- Whether the on-run-start hooks of the load state act: in the commands that run them, not
    where dbt only renders them (`dbt compile` and `dbt docs generate` render the hooks in a
    transaction they never commit, and what they told dbt's relation cache would outlive it). -#}
{% macro load_state_hooks_run() -%}
    {{ return(execute and flags.WHICH in ('run', 'build', 'seed', 'snapshot', 'test', 'retry')) }}
{%- endmacro %}


{#- on-run-start, first: create the state tables (dropping those of another version). -#}
{% macro create_load_state() -%}
    {%- if not load_state_hooks_run() -%}{{ return('') }}{%- endif -%}
    {%- set versions = load_state_relation('state_version') -%}
    {%- do run_query('create schema if not exists ' ~ adapter.quote(versions.schema)) -%}
    {%- set current = load_relation(versions) is not none
        and run_query('select max(version) from ' ~ versions).rows[0][0] == load_state_version() -%}
    {%- for name, columns in load_state_tables().items() -%}
        {%- if not current -%}
            {%- do run_query('drop table if exists ' ~ load_state_relation(name)) -%}
        {%- endif -%}
        {%- do run_query('create table if not exists ' ~ load_state_relation(name) ~ ' (' ~ columns ~ ')') -%}
        {#- dbt filled its relation cache before this hook: tell it of the table (load_state_exists) -#}
        {%- do adapter.cache_added(load_state_relation(name).incorporate(type='table')) -%}
    {%- endfor -%}
    {%- if not current -%}
        {%- do run_query('insert into ' ~ versions ~ ' (version) values (' ~ load_state_version() ~ ')') -%}
    {%- endif -%}
{%- endmacro %}


{#- on-run-start, after the run is numbered: this run's cutoff (the newest load id), and per
    raw table its row count and content checksum, and whether the rows up to the previous
    cutoff are still the ones that run saw (raw_table_states). -#}
{% macro record_load_checkpoint() -%}
    {#- not with --empty: its sources read no rows, so its counts would say every row was removed -#}
    {%- if not load_state_hooks_run() or invocation_args_dict.get('empty') -%}{{ return('') }}{%- endif -%}
    {%- do _require_raw_tables() -%}
    {%- set read = scheduled_states() -%}
insert into {{ load_state_relation('load_checkpoints') }} (invocation_id, run_id, cutoff, raw_table, raw_rows, raw_checksum, history_rewritten, recorded_at)
select
    {{ _sql_string(invocation_id) }},
    {{ this_run_id() }},
    max(coalesce(states.newest, 0)) over (),
    states.raw_table,
    states.raw_rows,
    states.raw_checksum,
    states.history_rewritten,
    {{ dbt.current_timestamp() }}
from ({{ read if read else raw_table_states() }}) as states
{%- endmacro %}


{#- The scheduled build's token (`warehouse build` sets it for its one dbt process), or ''. -#}
{% macro scheduled_build_token() -%}
    {{ return(env_var('WAREHOUSE_BUILD_TOKEN', '') if execute else '') }}
{%- endmacro %}


{#- In a scheduled build's on-run-start: a select of the raw tables' states its run-operation
    read and kept (read_states, under its token), when they are still what raw_table_states
    would say: no run recorded a checkpoint and no load committed since (a row changed outside
    a load in between is seen by the next run, as one changed during the build). Otherwise,
    and outside a scheduled build, none: the checkpoint reads every raw row. -#}
{% macro scheduled_states() -%}
    {%- set read = scheduled_read_states() -%}
    {%- if read is none -%}{{ return('') }}{%- endif -%}
    {%- set still -%}
        select count(*)
        from {{ read }}
        where
            token = {{ _sql_string(scheduled_build_token()) }}
            and coalesce(previous_run, 0) = coalesce((select max(run_id) from {{ load_state_relation('load_checkpoints') }}), 0)
            and coalesce(loads_seen, 0) = coalesce((select max(load_id) from {{ loads_relation() }}), 0)
    {%- endset -%}
    {%- set found = run_query(still) -%}
    {%- if found.rows | length == 0 or (found.rows[0][0] | int) == 0 -%}{{ return('') }}{%- endif -%}
    {{ return(kept_read_states(read)) }}
{%- endmacro %}


{#- read_states in a scheduled build (its token set; none elsewhere, or before the state
    tables have it). -#}
{% macro scheduled_read_states() -%}
    {%- set read = load_state_relation('read_states') -%}
    {%- if not scheduled_build_token() or adapter.get_relation(
            database=read.database, schema=read.schema, identifier=read.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(read) }}
{%- endmacro %}


{#- A select of the raw tables' states kept in read under this build's token, in the columns
    of raw_table_states. -#}
{% macro kept_read_states(read) -%}
    {{ return('select raw_table, raw_rows, newest, raw_checksum, history_rewritten from ' ~ read
              ~ ' where token = ' ~ _sql_string(scheduled_build_token())) }}
{%- endmacro %}


{#- Per raw table now: its rows, newest load id and content checksum, and whether its history
    was rewritten since the last run's checkpoint: the count or checksum of the rows up to
    that run's cutoff differs from what it recorded (rows removed by a replacing load, or
    changed outside a load: a delete, an update, an insert without a load id). Rows without
    a load id count as load 0: every run reads them, and a change of them rewrites history.
    Read by the checkpoint hook and by `warehouse build` (scheduled_build_state). -#}
{% macro raw_table_states() -%}
    {%- set checkpoints = load_state_relation('load_checkpoints') -%}
    {%- set previous_run -%}
        (select max(run_id) from {{ checkpoints }})
    {%- endset -%}
    {%- set previous -%}
        (select max(cutoff) from {{ checkpoints }} where run_id = {{ previous_run }})
    {%- endset -%}
select
    counted.raw_table,
    counted.raw_rows,
    counted.newest,
    counted.raw_checksum,
    recorded.raw_table is not null
        and (counted.rows_until_previous <> recorded.raw_rows
             or counted.checksum_until_previous <> recorded.raw_checksum) as history_rewritten
from (
    {%- for table in raw_data_tables() %}
    {#- the load columns too: a row's load time (which the not-after-load rule reads) or load
        id changed by hand is a change of history -#}
    {%- set checksum = raw_row_checksum(raw_record_text(raw_data_table(table).columns | list + ['_loaded_at', '_load_id'])) %}
    select
        '{{ table }}' as raw_table,
        count(*) as raw_rows,
        max(_load_id) as newest,
        coalesce(sum({{ checksum }}), 0) as raw_checksum,
        sum(case when coalesce(_load_id, 0) <= {{ previous }} then 1 else 0 end) as rows_until_previous,
        coalesce(sum(case when coalesce(_load_id, 0) <= {{ previous }} then {{ checksum }} else 0 end), 0)
            as checksum_until_previous
    from {{ source('raw_data', table) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
) as counted
left join (
    select raw_table, raw_rows, raw_checksum
    from {{ checkpoints }}
    where run_id = {{ previous_run }}
) as recorded
    on counted.raw_table = recorded.raw_table
{%- endmacro %}


{#- Stop with one line, while the hook compiles, where a raw table is missing (nothing loaded
    yet): as a failing hook, dbt 1.11 would skip every node and die skipping the saved queries
    (dbt-core #10029) with a traceback. A dry run (no rows come back, not even the marker row)
    checks nothing. -#}
{% macro _require_raw_tables() -%}
    {%- set missing = _missing_raw_tables() -%}
    {%- if missing -%}
        {#- the run ends here: let loads and other builds go at once -#}
        {%- call statement('release_run_lock', auto_begin=true) -%}{{ release_run_lock() }}{%- endcall -%}
        {%- do adapter.commit() -%}
        {{ exceptions.raise_compiler_error(source('raw_data', raw_data_tables()[0]).schema ~ " has no table "
            ~ missing | join(', ') ~ ": load the raw data first (warehouse load DIR, or the load_raw_data_from_s3 operation)") }}
    {%- endif -%}
{%- endmacro %}


{#- The raw tables (and those named in `also`) not in the warehouse; none in a dry run (no
    rows come back, not even the marker row). -#}
{% macro _missing_raw_tables(also=[]) -%}
    {%- set tables = raw_data_tables() + also -%}
    {%- set schema = source('raw_data', tables[0]).schema -%}
    {%- set found = run_query("select '-' as table_name union all select table_name from information_schema.tables"
        ~ " where table_schema = " ~ _sql_string(schema) ~ " and table_name in (" ~ _quoted(tables) ~ ")") -%}
    {%- if found.rows | length == 0 -%}{{ return([]) }}{%- endif -%}
    {%- set present = found.columns[0].values() | list -%}
    {{ return(tables | reject('in', present) | list) }}
{%- endmacro %}


{#- A row's content checksum (of its text), summed per table: a change of content that keeps
    the row count (an UPDATE) changes the sum. -#}
{% macro raw_row_checksum(row_text) -%}
    {{ return(adapter.dispatch('raw_row_checksum')(row_text)) }}
{%- endmacro %}

{% macro default__raw_row_checksum(row_text) -%}
    cast(hashtext({{ row_text }}) as decimal(38, 0))
{%- endmacro %}

{% macro redshift__raw_row_checksum(row_text) -%}
    cast(fnv_hash({{ row_text }}) % 2147483648 as decimal(38, 0))
{%- endmacro %}


{#-
    The load window of the current model: {'since', 'until', 'full', 'empty'}, load ids as SQL
    literals. `until` is this run's cutoff, or, for a model downstream of other incremental
    models, the oldest point any of them has processed (they may not have run in this
    invocation). `full` when the model must be rebuilt from everything: its first build,
    --full-refresh, no watermark yet, or history rewritten since its watermark.
-#}
{% macro load_window() -%}
    {%- set fallback = {'since': 'cast(0 as bigint)', 'until': 'cast(9223372036854775807 as bigint)', 'full': true, 'empty': false} -%}
    {%- if not execute or model.unique_id not in graph.nodes -%}{{ return(fallback) }}{%- endif -%}
    {#- Asked by the model's SQL and by each of its hooks: computed once per node and run
        (_node_cache), as nothing it reads changes between the node's compilation and its
        watermark post-hook (what it reads upstream was built before the node started). -#}
    {%- set cache = _node_cache() -%}
    {%- set cache_key = '_load_window_' ~ invocation_id -%}
    {%- if cache.get(cache_key) is not none -%}{{ return(cache[cache_key]) }}{%- endif -%}
    {%- set window = _load_window_uncached(fallback) -%}
    {%- do cache.update({cache_key: window}) -%}
    {{ return(window) }}
{%- endmacro %}


{% macro _load_window_uncached(fallback) -%}
    {%- set checkpoints = load_state_relation('load_checkpoints') -%}
    {%- set watermarks = load_state_relation('model_watermarks') -%}
    {%- if not load_state_exists() -%}{{ return(fallback) }}{%- endif -%}

    {%- set raw_tables_read = _raw_tables_read(model.unique_id) -%}
    {%- set upstream = [] -%}
    {%- set upstream_ids = _upstream_incremental_models(model.unique_id) -%}
    {%- for node_id in upstream_ids -%}
        {%- set node = graph.nodes[node_id] -%}
        {%- do upstream.append("'" ~ api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) ~ "'") -%}
    {%- endfor -%}
    {%- set is_changed_keys = model.config.meta.get('changed_keys', false) -%}
    {%- set consumers = [] -%}
    {%- for node_id in (_changed_keys_consumers(model.unique_id) if is_changed_keys else []) -%}
        {%- set node = graph.nodes[node_id] -%}
        {%- do consumers.append("'" ~ api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) ~ "'") -%}
    {%- endfor -%}
    {%- set query -%}
        select
            (select max(cutoff) from {{ checkpoints }} where invocation_id = {{ _sql_string(invocation_id) }}) as run_cutoff,
            (select max(cutoff) from {{ checkpoints }} where run_id = (select max(run_id) from {{ checkpoints }})) as latest_cutoff,
            {%- if is_changed_keys %}
            {#- a changed-keys model: from the oldest watermark of the models that read it -#}
            (select min(loaded_until) from {{ watermarks }} where model_name in ({{ consumers | join(', ') if consumers else "''" }})) as since,
            {%- else %}
            (select max(loaded_until) from {{ watermarks }} where model_name = '{{ this }}'
             and run_id = (select max(run_id) from {{ watermarks }} where model_name = '{{ this }}')) as since,
            {%- endif %}
            (select max(settings_fingerprint) from {{ watermarks }} where model_name = '{{ this }}') as fingerprint,
            {%- if upstream %}
            {#- an upstream model with nothing to process (not selected by `warehouse build`,
                as nothing reached it) counts as processed up to this run's cutoff -#}
            (select min(processed) from (
                {%- for node_id in upstream_ids %}
                select {{ _processed_until(node_id, upstream[loop.index0]) }} as processed
                {% if not loop.last %}union all{% endif %}
                {%- endfor %}
            ) as upstream_processed) as upstream_until,
            (select count(distinct model_name) from {{ watermarks }} where model_name in ({{ upstream | join(', ') }})) as upstream_known,
            {%- else %}
            cast(null as bigint) as upstream_until,
            0 as upstream_known,
            {%- endif %}
            {#- by when it was seen, not by the cutoff: a load that only removed rows does not
                move the cutoff -#}
            (select max(run_id) from {{ checkpoints }} where history_rewritten
                and raw_table in ({{ _quoted(raw_tables_read) if raw_tables_read else "''" }})
                and run_id > coalesce((select max(run_id) from {{ watermarks }} where model_name = '{{ this }}'), 0))
                as rewritten_at,
            {#- an upstream incremental model rebuilt in full since this one's last build (a
                rewrite this one saw earlier, read from that model before it was rebuilt) -#}
            (select max(full_run) from {{ load_state_relation('node_builds') }}
             where node_id in ({{ _quoted(upstream_ids) if upstream_ids else "''" }})
                and full_run > coalesce((select max(run_id) from {{ watermarks }} where model_name = '{{ this }}'), 0))
                as upstream_full_at
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 -%}
        {#- Only a dry run (redshift-check's recording driver) returns no row: render the
            incremental SQL over every load time, as a real second build would. -#}
        {{ return({'since': fallback.since, 'until': fallback.until, 'full': not is_incremental(), 'empty': false}) }}
    {%- endif -%}
    {%- set row = rows[0] -%}
    {%- set run_cutoff = row['run_cutoff'] if row['run_cutoff'] is not none else row['latest_cutoff'] -%}
    {%- if not upstream -%}
        {%- set until = run_cutoff -%}
    {%- elif row['upstream_known'] == upstream | length and row['upstream_until'] is not none -%}
        {%- set until = row['upstream_until'] if run_cutoff is none or row['upstream_until'] < run_cutoff else run_cutoff -%}
    {%- else -%}
        {%- set until = none -%}{#- an upstream model was never built: nothing is known yet -#}
    {%- endif -%}
    {%- set since = row['since'] -%}
    {%- if is_changed_keys -%}
        {#- never full: with no consumer built yet, nothing to list -#}
        {%- set since = since if since is not none else until -%}
        {%- set full = false -%}
    {%- else -%}
        {%- set full = (not is_incremental()) or since is none or until is none or row['rewritten_at'] is not none
            or row['upstream_full_at'] is not none
            or row['fingerprint'] != results_settings_fingerprint()
            or not _changed_keys_cover(since, until) -%}
    {%- endif -%}
    {%- set until_sql = 'cast(' ~ until ~ ' as bigint)' if until is not none else 'cast(0 as bigint)' -%}
    {%- set since_sql = 'cast(' ~ since ~ ' as bigint)' if since is not none else fallback.since -%}
    {{ return({'since': since_sql, 'until': until_sql, 'full': full,
               'empty': (not full) and (until is none or since is none or until <= since)}) }}
{%- endmacro %}


{#- How far an upstream incremental model has processed, as an SQL expression: its watermark
    while something reached it since (a load that added rows to a raw table it reads, up to
    this run's cutoff, or a rewrite of one seen after its last build); else this run's cutoff:
    it has nothing left to process (`warehouse build` did not select it). -#}
{#- raw_data._loads: one row per load and raw table (its id, the rows it added and removed),
    written by `warehouse load` and load_raw_data_from_s3 in the load's transaction. -#}
{% macro loads_relation() -%}
    {{ return(source('raw_data', raw_data_tables()[0]).schema ~ '._loads') }}
{%- endmacro %}


{% macro _processed_until(node_id, name) -%}
    {%- set checkpoints = load_state_relation('load_checkpoints') -%}
    {%- set watermarks = load_state_relation('model_watermarks') -%}
    {%- set tables = _raw_tables_read(node_id) -%}
    {%- set cutoff -%}
        coalesce((select max(cutoff) from {{ checkpoints }} where invocation_id = {{ _sql_string(invocation_id) }}),
                 (select max(cutoff) from {{ checkpoints }} where run_id = (select max(run_id) from {{ checkpoints }})))
    {%- endset -%}
    {%- set watermark -%}
        (select max(loaded_until) from {{ watermarks }} where model_name = {{ name }})
    {%- endset -%}
    {%- if not tables -%}{{ return(watermark) }}{%- endif -%}
    {%- set loads = loads_relation() -%}
    {%- set expression -%}
        case
            when (select count(*) from {{ loads }} where raw_table in ({{ _quoted(tables) }}) and rows_added > 0
                      and load_id > {{ watermark }} and load_id <= {{ cutoff }}) > 0
                or (select count(*) from {{ checkpoints }} where history_rewritten and raw_table in ({{ _quoted(tables) }})
                      and run_id > (select max(run_id) from {{ watermarks }} where model_name = {{ name }})) > 0
                then {{ watermark }}
            else {{ cutoff }}
        end
    {%- endset -%}
    {{ return(expression) }}
{%- endmacro %}


{#- The incremental models that read a changed-keys model, directly or through other
    changed-keys models. -#}
{% macro _changed_keys_consumers(unique_id) -%}
    {%- set found = [] -%}
    {%- set seen = [] -%}
    {%- set queue = [unique_id] -%}
    {%- for _ in range(200) if queue -%}
        {%- set parent_id = queue.pop(0) -%}
        {%- for node_id, node in graph.nodes.items() if node.resource_type == 'model'
                and parent_id in node.depends_on.nodes and node_id not in seen -%}
            {%- do seen.append(node_id) -%}
            {%- if node.config.meta.get('changed_keys', false) -%}
                {%- do queue.append(node_id) -%}
            {%- elif node.config.materialized == 'incremental' -%}
                {%- do found.append(node_id) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}


{#- Whether the changed-keys models the current model reads were built for a window holding
    its own (since, until): not where one was left out of the run (`--select` of a few
    models), or built before the models it reads caught up. -#}
{% macro _changed_keys_cover(since, until) -%}
    {%- if since is none or until is none or until <= since -%}{{ return(true) }}{%- endif -%}
    {%- set names = [] -%}
    {%- for node_id in model.depends_on.nodes if node_id in graph.nodes
            and graph.nodes[node_id].config.meta.get('changed_keys', false) -%}
        {%- set node = graph.nodes[node_id] -%}
        {%- do names.append(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) | string) -%}
    {%- endfor -%}
    {%- if not names -%}{{ return(true) }}{%- endif -%}
    {%- set covered = run_query('select count(*) from ' ~ load_state_relation('changed_key_windows')
        ~ ' where model_name in (' ~ _quoted(names) ~ ')'
        ~ ' and since <= ' ~ since ~ ' and until >= ' ~ until) -%}
    {{ return(covered.rows | length > 0 and covered.rows[0][0] == names | length) }}
{%- endmacro %}


{#- The raw tables a node reads, through any number of models: a table whose history was
    rewritten (rows removed) rebuilds in full every model that reads it, and only those. -#}
{% macro _raw_tables_read(unique_id) -%}
    {%- set found = [] -%}
    {%- for node_id in _upstream_nodes(unique_id) if node_id in graph.sources
            and graph.sources[node_id].source_name == 'raw_data' -%}
        {%- do found.append(graph.sources[node_id].name) -%}
    {%- endfor -%}
    {{ return(found | sort) }}
{%- endmacro %}


{#- Every node (and source) upstream of a node, through any number of models. Asked by the
    load window, the settings fingerprint and the watermark post-hook of every incremental
    model: computed once per node and run (_node_cache). -#}
{% macro _upstream_nodes(unique_id) -%}
    {%- set cache = _node_cache() -%}
    {%- set cache_key = '_upstream_nodes_' ~ unique_id ~ '_' ~ invocation_id -%}
    {%- if cache.get(cache_key) is not none -%}{{ return(cache[cache_key]) }}{%- endif -%}
    {%- set seen = [] -%}
    {%- set queue = graph.nodes[unique_id].depends_on.nodes | list -%}
    {%- for _ in range(5000) if queue -%}
        {%- set node_id = queue.pop(0) -%}
        {%- if node_id not in seen -%}
            {%- do seen.append(node_id) -%}
            {%- if node_id in graph.nodes -%}
                {%- do queue.extend(graph.nodes[node_id].depends_on.nodes) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do cache.update({cache_key: seen}) -%}
    {{ return(seen) }}
{%- endmacro %}


{#- The incremental models a node reads, directly or through views and ephemeral models. -#}
{% macro _upstream_incremental_models(unique_id) -%}
    {%- set found = [] -%}
    {%- set seen = [] -%}
    {%- set queue = graph.nodes[unique_id].depends_on.nodes | list -%}
    {%- for _ in range(200) if queue -%}
        {%- set node_id = queue.pop(0) -%}
        {%- if node_id not in seen and node_id in graph.nodes -%}
            {%- do seen.append(node_id) -%}
            {%- set node = graph.nodes[node_id] -%}
            {%- if node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
                {%- do found.append(node_id) -%}
            {%- elif node.resource_type == 'model' -%}
                {%- do queue.extend(node.depends_on.nodes) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}


{#- post-hooks of every model (dbt_project.yml), inside the model's transaction; for an
    incremental model: record the load id it has now processed up to, then drop older
    records. Nothing for other models. -#}
{% macro insert_watermark() -%}
    {%- if not execute or model.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
    {%- set window = load_window() -%}
    insert into {{ load_state_relation('model_watermarks') }}
        (model_name, loaded_until, previous_loaded_until, was_full_rebuild, settings_fingerprint, run_id, recorded_at)
    select
        '{{ this }}',
        {{ window.until }},
        {{ 'cast(null as bigint)' if window.full else window.since }},
        {{ 'true' if window.full else 'false' }},
        '{{ results_settings_fingerprint() }}',
        {{ this_run_id() }},
        {{ dbt.current_timestamp() }}
{%- endmacro %}

{% macro prune_watermarks() -%}
    {%- if not execute or model.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
    {%- set watermarks = load_state_relation('model_watermarks') -%}
    delete from {{ watermarks }}
    where
        model_name = '{{ this }}'
        and run_id < (select max(newest.run_id) from {{ watermarks }} as newest where newest.model_name = '{{ this }}')
{%- endmacro %}


{#- The settings a model's rows depend on besides the raw rows (the vars that change results):
    a model built under other settings is rebuilt in full, so results are a function of the
    raw rows and the vars, whatever was built before. -#}
{% macro results_settings_fingerprint() -%}
    {%- set settings = {
        'attribution_lookback_days': var('attribution_lookback_days'),
        'attribution_half_life_days': var('attribution_half_life_days'),
        'raw_data_tables': var('raw_data_tables'),
        'code': _code_fingerprint(model.unique_id),
    } -%}
    {{ return(local_md5(tojson(settings, sort_keys=true))) }}
{%- endmacro %}


{#- Where a node keeps what it computed once in this run: its entry in `graph`, which its
    compilation and its execution share (each has a `model` mapping of its own); the keys
    carry the invocation id. Outside a node (a run-operation), a mapping of its own. -#}
{% macro _node_cache() -%}
    {%- if model is mapping and model.get('unique_id') in graph.nodes -%}{{ return(graph.nodes[model.unique_id]) }}{%- endif -%}
    {{ return(model if model is mapping else {}) }}
{%- endmacro %}


{#- The fingerprints of every node's last build (node_builds), computed once per node and
    run (_node_cache: the upstream nodes' rows it is read for are written before the node
    starts); none in a dry run. -#}
{% macro _stored_fingerprints() -%}
    {%- set cache = _node_cache() -%}
    {%- set cache_key = '_stored_fingerprints_' ~ invocation_id -%}
    {%- if cache.get(cache_key) is not none -%}{{ return(cache[cache_key]) }}{%- endif -%}
    {%- set found = {} -%}
    {%- if execute and load_state_exists() -%}
        {%- for row in run_query('select node_id, fingerprint from ' ~ load_state_relation('node_builds')).rows -%}
            {%- do found.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do cache.update({cache_key: found}) -%}
    {{ return(found) }}
{%- endmacro %}


{#- The code a model's rows are made by: its own SQL and config and those of every model
    upstream of it as last built, and the checksums of the seeds it reads. A change to any of them rebuilds
    it, and so everything downstream of a changed model, in full on the next build. (A change
    to a macro is not seen: `dbt build --full-refresh --select <model>+`.) -#}
{% macro _code_fingerprint(unique_id) -%}
    {%- if unique_id not in graph.nodes -%}{{ return('') }}{%- endif -%}
    {%- set stored = _stored_fingerprints() -%}
    {%- set parts = [] -%}
    {%- for node_id in [unique_id] + _upstream_nodes(unique_id) if node_id in graph.nodes -%}
        {%- set node = graph.nodes[node_id] -%}
        {%- if node_id != unique_id and node_id in stored -%}
            {#- an upstream node as it was last built (node_builds), not as its code is now:
                a model built while its changed parent was not yet rebuilt rebuilds in full
                once the parent is -#}
            {%- do parts.append(node_id ~ '=' ~ stored[node_id]) -%}
        {%- elif node.resource_type == 'seed' -%}
            {%- do parts.append(node_id ~ '=' ~ node.checksum.checksum) -%}
        {%- elif node.resource_type in ('model', 'snapshot') -%}
            {%- do parts.append(node_id ~ '=' ~ local_md5(node.raw_code ~ '|' ~ tojson(node.config, sort_keys=true))) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(parts | sort | join('|'))) }}
{%- endmacro %}


{#- pre- and post-hook: log the values of `column` (an expression; aggregated per `per`, a
    column list, when given) in the rows this run is about to replace (pre) or has written
    (post, `written=true`), that is the rows of the keys it rebuilds (meta rebuilt_by), under
    the window's end, in the model's transaction. A consumer rebuilt by these values
    (meta `rebuilt_by: [column, 'log:<model>', column]`) reads the entries inside its own
    window. A full rebuild logs every value, old and new. -#}
{% macro log_rebuilt_keys(column, written=false, per=none) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set window = load_window() -%}
    {#- before the write, a table that does not exist yet has nothing to log; after it, the
        table exists even where dbt's relation cache does not know it yet (its first build,
        or a rebuild after it was dropped): its rows are logged, so consumers rebuild -#}
    {%- if window.empty or (not written and load_relation(this) is none) -%}{{ return('') }}{%- endif -%}
insert into {{ load_state_relation('rebuilt_keys') }} (model_name, key_value, rebuilt_until, recorded_at)
select distinct
    '{{ this }}',
    cast(logged.key_value as varchar(64)),
    {{ window.until }},
    {{ dbt.current_timestamp() }}
from (
    select {{ column }} as key_value
    from {{ this }}
    {%- if is_incremental() %}
    where {{ in_rebuilt_keys(window) }}
    {%- endif %}
    {%- if per %}
    group by {{ per }}
    {%- endif %}
) as logged
where logged.key_value is not null
{%- endmacro %}
