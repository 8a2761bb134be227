{#-
    What `warehouse build` (the scheduled build) selects by: per model, seed and snapshot, the
    run that last built it, the load id it had then processed up to and the fingerprint of
    its code, in staging.node_builds (written by the post-hook record_node_build, in the
    node's own transaction, so a failed or killed build records nothing); per data test, its
    last result and fingerprint (test_results, build_runs.sql). dbt's materializations build
    every node they are given; what has nothing new is simply not selected
    (warehouse/scheduled.py, docs/incremental.md).
-#}

{#- The vars a node's rows depend on: a change of any re-selects every node. -#}
{% macro results_vars() -%}
    {{ return(['raw_data_tables', 'attribution_lookback_days', 'attribution_half_life_days',
               'markov_max_channels', 'quality_rate_jump_threshold', 'anomaly_baseline_weeks',
               'anomaly_threshold', 'anomaly_min_count', 'calendar_start_date',
               'path_max_steps']) }}
{%- endmacro %}


{#- A node's code fingerprint: its SQL, its config, a seed's file checksum and the vars that
    change results. (A change to a macro alone is not seen: `dbt build --select <model>+`; a
    changed description reaches the warehouse's comments with the model's next build.) -#}
{% macro node_fingerprint(node) -%}
    {%- set settings = {} -%}
    {%- for name in results_vars() -%}{%- do settings.update({name: var(name, none)}) -%}{%- endfor -%}
    {%- set parts = [node.raw_code or '', tojson(node.config, sort_keys=true), tojson(settings, sort_keys=true)] -%}
    {%- if node.resource_type == 'seed' -%}{%- do parts.append(node.checksum.checksum) -%}{%- endif -%}
    {{ return(local_md5(parts | join('|'))) }}
{%- endmacro %}


{#- Whether SQL reads the clock (comments aside): its rows may change from one run to the
    next, so the scheduled build selects it every time. -#}
{% macro _reads_clock(text) -%}
    {%- set code = modules.re.sub('--[^\n]*|/[*].*?[*]/', ' ', text or '', flags=modules.re.S) -%}
    {{ return(modules.re.search('\\b(current_date|current_time|current_timestamp|localtime|localtimestamp|now|getdate|sysdate|timeofday|clock_timestamp|statement_timestamp|transaction_timestamp)\\b', code, flags=modules.re.I) is not none) }}
{%- endmacro %}


{#- post-hook of every model, seed and snapshot (dbt_project.yml), in its transaction. A build
    with `--empty` (no rows read) forgets the node's build instead, so the next scheduled
    build selects it. -#}
{% macro record_node_build() -%}
    {%- if not execute or model.unique_id not in graph.nodes or not load_state_exists() -%}{{ return('') }}{%- endif -%}
    {%- set builds = load_state_relation('node_builds') -%}
    {%- if invocation_args_dict.get('empty') -%}
        {{ return('delete from ' ~ builds ~ ' where node_id = ' ~ _sql_string(model.unique_id)) }}
    {%- endif -%}
    {%- set node = _sql_string(model.unique_id) -%}
    {#- an incremental model's last full rebuild: its readers rebuild in full after it -#}
    {%- set full_run = '(select max(full_run) from ' ~ builds ~ ' where node_id = ' ~ node ~ ')' -%}
    {%- if model.resource_type == 'model' and model.config.materialized == 'incremental' -%}
        {%- set until = load_window().until -%}
        {%- set full_run = this_run_id() if load_window().full else full_run -%}
    {%- else -%}
        {%- set until = '(select max(cutoff) from ' ~ load_state_relation('load_checkpoints')
            ~ ' where invocation_id = ' ~ _sql_string(invocation_id) ~ ')' -%}
    {%- endif %}
    insert into {{ builds }} (node_id, fingerprint, run_id, loaded_until, full_run, recorded_at)
    select {{ node }}, {{ _sql_string(node_fingerprint(graph.nodes[model.unique_id])) }},
        {{ this_run_id() }}, {{ until }}, {{ full_run }}, {{ dbt.current_timestamp() }};
    delete from {{ builds }} where node_id = {{ node }} and run_id <> {{ this_run_id() }}
{%- endmacro %}


{#- run-operation of `warehouse build`: everything it selects by, as one JSON line on stdout
    (prefixed `scheduled_build_state: `): the project's nodes and their edges, the recorded
    builds, test results, the raw tables' loads and rewrites, and the relations that exist. -#}
{% macro scheduled_build_state() -%}
    {%- set nodes = {} -%}
    {%- set schemas = [] -%}
    {%- for node_id, node in graph.nodes.items() if node.resource_type in ('model', 'seed', 'snapshot', 'test')
            and node.package_name == project_name -%}
        {%- do nodes.update({node_id: {
            'name': node.name, 'type': node.resource_type,
            'materialized': node.config.materialized,
            'relation': (node.schema ~ '.' ~ (node.alias or node.name)) | lower,
            'parents': (node.get('depends_on') or {}).get('nodes') or [],
            'fingerprint': node_fingerprint(node),
            'reads_clock': _reads_clock(node.raw_code) if node.resource_type != 'test' else false,
        }}) -%}
        {%- if node.resource_type != 'test' and node.schema not in schemas -%}{%- do schemas.append(node.schema) -%}{%- endif -%}
    {%- endfor -%}
    {%- set sources = {} -%}
    {%- for source_id, source in graph.sources.items() -%}
        {%- do sources.update({source_id: source.source_name ~ '.' ~ source.name}) -%}
    {%- endfor -%}
    {%- set relations = [] -%}
    {%- for schema in schemas -%}
        {%- set schema_relation = api.Relation.create(database=target.database, schema=schema) -%}
        {%- if adapter.check_schema_exists(target.database, schema) -%}
            {%- for row in list_relations_without_caching(schema_relation).rows -%}
                {%- do relations.append((row['schema'] ~ '.' ~ row['name']) | lower) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set state = {'nodes': nodes, 'sources': sources, 'relations': relations,
                     'builds': {}, 'tests': {}, 'raw_tables': {},
                     'missing_raw_tables': _missing_raw_tables(also=['_loads'])} -%}
    {%- if load_state_exists() and execute -%}
        {%- for row in run_query('select node_id, fingerprint, run_id, loaded_until from '
                ~ load_state_relation('node_builds')).rows -%}
            {%- do state.builds.update({row[0]: {'fingerprint': row[1], 'run_id': row[2] | int,
                                                 'loaded_until': row[3] | int if row[3] is not none else none}}) -%}
        {%- endfor -%}
        {%- for row in run_query('select test_name, status, fingerprint, run_id, started_run from '
                ~ load_state_relation('test_results')).rows -%}
            {#- started in a later run than its result: that run never recorded one (killed) -#}
            {%- do state.tests.update({row[0]: {
                'status': 'killed' if row[4] is not none and row[3] is not none and row[4] > row[3] else row[1],
                'fingerprint': row[2]}}) -%}
        {%- endfor -%}
        {%- if not state.missing_raw_tables -%}
            {%- set checkpoints = load_state_relation('load_checkpoints') -%}
            {%- set states = keep_read_states() -%}
            {%- set query -%}
                with states as ({{ states if states else raw_table_states() }})
                select
                    states.raw_table,
                    states.newest,
                    states.history_rewritten,
                    {#- the newest load that added rows to it, of those a run now would process -#}
                    (select max(loads.load_id) from {{ loads_relation() }} as loads
                     where loads.raw_table = states.raw_table and loads.rows_added > 0
                         and loads.load_id <= (select max(newest) from states)) as changed_load,
                    (select max(run_id) from {{ checkpoints }} as checkpoints
                     where checkpoints.raw_table = states.raw_table and checkpoints.history_rewritten) as rewritten_run
                from states
            {%- endset -%}
            {%- for row in run_query(query).rows -%}
                {%- do state.raw_tables.update({'raw_data.' ~ row[0]: {
                    'newest': row[1] | int if row[1] is not none else none,
                    'rewritten_now': true if row[2] else false,
                    'changed_load': row[3] | int if row[3] is not none else none,
                    'rewritten_run': row[4] | int if row[4] is not none else none}}) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    {%- do print('scheduled_build_state: ' ~ tojson(state)) -%}
{%- endmacro %}


{#- In `warehouse build` (its token set): read the raw tables' states once, keep them in
    read_states for the build's checkpoint (load_state.sql: scheduled_states), and return a
    select of them; '' elsewhere (then the caller reads raw_table_states itself). The rows of
    earlier tokens go: a build that finds its own gone reads the raw rows again. -#}
{% macro keep_read_states() -%}
    {%- set read = scheduled_read_states() -%}
    {%- if read is none -%}{{ return('') }}{%- endif -%}
    {%- set keep -%}
        delete from {{ read }};
        insert into {{ read }} (token, previous_run, loads_seen, raw_table, raw_rows, newest, raw_checksum, history_rewritten, recorded_at)
        select
            {{ _sql_string(scheduled_build_token()) }},
            (select max(run_id) from {{ load_state_relation('load_checkpoints') }}),
            (select max(load_id) from {{ loads_relation() }}),
            states.raw_table,
            states.raw_rows,
            states.newest,
            states.raw_checksum,
            states.history_rewritten,
            {{ dbt.current_timestamp() }}
        from ({{ raw_table_states() }}) as states
    {%- endset -%}
    {%- do run_query(keep) -%}
    {%- do adapter.commit() -%}
    {{ return(kept_read_states(read)) }}
{%- endmacro %}
