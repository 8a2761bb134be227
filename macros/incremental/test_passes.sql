{#-
    Tests over unchanged inputs are not run again. A data test's result is a function of its
    compiled SQL, its config and the rows it reads; the project's `test` materialization keys
    a test by all three (the rows through the same tokens the `table` and `view`
    materializations compare, model_versions.sql) and, when the same key passed before,
    reports the pass again without querying the tables. Only passes are reused: a failing or
    warning test runs every time.

    What the rows are read from: the nodes the test depends on (through ephemeral models),
    and every model whose relation its compiled SQL names (a scoped test reads the base
    layer's rebuilt keys, model_watermarks are literals in its SQL). A model's token changes
    whenever its rows may have; a seed's is its file checksum; a raw table's is this run's
    count and cutoff (load_checkpoints: raw tables are only ever loaded, and anything else,
    such as a delete, changes the count). Anything else (a snapshot, a source outside
    raw_data, a model never built since this was deployed, a relation named other than as
    ref() and source() render it, the clock read in the test or a view it reads) makes the
    test run. Tokens change with what dbt writes; the key also holds, for every relation
    read (through views too), what the server counts of writes to it by anyone and a view's
    definition (relations_written_sql), so a mart, view or raw table edited by hand runs its
    tests again. On Redshift, which has no such counts for a build's user to read, nothing is
    reused. The key holds dbt's version too (the SQL around a test's is dbt's). Only a pass
    with no failing row is recorded (not one under a warn_if or error_if threshold).

    Every test runs with `--vars '{test_scope: full}'`, `--full-refresh` or `store_failures`
    (the passes of the first two are recorded for later runs).

    Unit tests read no table: their result is a function of their compiled SQL (the model's,
    over the fixtures' rows) and their config (the expected rows). The project's `unit`
    materialization keys them by those two alone, and reuses a pass the same way, where the SQL
    names no relation and reads no clock (an incremental model's unit test without a `this`
    fixture reads the real table: it runs every time). Also PostgreSQL only, so that a
    Redshift build sends what dbt's own would.
-#}
{%- materialization test, default -%}
    {%- set state = test_pass_state() -%}
    {%- if state.reusable -%}
        {{ log('Reusing the pass of ' ~ model.unique_id ~ ': its SQL and inputs are those it passed with', info=false) }}
        {#- the pass as dbt reads a test's result (failures 0, no warning, no error), from the
            state query's own columns: no query more -#}
        {%- do store_result('main', response=state.response,
            agate_table=state.table.select(['failures', 'should_warn', 'should_error']).limit(1)) -%}
        {{ return({'relations': []}) }}
    {%- endif -%}
    {%- set result = dbt.materialization_test_default() -%}
    {%- if state.version is not none -%}
        {%- do record_test_pass(state.version) -%}
    {%- endif -%}
    {{ return(result) }}
{%- endmaterialization -%}


{%- materialization unit, default -%}
    {%- set state = unit_test_pass_state() -%}
    {%- if state.reusable -%}
        {{ log('Reusing the pass of ' ~ model.unique_id ~ ': its SQL and expected rows are those it passed with', info=false) }}
        {#- no row, actual or expected: nothing differs (the state query's column, no query more) -#}
        {%- do store_result('main', response=state.response,
            agate_table=state.table.select(['actual_or_expected']).limit(0)) -%}
        {{ return({'relations': []}) }}
    {%- endif -%}
    {%- set result = dbt.materialization_unit_default() -%}
    {%- if state.version is not none and unit_test_passed() -%}
        {%- do store_test_pass(state.version) -%}
    {%- endif -%}
    {{ return(result) }}
{%- endmaterialization -%}


{#- The current unit test's {'version', 'reusable'}, as test_pass_state: its key is its SQL and
    config; none where it names a relation (a real table, such as `this` without a fixture),
    reads the clock, or the adapter is not PostgreSQL. -#}
{% macro unit_test_pass_state() -%}
    {%- set none_state = {'version': none, 'reusable': false} -%}
    {%- if not execute or relations_written_sql([]) is none or _reads_clock(sql)
            or _names_unknown_relation(sql) or modules.re.search('"[^"]+"[.]"[^"]+"[.]"[^"]+"', sql) -%}
        {{ return(none_state) }}
    {%- endif -%}
    {%- set version = local_md5([model.unique_id, dbt_version, sql, tojson(model.config, sort_keys=true)] | join('|')) -%}
    {%- call statement('unit_test_pass_state', fetch_result=true, auto_begin=false) -%}
        select max(version) as version, cast('reused' as varchar(8)) as actual_or_expected
        from {{ load_state_relation('test_passes') }}
        where test_name = {{ _sql_string(model.unique_id) }}
    {%- endcall -%}
    {%- set found = load_result('unit_test_pass_state') -%}
    {%- set stored = found.table.columns[0].values() -%}
    {{ return({'version': version, 'reusable': _passes_may_be_reused() and stored and stored[0] == version,
               'table': found.table, 'response': found.response}) }}
{%- endmacro %}


{#- Whether the unit test just run found its actual rows equal to the expected ones, as a
    multiset of rows (dbt then compares them again, and fails the test where they differ). -#}
{% macro unit_test_passed() -%}
    {%- set result = load_result('main') -%}
    {%- if result is none or result.table is none -%}{{ return(false) }}{%- endif -%}
    {%- set table = result.table -%}
    {%- set names = table.column_names | map('lower') | list -%}
    {%- if 'actual_or_expected' not in names -%}{{ return(false) }}{%- endif -%}
    {%- set side = names.index('actual_or_expected') -%}
    {%- set rows = {'actual': [], 'expected': []} -%}
    {%- for row in table.rows -%}
        {%- set cells = [] -%}
        {%- for value in row -%}
            {%- if loop.index0 != side -%}{%- do cells.append('null' if value is none else tojson(value | string)) -%}{%- endif -%}
        {%- endfor -%}
        {%- if row[side] not in rows -%}{{ return(false) }}{%- endif -%}
        {%- do rows[row[side]].append(cells | join(',')) -%}
    {%- endfor -%}
    {{ return((rows.actual | sort) == (rows.expected | sort)) }}
{%- endmacro %}


{#- {'version', 'reusable'}: the current test's key (none where no pass may be recorded) and
    whether the same key passed before. -#}
{% macro test_pass_state() -%}
    {%- set none_state = {'version': none, 'reusable': false} -%}
    {%- if not execute or should_store_failures() -%}{{ return(none_state) }}{%- endif -%}
    {%- set inputs = _test_inputs() -%}
    {%- if inputs is none -%}{{ return(none_state) }}{%- endif -%}
    {%- set names = {'model': inputs.models, 'raw': inputs.raw_tables, 'written': inputs.tables} -%}
    {%- set queries = [] -%}
    {%- if inputs.models -%}
        {%- do queries.append("select 'model' as kind, model_name as name, max(version) as version from "
            ~ load_state_relation('model_versions') ~ ' where model_name in (' ~ _quoted(inputs.models)
            ~ ') group by model_name') -%}
    {%- endif -%}
    {%- if inputs.raw_tables -%}
        {%- do queries.append("select 'raw' as kind, raw_table as name, max("
            ~ dbt.concat([dbt.cast('raw_rows', dbt.type_string()), "'@'", dbt.cast('cutoff', dbt.type_string())])
            ~ ') as version from ' ~ load_state_relation('load_checkpoints')
            ~ " where invocation_id = " ~ _sql_string(invocation_id) ~ " and raw_table in (" ~ _quoted(inputs.raw_tables)
            ~ ') group by raw_table') -%}
    {%- endif -%}
    {%- set written = relations_written_sql(inputs.tables) -%}
    {%- if written is none -%}{{ return(none_state) }}{%- endif -%}
    {%- do queries.append(written) -%}
    {%- do queries.append("select 'pass' as kind, test_name as name, max(version) as version from "
        ~ load_state_relation('test_passes') ~ " where test_name = " ~ _sql_string(model.unique_id) ~ " group by test_name") -%}
    {%- set found = {'model': {}, 'raw': {}, 'written': {}, 'pass': {}} -%}
    {#- the constant columns are a pass's result, which a reused pass stores as the test's -#}
    {%- call statement('test_pass_state', fetch_result=true, auto_begin=false) -%}
        select kind, name, version, 0 as failures, false as should_warn, false as should_error
        from ({{ queries | join(' union all ') }}) as test_inputs
    {%- endcall -%}
    {%- set loaded = load_result('test_pass_state') -%}
    {%- for row in loaded.table.rows -%}
        {%- do found[row[0]].update({row[1]: row[2]}) -%}
    {%- endfor -%}
    {%- set parts = inputs.parts -%}
    {%- for kind in ['model', 'raw', 'written'] -%}
        {%- for name in names[kind] -%}
            {%- if name not in found[kind] -%}{{ return(none_state) }}{%- endif -%}
            {%- do parts.append(kind ~ ':' ~ name ~ '=' ~ found[kind][name]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- the scope of what the last builds rebuilt is left out (rebuilt_keys_filter): the
        tokens of the models it reads change with it -#}
    {%- set own = [dbt_version, _without_test_scopes(sql), tojson(model.config, sort_keys=true)] -%}
    {%- set version = local_md5((own + parts | sort) | join('|')) -%}
    {{ return({'version': version, 'reusable': _passes_may_be_reused() and found['pass'].get(model.unique_id) == version,
               'table': loaded.table, 'response': loaded.response}) }}
{%- endmacro %}


{#- {'models': relation names with a token, 'raw_tables': raw table names, 'tables': the
    tables whose rows it reads (through views too), 'parts': seed checksums}, or none when
    the test reads something without a token, names a relation unquoted (not through ref
    or source: what it reads is unknown) or asks for the time (its result may change with
    the clock alone). The relations its compiled SQL names are found in its text (dbt renders each as "database"."schema"."name"):
    a model's, or one of the load-state tables (read through literals the SQL holds). -#}
{% macro _test_inputs() -%}
    {%- set models = [] -%}
    {%- set tables = [] -%}
    {%- set raw_tables = [] -%}
    {%- set parts = [] -%}
    {%- set read_otherwise = [] -%}
    {%- set state_schema = '"' ~ target.database ~ '"."' ~ generate_schema_name('staging', none) ~ '"."' -%}
    {%- for name in load_state_tables() -%}
        {%- do read_otherwise.append(state_schema ~ name ~ '"') -%}
    {%- endfor -%}
    {%- if _reads_clock(sql) or _names_unknown_relation(sql) -%}{{ return(none) }}{%- endif -%}
    {%- set inputs = _version_inputs(model.unique_id) -%}
    {%- for node_id in inputs -%}
        {%- set node = graph.nodes.get(node_id) -%}
        {%- set source = graph.sources.get(node_id) -%}
        {%- if source is not none and source.source_name == 'raw_data' -%}
            {%- do raw_tables.append(source.name) -%}
            {%- do read_otherwise.append(_node_relation_name(source)) -%}
        {%- elif node is none or node.resource_type not in ('model', 'seed') -%}
            {{ return(none) }}
        {%- elif node.resource_type == 'seed' -%}
            {%- do parts.append(node_id ~ '=' ~ node.checksum.checksum) -%}
            {%- do read_otherwise.append(_node_relation_name(node)) -%}
        {%- else -%}
            {%- do models.append(_node_relation_name(node)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in modules.re.findall('"[^"]+"[.]"[^"]+"[.]"[^"]+"', _without_test_scopes(sql)) | unique
            if name not in models and name not in read_otherwise -%}
        {%- do models.append(name) -%}
        {%- do tables.append(name) -%}
    {%- endfor -%}
    {%- set read = _tables_read(inputs) -%}
    {%- if read is none -%}{{ return(none) }}{%- endif -%}
    {%- do tables.extend(read) -%}
    {%- do tables.extend(models) -%}
    {{ return({'models': models, 'raw_tables': raw_tables, 'tables': tables | unique | list, 'parts': parts}) }}
{%- endmacro %}


{#- The relations (tables of models, seeds and sources, and the views between) whose rows
    the given nodes' rows are, through views and ephemeral models; none where a view or
    ephemeral model on the way reads the clock, or the walk does not end. -#}
{% macro _tables_read(node_ids) -%}
    {%- set found = [] -%}
    {%- set seen = [] -%}
    {%- set queue = node_ids | list -%}
    {%- for _ in range(1000) if queue -%}
        {%- set node_id = queue.pop(0) -%}
        {%- set node = graph.nodes.get(node_id) or graph.sources.get(node_id) -%}
        {%- if node is not none and node_id not in seen -%}
            {%- do seen.append(node_id) -%}
            {%- set through = node.resource_type == 'model' and node.config.materialized in ('view', 'ephemeral') -%}
            {%- if through and _reads_clock(node.raw_code) -%}{{ return(none) }}{%- endif -%}
            {%- if through -%}{%- do queue.extend(node.depends_on.nodes) -%}{%- endif -%}
            {%- if node.config.materialized != 'ephemeral' -%}
                {%- do found.append(_node_relation_name(node)) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if queue -%}{{ return(none) }}{%- endif -%}
    {{ return(found | unique | list) }}
{%- endmacro %}


{#- "database"."schema"."name" of a model, seed or source, as dbt renders its relation. -#}
{% macro _node_relation_name(node) -%}
    {%- set name = node.identifier if node.resource_type == 'source' else node.alias -%}
    {{ return('"' ~ node.database ~ '"."' ~ node.schema ~ '"."' ~ name ~ '"') }}
{%- endmacro %}


{#- SQL without the scopes rebuilt_keys_filter marks (what the last builds rebuilt, and the
    relations read to find it): a test's key leaves them out, since the tokens of the models
    it reads change whenever their last build, and so the scope, changes. -#}
{% macro _without_test_scopes(text) -%}
    {{ return(modules.re.sub('(?s)/[*] test scope [*]/.*?/[*] end of test scope [*]/', '(scope)', text)) }}
{%- endmacro %}


{#- Whether a recorded pass may be reported again: not in a run that asks for every test. -#}
{% macro _passes_may_be_reused() -%}
    {{ return(var('test_scope', 'changed') != 'full' and not flags.FULL_REFRESH) }}
{%- endmacro %}


{#- Whether SQL (or a model's code), comments aside, may read the clock: then its result may
    change with time alone, and no pass is reused. -#}
{% macro _reads_clock(text) -%}
    {%- set code = modules.re.sub('(?s)[{]#.*?#[}]|--[^\\n]*|/[*].*?[*]/', ' ', text or '') -%}
    {{ return(modules.re.search("(?i)\\b(current_date|current_time|current_timestamp|localtime|localtimestamp"
        ~ "|getdate|sysdate|now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday"
        ~ "|random)\\b|'(now|today|tomorrow|yesterday)'", code) is not none) }}
{%- endmacro %}


{#- Whether SQL names a relation other than as dbt renders ref() and source(),
    "database"."schema"."name": unquoted after from or join, or quoted in two parts. What it
    reads is then unknown, and no pass is reused. -#}
{% macro _names_unknown_relation(text) -%}
    {{ return(modules.re.search('(?i)[^a-z0-9_"](from|join)\\s+[a-z_][a-z0-9_$]*\\s*[.]', text) is not none
        or modules.re.search('(?i)[^a-z0-9_"](from|join)\\s+"[^"]+"\\s*[.]\\s*"[^"]+"(?!\\s*[.])', text) is not none) }}
{%- endmacro %}


{#-
    A select of (kind 'written', name, fingerprint) for each of the given tables: what changes
    whenever a table's rows are written by anyone, dbt or not (a mart edited by hand, rows
    deleted from a raw table), so a pass over rows edited since is not reused. On PostgreSQL:
    the relation's oid and file (dropped and made again, rebuilt, truncated), a view's
    definition, and a table's insert, update and delete counts, under the server's start time
    and the database's last statistics reset (either resets the counts). Redshift keeps no
    such counts a build's user can read: none, and there every test runs.
-#}
{% macro relations_written_sql(tables) -%}
    {{ return(adapter.dispatch('relations_written_sql')(tables)) }}
{%- endmacro %}

{% macro default__relations_written_sql(tables) -%}
    {{ return(none) }}
{%- endmacro %}

{#- dbt-redshift inherits from dbt-postgres: without this, dispatch would take postgres__. -#}
{% macro redshift__relations_written_sql(tables) -%}
    {{ return(default__relations_written_sql(tables)) }}
{%- endmacro %}

{% macro postgres__relations_written_sql(tables) -%}
    {%- set rows = [] -%}
    {%- for name in tables -%}
        {%- do rows.append('select ' ~ _sql_string(name) ~ ' as name, ' ~ _sql_string(name.split('.', 1)[1]) ~ ' as local_name') -%}
    {%- endfor -%}
    {%- set query -%}
        select
            'written' as kind,
            tables_read.name,
            cast(pg_postmaster_start_time() as varchar) || '/' || coalesce(cast(databases.stats_reset as varchar), '')
                || '/' || cast(tables.oid as varchar) || '/' || cast(tables.relfilenode as varchar)
                || '/' || coalesce(cast(stats.n_tup_ins as varchar), '') || '/' || coalesce(cast(stats.n_tup_upd as varchar), '')
                || '/' || coalesce(cast(stats.n_tup_del as varchar), '')
                || '/' || case when tables.relkind = 'v' then md5(pg_get_viewdef(tables.oid)) else '' end as version
        from ({{ rows | join(' union all ') if rows else "select '' as name, '' as local_name where 1 = 0" }}) as tables_read
        inner join pg_class as tables on tables.oid = to_regclass(tables_read.local_name)
        left join pg_stat_all_tables as stats on stats.relid = tables.oid
        left join pg_stat_database as databases on databases.datname = current_database()
    {%- endset -%}
    {{ return(query) }}
{%- endmacro %}


{#-
    Post-hook of every model: publish this session's write counts as the transaction commits.
    PostgreSQL hands a session's counts to pg_stat_all_tables at most once a second, so a test
    starting right after its model could key its pass by counts that miss the model's last
    write, and the next build, seeing them, would run it again. pg_stat_force_next_flush
    (PostgreSQL 15+; superusers, or a grant) publishes them before the COMMIT returns.
    Nothing elsewhere, or where the function is missing or not granted: a test then runs once
    more than it must.
-#}
{% macro publish_write_counts() -%}
    {{ return(adapter.dispatch('publish_write_counts')()) }}
{%- endmacro %}

{% macro default__publish_write_counts() -%}
    {{ return('') }}
{%- endmacro %}

{#- dbt-redshift inherits from dbt-postgres: without this, dispatch would take postgres__. -#}
{% macro redshift__publish_write_counts() -%}
    {{ return(default__publish_write_counts()) }}
{%- endmacro %}

{% macro postgres__publish_write_counts() -%}
    {%- if not execute or model.config.materialized in ('view', 'ephemeral') -%}{{ return('') }}{%- endif -%}
    {#- one statement: the privilege is checked where the function is called (plpgsql plans the
        call only when it runs, so a server without the function is no error) -#}
    {{ return("do $publish$ begin if coalesce(has_function_privilege(to_regprocedure("
        ~ "'pg_catalog.pg_stat_force_next_flush()'), 'execute'), false) then "
        ~ "perform pg_stat_force_next_flush(); end if; end $publish$") }}
{%- endmacro %}


{% macro _quoted(names) -%}
    {%- set quoted = [] -%}
    {%- for name in names -%}{%- do quoted.append(_sql_string(name)) -%}{%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}


{#- value as an SQL string literal (a unit test's name may hold a quote). -#}
{% macro _sql_string(value) -%}
    {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{%- endmacro %}


{#- After the test ran: where it passed with no failing row (no warning, no error, and not
    under a warn_if or error_if threshold: the reused pass reports 0), store its key. -#}
{% macro record_test_pass(version) -%}
    {%- set result = load_result('main') -%}
    {%- if result is none or result.table is none or result.table.rows | length != 1 -%}{{ return('') }}{%- endif -%}
    {%- set row = result.table.rows[0] -%}
    {%- if row['should_warn'] or row['should_error'] or row['failures'] != 0 -%}{{ return('') }}{%- endif -%}
    {%- do store_test_pass(version) -%}
{%- endmacro %}


{#- Store the current test's key as the one it last passed with. -#}
{% macro store_test_pass(version) -%}
    {%- set passes = load_state_relation('test_passes') -%}
    {%- if model.unique_id | length > 512 -%}{{ return('') }}{%- endif -%}
    {#- one round trip: the two statements are sent together -#}
    {%- do run_query('delete from ' ~ passes ~ ' where test_name = ' ~ _sql_string(model.unique_id) ~ '; '
        ~ 'insert into ' ~ passes ~ ' (test_name, version, recorded_at) values ('
        ~ _sql_string(model.unique_id) ~ ', ' ~ _sql_string(version) ~ ', ' ~ dbt.current_timestamp() ~ ')') -%}
    {%- do adapter.commit() -%}
{%- endmacro %}
