{#-
    A custom incremental strategy, `replace_affected`, for a model that reads its own previous
    rows: unlike a pre-hook delete, the delete runs after the model's select has been staged
    in a temporary table, so the select still sees the rows it replaces. In one transaction:
    delete the rows of the keys the run rebuilds (meta `rebuilt_by: [column, keys model, key]`), then
    insert the staged rows. Both dbt-postgres and dbt-redshift run it.
-#}
{% macro get_incremental_replace_affected_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set window = load_window() -%}
    {%- if not window.empty %}
delete from {{ target }}
where {{ in_rebuilt_keys(window) }};
    {%- endif %}
insert into {{ target }} ({{ columns }})
select {{ columns }}
from {{ arg_dict['temp_relation'] }}
{%- endmacro %}


{#- In a merge of two partial aggregates aliased `previous` and `added` (NEW is reserved on
    Redshift): whether added's `<at>_at` (and, on a tie, `<id>_id`) comes first (direction `<`)
    or last (`>`); added wins where previous has none. -#}
{% macro newer_side_wins(at, id, direction) -%}
    (added.{{ at }}_at is not null and (previous.{{ at }}_at is null
        or added.{{ at }}_at {{ direction }} previous.{{ at }}_at
        or (added.{{ at }}_at = previous.{{ at }}_at and added.{{ id }}_id {{ direction }} previous.{{ id }}_id)))
{%- endmacro %}


{#-
    A custom incremental strategy, `sync`: the rows of the keys the run rebuilds (meta
    `rebuilt_by`) become the staged rows, by difference. A row identical to a staged one (every
    column but the bookkeeping ones, whose names start with `_`) stays as it was, with its
    `_written_by_run`; a row no staged row matches is deleted; a staged row no kept row matches
    is inserted (a row with a null in a compared column never matches: it is rewritten). For a model whose keys' rows mostly stay the same from run to run
    (int_journey_touches: a returning user's open journey gains a session and keeps the
    others), so a run writes what changed, not every row of every key it re-decides. One
    transaction; both dbt-postgres and dbt-redshift run it.
-#}
{% macro get_incremental_sync_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set staged = arg_dict['temp_relation'] -%}
    {%- set names = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set compared = [] -%}
    {%- for name in names if not name.startswith('_') -%}{%- do compared.append(name) -%}{%- endfor -%}
    {%- set columns = get_quoted_csv(names) -%}
    {%- set window = load_window() -%}
    {%- if not window.empty %}
delete from {{ target }}
where
    {{ in_rebuilt_keys(window) }}
    and not exists (
        select 1
        from {{ staged }} as staged
        where {{ _rows_match(compared, 'staged', target) }}
    );
    {%- endif %}
insert into {{ target }} ({{ columns }})
select {{ columns }}
from {{ staged }} as staged
where not exists (
    select 1
    from {{ target }} as kept
    {# only the rows of the keys the run rebuilds, which every staged row belongs to: the
       check reads those, not the whole table (an unqualified key column is kept's) #}
    where {{ in_rebuilt_keys(window) }}
        and {{ _rows_match(compared, 'staged', 'kept') }}
)
{%- endmacro %}


{#- `left` and `right` (relations or aliases) agree on every column in `names`. Plain
    equality, which hash joins serve: a row with a null never matches, so it is deleted and
    written again (right, only not minimal). -#}
{% macro _rows_match(names, left, right) -%}
    {%- for name in names -%}
        {%- set column = adapter.quote(name) %}
        {{ 'and ' if not loop.first }}{{ left }}.{{ column }} = {{ right }}.{{ column }}
    {%- endfor -%}
{%- endmacro %}
