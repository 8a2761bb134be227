{#-
    Changed-keys models (models/staging/raw_data/changes/, models/intermediate/changes/): each
    lists the keys (sessions, users, months, conversions, journeys) a run must re-decide, as an
    ordinary table that the incremental models `ref`, so the docs' lineage shows the path.
    A changed-keys model reads the rows re-decided since the oldest watermark among the
    incremental models that read it (its load window, load_state.sql), so it holds every key
    any of them needs: a superset, which is harmless (a key rebuilt that did not change is
    rebuilt the same). Its post-hook records the window it covers; an incremental model whose
    own window it does not cover (it was not built in this run: `--select` of a few models)
    rebuilds in full instead.
-#}

{#- A changed-keys model's filter on a base model's rows: re-decided inside its window. -#}
{% macro rows_changed_in_window(window) -%}
    {%- if window.empty -%}
        (1 = 0)
    {%- else -%}
        (checked_until > {{ window.since }})
    {%- endif -%}
{%- endmacro %}


{#- An incremental model's filter on its inputs: `column` is one of the keys in `keys` (a
    changed-keys model, by ref in the model's own SQL), column `key`; everything on a full
    rebuild, nothing when the window is empty. -#}
{% macro in_changed(column, keys, key, window) -%}
    {%- if window.full -%}
        (1 = 1)
    {%- elif window.empty -%}
        (1 = 0)
    {%- else -%}
        {{ column }} in (select {{ key }} from {{ keys }})
    {%- endif -%}
{%- endmacro %}


{#- The relation of a model the current model depends on (declared by a ref in its SQL):
    hooks and the incremental strategy find the changed-keys model the model's meta
    `rebuilt_by` names this way, adding no edge the model's SQL does not have. -#}
{% macro dependency_relation(name) -%}
    {%- for node_id in model.depends_on.nodes if node_id in graph.nodes and graph.nodes[node_id].name == name -%}
        {%- set node = graph.nodes[node_id] -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(model.name ~ ": meta rebuilt_by names " ~ name
        ~ ", which its SQL does not ref") }}
{%- endmacro %}


{#- `column in (<its keys>)` for the current model's meta `rebuilt_by: [column, keys_model,
    key]`, as in_changed. -#}
{% macro in_rebuilt_keys(window) -%}
    {%- set rebuilt_by = model.config.meta.rebuilt_by -%}
    {%- if rebuilt_by[1].startswith('log:') -%}
        {{ return(in_rebuilt_log(rebuilt_by[0], dependency_relation(rebuilt_by[1][4:]), window)) }}
    {%- endif -%}
    {{ return(in_changed(rebuilt_by[0], dependency_relation(rebuilt_by[1]), rebuilt_by[2], window)) }}
{%- endmacro %}


{#- `column in (<the months `journeys` logged>)`: the months of the rows a model deleted and
    wrote in the runs inside the window (log_rebuilt_keys, load_state.sql), for the Markov
    chain, whose months follow the journeys int_journey_touches rebuilt (meta `rebuilt_by:
    [column, 'log:<model>', column]`). -#}
{% macro in_rebuilt_log(column, journeys, window) -%}
    {%- if window.full -%}
        (1 = 1)
    {%- elif window.empty -%}
        (1 = 0)
    {%- else -%}
        {{ column }} in (
            select distinct cast(key_value as date)
            from {{ load_state_relation('rebuilt_keys') }}
            where
                model_name = {{ _sql_string(journeys | string) }}
                and rebuilt_until > {{ window.since }}
                and rebuilt_until <= {{ window.until }}
        )
    {%- endif -%}
{%- endmacro %}


{#- pre-hook of an incremental model: delete the rows of the keys it is about to rebuild
    (meta `rebuilt_by`; everything on a full rebuild), in its transaction. -#}
{% macro delete_changed() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set window = load_window() -%}
    {%- if window.empty -%}{{ return('') }}{%- endif -%}
    delete from {{ this }} where {{ in_rebuilt_keys(window) }}
{%- endmacro %}


{#- post-hook of a changed-keys model: the window its keys cover. -#}
{% macro record_changed_keys_window() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set window = load_window() -%}
    {%- set windows = load_state_relation('changed_key_windows') -%}
    delete from {{ windows }} where model_name = {{ _sql_string(this | string) }};
    insert into {{ windows }} (model_name, since, until, recorded_at)
    values ({{ _sql_string(this | string) }}, {{ window.since }}, {{ window.until }}, {{ dbt.current_timestamp() }})
{%- endmacro %}
