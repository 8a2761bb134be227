{#-
    Tests whose cost follows the new data. A data test on an incremental model reads, after an
    incremental build, only the rows of the keys that build rebuilt, whole (old and new rows
    of a key alike, so a duplicate across them is still caught); after a full rebuild, or
    with `--vars '{test_scope: full}'`, the whole table. The model declares what it is rebuilt
    by in its meta: `rebuilt_by: [column, kind]` (kind: an `affected` kind, or `checked` for the
    base models, whose rows carry `checked_until`), plus every row whose key is null. A test
    of columns that do not include that column reads the whole table (its rows need not share
    the key).

    Returns a relation-like expression for `from`: the model, or a subquery of it.
-#}
{% macro scoped_to_changed(model, columns=none) -%}
    {%- set node = _model_node_of(model) if execute else none -%}
    {%- set rebuilt_by = node.config.meta.get('rebuilt_by') if node is not none else none -%}
    {%- if rebuilt_by is none or (columns is not none and rebuilt_by[0] not in columns) -%}
        {{ return(model) }}
    {%- endif -%}
    {%- set filter = rebuilt_keys_filter(model, rebuilt_by[0]) -%}
    {%- if filter == test_scope_marked('(1 = 1)') -%}{{ return(model) }}{%- endif -%}
    {#- and every row with a null key, which no rebuilt key names (two index scans, not a
        scan of the whole table for `is null or in (...)`) -#}
    {{ return('(select * from ' ~ model ~ ' where ' ~ filter ~ ' union all select * from ' ~ model
        ~ ' where ' ~ rebuilt_by[0] ~ ' is null) as rows_rebuilt') }}
{%- endmacro %}


{#-
    A predicate on `column_expr` that keeps the keys the last build of `model` (a relation
    with meta `rebuilt_by`) rebuilt, e.g. the months a monthly mart recomputed: what a
    reconciliation test compares. `(1 = 1)` after a full rebuild, with test_scope full, or for
    a model without `rebuilt_by`; `(1 = 0)` when that build had nothing new. Months and days
    are listed as literals (an empty list, or a dry run's, stays a subquery).

    Marked as the test's scope (test_scope_marked): a test's pass is keyed by its SQL without
    it (test_passes.sql), since the tokens of the models it reads already change whenever
    their last build, and so the scope, changes. A no-op build's narrower scope then reuses
    the pass of the build before, instead of running every scoped test once more.
-#}
{% macro rebuilt_keys_filter(model, column_expr, timestamp_expr=none) -%}
    {{ return(test_scope_marked(_rebuilt_keys_predicate(model, column_expr, timestamp_expr))) }}
{%- endmacro %}


{#- A test's scope predicate, between the comments test_passes.sql leaves out of its key. -#}
{% macro test_scope_marked(predicate) -%}
    {{ return('/* test scope */ ' ~ predicate ~ ' /* end of test scope */') }}
{%- endmacro %}


{% macro _rebuilt_keys_predicate(model, column_expr, timestamp_expr=none) -%}
    {%- if not execute or var('test_scope', 'changed') == 'full' -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- if var('test_scope', 'changed') != 'changed' -%}
        {{ exceptions.raise_compiler_error("var test_scope must be 'changed' (the default: test what the last build rebuilt) or 'full', got '" ~ var('test_scope') ~ "'") }}
    {%- endif -%}
    {%- set node = _model_node_of(model) -%}
    {%- set rebuilt_by = node.config.meta.get('rebuilt_by') if node is not none else none -%}
    {%- if rebuilt_by is none or not load_state_exists() -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- set rows = run_query("select max(loaded_until), max(previous_loaded_until), "
        ~ "max(case when was_full_rebuild then 1 else 0 end) from "
        ~ load_state_relation('model_watermarks') ~ " where model_name = '" ~ model ~ "'").rows -%}
    {#- no row at all only from a dry run's recording driver: render the scoped SQL -#}
    {%- set row = rows[0] if rows | length > 0 else ['9999-12-31', '1900-01-01', 0] -%}
    {%- if row[1] is none or row[2] == 1 -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- if row[0] == row[1] -%}{{ return('(1 = 0)') }}{%- endif -%}
    {%- set window = {'since': "cast('" ~ row[1] ~ "' as timestamp)", 'until': "cast('" ~ row[0] ~ "' as timestamp)",
                      'full': false, 'empty': false} -%}
    {%- if rebuilt_by[1] == 'checked' -%}
        {{ return('(' ~ column_expr ~ ' in (select changed.' ~ rebuilt_by[0]
            ~ ' from ' ~ model ~ ' as changed where changed.checked_until > ' ~ window.since ~ '))') }}
    {%- endif -%}
    {#- the keys that build staged, where it logged them (tested_keys.sql), not derived once more -#}
    {%- set logged = tested_keys_logged(model, rebuilt_by[1], row[0]) -%}
    {%- set literal_kinds = ('session_months', 'nps_months', 'conversion_days') -%}
    {%- if logged and rebuilt_by[1] not in literal_kinds -%}
        {{ return('(' ~ column_expr ~ ' in (' ~ tested_keys_sql(model, rebuilt_by[1]) ~ '))') }}
    {%- endif -%}
    {%- if rebuilt_by[1] in literal_kinds or rebuilt_by[1].startswith('rebuilt:') -%}
        {#- a few months or days: listed as literals, so the planner knows how few rows they
            keep and filters by them before any join (as a subquery they look like one per
            session) -#}
        {%- set keys_sql = tested_keys_sql(model, rebuilt_by[1]) if logged else affected(rebuilt_by[1], window, from_graph=true) -%}
        {%- set literals = [] -%}
        {%- for row in run_query(keys_sql).rows if row[0] is not none -%}
            {#- the months or days as ranges of the timestamp they are truncated from, where
                given: the planner estimates a range from the column's statistics, an
                expression in a list of literals only by a default guess (a month of 1.9 M
                sessions looked like 20 thousand, so the test joined them by 1.9 M index lookups) -#}
            {%- do literals.append("cast('" ~ row[0] ~ "' as date)" if timestamp_expr is none
                else _timestamp_range(timestamp_expr, row[0], rebuilt_by[1])) -%}
        {%- endfor -%}
        {%- if literals or logged -%}
            {{ return('(1 = 0)' if not literals
                else '(' ~ column_expr ~ ' in (' ~ literals | sort | join(', ') ~ '))' if timestamp_expr is none
                else '(' ~ literals | sort | join(' or ') ~ ')') }}
        {%- endif -%}
    {%- endif -%}
    {{ return('(' ~ affected_filter(column_expr, rebuilt_by[1], window, from_graph=true) ~ ')') }}
{%- endmacro %}


{#- `timestamp_expr` inside the month (kinds of months) or day that starts on `start`. -#}
{% macro _timestamp_range(timestamp_expr, start, kind) -%}
    {%- set first = start if start is not string else modules.datetime.date.fromisoformat(start[:10]) -%}
    {%- if kind.endswith('days') -%}
        {%- set after = first + modules.datetime.timedelta(days=1) -%}
    {%- else -%}
        {%- set after = (first.replace(day=28) + modules.datetime.timedelta(days=4)).replace(day=1) -%}
    {%- endif -%}
    {{ return('(' ~ timestamp_expr ~ " >= cast('" ~ first ~ "' as timestamp) and " ~ timestamp_expr
        ~ " < cast('" ~ after ~ "' as timestamp))") }}
{%- endmacro %}


{#-
    The child rows a relationships test must check after an incremental build: those of the
    keys the child's last build rebuilt (a new or changed reference) or the parent's did (a
    key it removed, found from the base layer, not from its remaining rows). Only where both
    are rebuilt by the tested columns; otherwise, and after a full rebuild of either, every
    child row.
-#}
{% macro scoped_to_related(model, column_name, to, field) -%}
    {%- set child = _model_node_of(model) if execute else none -%}
    {%- set parent = _model_node_of(to) if execute else none -%}
    {%- set child_by = child.config.meta.get('rebuilt_by') if child is not none else none -%}
    {%- set parent_by = parent.config.meta.get('rebuilt_by') if parent is not none else none -%}
    {%- if child_by is none or parent_by is none or child_by[0] != column_name or parent_by[0] != field -%}
        {{ return(model) }}
    {%- endif -%}
    {%- set filters = [rebuilt_keys_filter(model, column_name), rebuilt_keys_filter(to, column_name)] | unique | list -%}
    {%- if test_scope_marked('(1 = 1)') in filters -%}{{ return(model) }}{%- endif -%}
    {{ return('(select * from ' ~ model ~ ' where ' ~ filters | join(' or ') ~ ') as rows_related') }}
{%- endmacro %}


{#- The graph node of the model a relation names (none for anything else). -#}
{% macro _model_node_of(relation) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model'
            and node.alias == relation.identifier and node.schema == relation.schema -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}


{#- The project's versions of dbt's built-in tests, scoped to what the last build rebuilt. -#}
{% test unique(model, column_name) %}
select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ scoped_to_changed(model, [column_name]) }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{% endtest %}

{% test not_null(model, column_name) %}
select {{ column_name }}
from {{ scoped_to_changed(model) }}
where {{ column_name }} is null
{% endtest %}

{% test accepted_values(model, column_name, values, quote=True) %}
with all_values as (
    select
        {{ column_name }} as value_field,
        count(*) as n_records
    from {{ scoped_to_changed(model) }}
    group by {{ column_name }}
)
select *
from all_values
where value_field not in (
    {%- for value in values %}
    {% if quote %}'{{ value }}'{% else %}{{ value }}{% endif %}{{ ',' if not loop.last }}
    {%- endfor %}
)
{% endtest %}

{% test relationships(model, column_name, to, field) %}
with child as (
    select {{ column_name }} as from_field
    from {{ scoped_to_related(model, column_name, to, field) }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
)

select child.from_field
from child
left join parent
    on child.from_field = parent.to_field
where parent.to_field is null
{% endtest %}
