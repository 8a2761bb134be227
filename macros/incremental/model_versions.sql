{#-
    Model versions: a token per model that changes whenever the model's rows may have
    changed, kept in staging.model_versions (one row per model, written in the model's own
    transaction by the post-hook record_model_version).

    - An incremental model that writes (any build but its no-op path) gets a new token, unique
      to the run: its rows may have changed.
    - A table or view gets a token derived from everything its rows are a function of: its
      compiled SQL (vars included), its config and descriptions, and the tokens of what it
      reads (models, through ephemeral ones; a seed's file checksum). Something it reads
      without a token (a source, a snapshot, a model never built since this was deployed) makes
      the token unique to the run.

    The project's `table` and `view` materializations (unchanged_relations.sql) compare a
    relation's token with the one stored at its last build: the same token means the same
    inputs and code, so the same rows, and the relation is not rebuilt (a no-op, like an
    incremental model with an empty load window).
-#}

{#- {'version', 'stored'}: the current model's token now and at its last build (none when
    unknown), computed once per node and run. -#}
{% macro model_version_state() -%}
    {%- set cache_key = '_model_version_' ~ invocation_id -%}
    {%- if model.get(cache_key) is not none -%}{{ return(model[cache_key]) }}{%- endif -%}
    {%- set unique = local_md5(invocation_id ~ '|' ~ this) -%}
    {%- set names = [this | string] -%}
    {%- set parts = [] -%}
    {#- an incremental model's rows change whenever it writes; a model that reads the clock
        (current_date, now(), ...) may have other rows on every run -#}
    {%- set volatile = [model.config.materialized == 'incremental',
                        _reads_clock(model.get('compiled_code') or sql)] -%}
    {%- for node_id in _version_inputs(model.unique_id) -%}
        {%- set node = graph.nodes.get(node_id) -%}
        {%- if node is none or node.resource_type == 'snapshot' -%}
            {%- do volatile.append(true) -%}
        {%- elif node.resource_type == 'seed' -%}
            {%- do parts.append(node_id ~ '=' ~ node.checksum.checksum) -%}
        {%- else -%}
            {%- do names.append(api.Relation.create(database=node.database, schema=node.schema,
                                                    identifier=node.alias) | string) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set stored = {} -%}
    {%- if load_state_exists() -%}
        {%- set quoted = [] -%}
        {%- for name in names -%}{%- do quoted.append("'" ~ name ~ "'") -%}{%- endfor -%}
        {%- for row in run_query('select model_name, max(version) from '
                ~ load_state_relation('model_versions') ~ ' where model_name in ('
                ~ quoted | join(', ') ~ ') group by model_name').rows -%}
            {%- do stored.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for name in names[1:] -%}
        {%- if name in stored -%}
            {%- do parts.append(name ~ '=' ~ stored[name]) -%}
        {%- else -%}
            {%- do volatile.append(true) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if true in volatile -%}
        {%- set version = unique -%}
    {%- else -%}
        {%- set own = [model.get('compiled_code') or sql, tojson(model.config, sort_keys=true),
                       model.description, tojson(model.columns, sort_keys=true)] -%}
        {%- set version = local_md5((own + parts | sort) | join('|')) -%}
    {%- endif -%}
    {%- set state = {'version': version, 'stored': stored.get(this | string)} -%}
    {%- do model.update({cache_key: state}) -%}
    {{ return(state) }}
{%- endmacro %}


{#- Whether SQL reads the clock (comments aside): its result may change from one run to the next. -#}
{% macro _reads_clock(text) -%}
    {%- set code = modules.re.sub('--[^\n]*|/[*].*?[*]/', ' ', text or '', flags=modules.re.S) -%}
    {{ return(modules.re.search('\\b(current_date|current_time|current_timestamp|localtime|localtimestamp|now|getdate|sysdate|timeofday|clock_timestamp|statement_timestamp|transaction_timestamp)\\b', code, flags=modules.re.I) is not none) }}
{%- endmacro %}


{#- What a node's rows are read from: the nodes it depends on, through ephemeral models
    (compiled into its own SQL, so their inputs are its inputs) and views (read when queried,
    so their inputs are its inputs too, besides the view itself). -#}
{% macro _version_inputs(unique_id) -%}
    {%- set found = [] -%}
    {%- set queue = graph.nodes[unique_id].depends_on.nodes | list -%}
    {%- for _ in range(200) if queue -%}
        {%- set node_id = queue.pop(0) -%}
        {%- set node = graph.nodes.get(node_id) -%}
        {%- if node is not none and node.resource_type == 'model'
                and node.config.materialized == 'ephemeral' -%}
            {%- do queue.extend(node.depends_on.nodes) -%}
        {%- elif node is not none and node.resource_type == 'model' and node.config.materialized == 'view'
                and node_id not in found -%}
            {#- a view's rows are its inputs' rows now, whether or not it was rebuilt since they
                changed (a `--select` that left it out): its own token, and theirs -#}
            {%- do found.append(node_id) -%}
            {%- do queue.extend(node.depends_on.nodes) -%}
        {%- elif node_id not in found -%}
            {%- do found.append(node_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}


{#- post-hook of every model (dbt_project.yml), inside its transaction: store its token. -#}
{#- With only_if_missing (an incremental model's no-op path): only where none is stored yet,
    so a model that has nothing new when this is deployed gets a token. -#}
{% macro record_model_version(only_if_missing=false) -%}
    {%- if not execute or model.config.materialized not in ('table', 'view', 'incremental') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set versions = load_state_relation('model_versions') -%}
    {%- if only_if_missing %}
    insert into {{ versions }} (model_name, version, recorded_at)
    select '{{ this }}', '{{ model_version_state().version }}', {{ dbt.current_timestamp() }}
    where not exists (select 1 from {{ versions }} where model_name = '{{ this }}')
    {%- else %}
    delete from {{ versions }} where model_name = '{{ this }}';
    insert into {{ versions }} (model_name, version, recorded_at)
    values ('{{ this }}', '{{ model_version_state().version }}', {{ dbt.current_timestamp() }})
    {%- endif %}
{%- endmacro %}


{#- The `table` and `view` materializations' question: is the relation there, as a `kind`
    ('table' or 'view'), built from what its token stands for? Never on --full-refresh, nor
    in a dry run (no stored token comes back). -#}
{% macro relation_is_current(kind) -%}
    {%- if not execute or should_full_refresh() -%}{{ return(false) }}{%- endif -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if existing_relation is none or existing_relation.type != kind -%}{{ return(false) }}{%- endif -%}
    {%- set state = model_version_state() -%}
    {{ return(state.stored is not none and state.stored == state.version) }}
{%- endmacro %}


{#- A relation left as it is: its grants re-applied (a changed grants config changes the
    token anyway, but a grant revoked by hand comes back), reported as a no-op. -#}
{% macro keep_current_relation(kind) -%}
    {%- set target_relation = this.incorporate(type=kind) -%}
    {%- do apply_grants(target_relation, config.get('grants'), should_revoke=true) -%}
    {%- call noop_statement('main', 'NO-OP (inputs unchanged)', 'NO-OP', 0) -%}{%- endcall -%}
    {{ return({'relations': [target_relation]}) }}
{%- endmacro %}
