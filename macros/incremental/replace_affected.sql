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
