{#-
    Which rows a build wrote, and which tests passed over them.

    - build_runs: one row per dbt invocation that runs hooks (build, run, test, retry, ...),
      numbered 1, 2, 3, ... by the on-run-start hook `record_build_run` (the run lock makes
      the numbers follow the order of the runs). An incremental model that carries the column
      `_written_by_run` stamps every row it writes with its run's number (`this_run_id()`).
    - test_results: per data test, its last result (status, failures) and the run that
      produced it, written by the on-run-end hook `record_test_results` (not after a build
      with `--empty`, whose tests read no rows).

    The tests named `*_in_new_rows` (tests/generic/) read the rows written since their last
    pass (`written_since_last_pass`): a test whose last result was not a pass (a failure, an
    error, a warning, a skip) or that never ran reads the whole relation, so a retry never
    hides a failure. `--vars '{test_scope: full}'` makes them read the whole relation too.
-#}

{#- on-run-start: this invocation's run number, the next after the last. -#}
{% macro record_build_run() -%}
    {%- if not load_state_hooks_run() -%}{{ return('') }}{%- endif -%}
    {%- set runs = load_state_relation('build_runs') -%}
insert into {{ runs }} (run_id, invocation_id, started_at)
select coalesce(max(run_id), 0) + 1, {{ _sql_string(invocation_id) }}, {{ dbt.current_timestamp() }}
from {{ runs }}
{%- endmacro %}


{#- on-run-start, after the run is numbered: mark the data tests this run selected as started,
    so a test whose result never gets recorded (the build killed before its on-run-end hook)
    is selected again by the next `warehouse build`. -#}
{% macro mark_tests_started() -%}
    {#- not with --empty, whose results are not recorded either -#}
    {%- if not load_state_hooks_run() or invocation_args_dict.get('empty') -%}{{ return('') }}{%- endif -%}
    {%- set names = [] -%}
    {%- for node_id in selected_resources if node_id in graph.nodes and graph.nodes[node_id].resource_type == 'test' -%}
        {%- do names.append(graph.nodes[node_id].alias) -%}
    {%- endfor -%}
    {%- if not names -%}{{ return('') }}{%- endif -%}
update {{ load_state_relation('test_results') }}
set started_run = {{ this_run_id() }}
where test_name in ({{ _quoted(names) }})
{%- endmacro %}


{#- This invocation's run number, as an SQL expression (a model's `_written_by_run`). -#}
{% macro this_run_id() -%}
    {{ return('cast((select max(run_id) from ' ~ load_state_relation('build_runs')
        ~ ' where invocation_id = ' ~ _sql_string(invocation_id) ~ ') as integer)') }}
{%- endmacro %}


{#- on-run-end: every data test's result, replacing the one before (one insert of selects of
    literals: Redshift takes no subquery inside VALUES). -#}
{% macro record_test_results(results) -%}
    {%- if not execute or invocation_args_dict.get('empty') -%}{{ return('') }}{%- endif -%}
    {%- set rows = [] -%}
    {%- set names = [] -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- set passed = result.status == 'pass' and (result.failures or 0) == 0 -%}
        {%- do names.append(result.node.alias) -%}
        {%- do rows.append('select ' ~ _sql_string(result.node.alias) ~ ' as test_name, '
            ~ _sql_string('pass' if passed else result.status) ~ ' as status, '
            ~ 'cast(' ~ (result.failures if result.failures is not none else 'null') ~ ' as bigint) as failures, '
            ~ _sql_string(node_fingerprint(graph.nodes[result.node.unique_id]) if result.node.unique_id in graph.nodes else '')
            ~ ' as fingerprint') -%}
    {%- endfor -%}
    {%- set results_table = load_state_relation('test_results') -%}
    {#- none before the first run's on-run-start hook made it (one refused by the run lock) -#}
    {%- if not rows or adapter.get_relation(database=results_table.database, schema=results_table.schema,
                                            identifier=results_table.identifier) is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- do run_query('delete from ' ~ results_table ~ ' where test_name in (' ~ _quoted(names) ~ ')') -%}
insert into {{ results_table }} (test_name, status, failures, fingerprint, run_id, started_run, recorded_at)
select tested.test_name, tested.status, tested.failures, tested.fingerprint, {{ this_run_id() }}, {{ this_run_id() }}, {{ dbt.current_timestamp() }}
from (
    {{ rows | join('\n    union all ') }}
) as tested
{% endmacro %}


{#-
    The predicate of a test named `*_in_new_rows`: the rows whose `written_by_run` column is
    newer than the run in which this test last passed; every row when it has not passed
    (its last result was something else, or it never ran) or with `test_scope: full`.
-#}
{% macro written_since_last_pass(written_by_run) -%}
    {%- if _test_scope() == 'full' or not execute -%}{{ return('(1 = 1)') }}{%- endif -%}
    {{ return('(' ~ written_by_run ~ ' > coalesce((select max(run_id) from '
        ~ load_state_relation('test_results') ~ ' where test_name = ' ~ _sql_string(this.identifier)
        ~ " and status = 'pass'), 0))") }}
{%- endmacro %}


{#-
    For a reconciliation named `*_in_new_rows` (tests/assert_*_in_new_rows.sql): true when it
    may read only the keys this run changed (the rows of the changed-key models it names, which
    this run built), false when it must read every row. It reads only this run's keys when its
    last result was a pass in the run just before this one (nothing since was left untested),
    every model in `changed_models` was built by this run and none in `compared_models` was
    rebuilt in full by it. Otherwise (a failure or a skip before, another run in between, a
    test run alone, `--empty`, `test_scope: full`, a full rebuild) it reads every row. One
    query, at execution.
-#}
{% macro reads_only_this_runs_changes(changed_models, compared_models=[]) -%}
    {%- if _test_scope() == 'full' or not execute or invocation_args_dict.get('empty') or not load_state_exists() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set builds = load_state_relation('node_builds') -%}
    {%- set this_run = this_run_id() -%}
    {%- set changed_ids = [] -%}
    {%- for name in changed_models -%}{%- do changed_ids.append('model.' ~ project_name ~ '.' ~ name) -%}{%- endfor -%}
    {%- set compared_ids = [] -%}
    {%- for name in compared_models -%}{%- do compared_ids.append('model.' ~ project_name ~ '.' ~ name) -%}{%- endfor -%}
    {%- set decided = run_query(
        'select case when exists (select 1 from ' ~ load_state_relation('test_results')
        ~ ' where test_name = ' ~ _sql_string(this.identifier) ~ " and status = 'pass'"
        ~ ' and run_id = (select max(run_id) from ' ~ load_state_relation('build_runs')
        ~ ' where run_id < ' ~ this_run ~ '))'
        ~ ' and (select count(distinct node_id) from ' ~ builds ~ ' where node_id in ('
        ~ _quoted(changed_ids) ~ ') and run_id = ' ~ this_run ~ ') = ' ~ (changed_ids | length)
        ~ (' and not exists (select 1 from ' ~ builds ~ ' where node_id in (' ~ _quoted(compared_ids)
           ~ ') and full_run = ' ~ this_run ~ ')' if compared_ids else '')
        ~ ' then 1 else 0 end as scoped') -%}
    {{ return(decided.rows | length == 1 and decided.columns[0].values()[0] == 1) }}
{%- endmacro %}


{#- The var test_scope: 'new_rows' (the default) or 'full'; anything else is an error. -#}
{% macro _test_scope() -%}
    {%- set scope = var('test_scope', 'new_rows') -%}
    {%- if scope not in ('new_rows', 'full') -%}
        {{ exceptions.raise_compiler_error("var test_scope must be 'new_rows' (the default: tests named *_in_new_rows read the rows written since they last passed) or 'full' (every test reads every row), got '" ~ scope ~ "'") }}
    {%- endif -%}
    {{ return(scope) }}
{%- endmacro %}
