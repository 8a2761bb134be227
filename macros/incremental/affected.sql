{#-
    What a run must rebuild downstream of the base layer, as a select of one column, from
    the base rows re-decided since the current model's watermark (`checked_until` later than
    the window's start). Each is a superset: rebuilding a key that did not change is
    harmless; missing one is not. Kinds:
    - sessions: ids of sessions with a channel, timestamp or transaction row re-decided;
    - session_users: every user any version of those sessions' channel rows names;
    - session_months: every month any version of those sessions' timestamps falls in;
    - event_users: users with an A/B event, a variant or an attribute version re-decided;
    - conversions, conversion_days: the conversions a re-decided session can reach, and
      their days;
    - journeys: the journeys of those conversions, and the open journey of every session user;
    - nps_months: months of every version of the NPS answers re-decided;
    - rebuilt:<model>: the months <model> logged for the rows it deleted and wrote
      (log_rebuilt_keys), e.g. the journeys' months for the Markov chain.
-#}
{% macro affected(kind, window, from_graph=false, staged=[]) -%}
    {%- set since = window.since -%}
    {%- if kind in staged -%}
        select * from {{ staged_affected_relation(kind) }}
    {%- elif kind == 'sessions' -%}
        {%- set parts = [] -%}
        {%- for table in ['user_session_channel', 'session_timestamp', 'session_transaction'] -%}
            {%- do parts.append('select sessionid from ' ~ _model_relation('base_raw_data__' ~ table, from_graph)
                ~ ' where checked_until > ' ~ since ~ ' and sessionid is not null') -%}
        {%- endfor -%}
        {{ parts | join('\n        union\n        ') }}
    {%- elif kind == 'session_users' -%}
        select distinct userid
        from {{ _model_relation('base_raw_data__user_session_channel', from_graph) }}
        where userid is not null and sessionid in ({{ affected('sessions', window, from_graph, staged) }})
    {%- elif kind == 'session_months' -%}
        select distinct cast({{ dbt.date_trunc('month', 'ts') }} as date) as month
        from {{ _model_relation('base_raw_data__session_timestamp', from_graph) }}
        where ts is not null and sessionid in ({{ affected('sessions', window, from_graph, staged) }})
    {%- elif kind == 'event_users' -%}
        {%- set parts = [] -%}
        {%- for table in ['user_event', 'user_variant', 'user_metadata'] -%}
            {%- do parts.append('select user_id from ' ~ _model_relation('base_raw_data__' ~ table, from_graph)
                ~ ' where checked_until > ' ~ since ~ ' and user_id is not null') -%}
        {%- endfor -%}
        {{ parts | join('\n        union\n        ') }}
    {%- elif kind == 'conversions' -%}
        {#- the re-decided sessions that are, were or can become a conversion (a new, changed or
            vanished one), and the conversions their lookback windows reach -#}
        {{ _redecided_transaction_sessions(window, from_graph, staged) }}
        union
        {{ _reached_conversions('conversions.conversion_session_id', window, from_graph, staged) }}
    {%- elif kind == 'conversion_days' -%}
        {#- a re-decided conversion's days are those of its timestamps (as session_months);
            the other conversions rebuilt are the ones reached, read with their day -#}
        select distinct cast(ts as date) as conversion_date
        from {{ _model_relation('base_raw_data__session_timestamp', from_graph) }}
        where ts is not null and sessionid in ({{ _redecided_transaction_sessions(window, from_graph, staged) }})
        union
        {{ _reached_conversions('cast(conversions.conversion_at as date)', window, from_graph, staged) }}
    {%- elif kind == 'journeys' -%}
        {#- the converting journeys of the conversions rebuilt, and the open journey of every
            user a re-decided session names -#}
        select cast(journey_ids.sessionid as varchar(48)) as journey_id
        from ({{ affected('conversions', window, from_graph, staged) }}) as journey_ids
        union
        select {{ dbt.concat(["'open:'", "cast(journey_users.userid as varchar(16))"]) }}
        from ({{ affected('session_users', window, from_graph, staged) }}) as journey_users
    {%- elif kind == 'nps_months' -%}
        select distinct cast({{ dbt.date_trunc('month', 'created') }} as date) as month
        from {{ _model_relation('base_raw_data__nps', from_graph) }}
        where checked_until > {{ since }} and created is not null
    {%- elif kind.startswith('rebuilt:') -%}
        {#- the values a model logged for the rows it deleted and wrote (log_rebuilt_keys) -#}
        select distinct cast(key_value as date) as month
        from {{ load_state_relation('rebuilt_keys') }}
        where
            model_name = '{{ _model_relation(kind[8:], from_graph) }}'
            and rebuilt_until > {{ since }}
            and rebuilt_until <= {{ window.until }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("affected: unknown kind '" ~ kind ~ "'") }}
    {%- endif -%}
{%- endmacro %}


{#- `column in (<affected kind>)` for a window that is neither full nor empty. -#}
{% macro affected_filter(column, kind, window, from_graph=false) -%}
    {{ return(column ~ ' in (' ~ affected(kind, window, from_graph) ~ ')') }}
{%- endmacro %}


{#- A model's relation: by ref() in a model (so dbt records the dependency; `this` in the
    model itself), or from the graph where no dependency is wanted (the data tests scoped to
    changed rows). -#}
{% macro _model_relation(name, from_graph=false) -%}
    {%- if not from_graph and model is mapping and model.get('name') == name -%}{{ return(this) }}{%- endif -%}
    {%- if not from_graph -%}{{ return(ref(name)) }}{%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no model named " ~ name) }}
{%- endmacro %}


{#- `column in (<affected kind>)`, or true on a full rebuild: a model's filter on its inputs. -#}
{% macro in_affected(column, kind, window) -%}
    {%- if not execute -%}
        {#- parsing: render the query once so dbt records the models it reads -#}
        {%- do affected(kind, window) -%}
    {%- endif -%}
    {%- if window.full -%}
        (1 = 1)
    {%- elif window.empty -%}
        (1 = 0)
    {%- else -%}
        {{ column }} in ({{ affected_keys(kind, window) }})
    {%- endif -%}
{%- endmacro %}


{#- The select of a kind's keys for the current model: its staged table where the model
    stages them (below), else the lookups over the base layer. -#}
{% macro affected_keys(kind, window) -%}
    {%- if _stages_affected() and kind in affected_kinds() -%}
        select * from {{ staged_affected_relation(kind) }}
    {%- else -%}
        {{ affected(kind, window) }}
    {%- endif -%}
{%- endmacro %}


{#-
    The keys an incremental model reads (the kinds its SQL asks for, and its meta `rebuilt_by`
    kind), staged once per run. Its pre-hooks, select, strategy and post-hooks ask for them up
    to six times, each time a union of lookups over the base layer; worse, the planner cannot
    know how few keys that union yields, so it joins them to the model's tables by full scans.
    Staged in temporary tables with statistics, they are computed once and joined by index.
    The project's incremental materialization stages them before dbt's
    (incremental_materialization.sql), for a model built incrementally with a window neither
    full nor empty; affected_keys then reads `<model>__affected_<kind>`, a temporary table of
    that session (so a model's compiled SQL, run by hand outside a build, lacks it).
-#}
{% macro _stages_affected() -%}
    {{ return(execute and model is mapping and model.get('resource_type') == 'model'
        and model.config.materialized == 'incremental'
        and is_incremental()) }}
{%- endmacro %}


{#- The kinds affected() knows, besides rebuilt:<model>, in an order where a kind comes after
    the kinds it is computed from (_affected_inputs). -#}
{% macro affected_kinds() -%}
    {{ return(['sessions', 'session_users', 'session_months', 'event_users', 'conversions',
               'conversion_days', 'journeys', 'nps_months']) }}
{%- endmacro %}


{#- The kinds a kind is computed from (affected() reads them). -#}
{% macro _affected_inputs(kind) -%}
    {{ return({
        'session_users': ['sessions'], 'session_months': ['sessions'], 'conversions': ['sessions'],
        'conversion_days': ['sessions'], 'journeys': ['conversions', 'session_users'],
    }.get(kind, [])) }}
{%- endmacro %}


{% macro staged_affected_relation(kind) -%}
    {{ return(api.Relation.create(identifier=this.identifier ~ '__affected_' ~ kind, type='table')) }}
{%- endmacro %}


{#- The kinds the current model stages: its `rebuilt_by` kind, every kind its compiled SQL
    reads from a staged table, and the kinds those are computed from, in affected_kinds order. -#}
{% macro _staged_kinds(compiled_sql) -%}
    {%- set wanted = [] -%}
    {%- set rebuilt_by = model.config.meta.get('rebuilt_by') -%}
    {%- for kind in affected_kinds() -%}
        {%- if (rebuilt_by and rebuilt_by[1] == kind) or (staged_affected_relation(kind) | string) in compiled_sql -%}
            {%- do wanted.append(kind) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- inputs come earlier in affected_kinds: one pass from the end closes the set -#}
    {%- for kind in affected_kinds() | reverse if kind in wanted -%}
        {%- for input in _affected_inputs(kind) if input not in wanted -%}
            {%- do wanted.append(input) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(affected_kinds() | select('in', wanted) | list) }}
{%- endmacro %}


{#- The statements that stage them: none where affected_keys does not read them. -#}
{% macro stage_affected_sql(compiled_sql) -%}
    {%- if not _stages_affected() -%}{{ return('') }}{%- endif -%}
    {%- set window = load_window() -%}
    {%- if window.full or window.empty -%}{{ return('') }}{%- endif -%}
    {%- set staged = [] -%}
    {%- set statements = [] -%}
    {%- for kind in _staged_kinds(compiled_sql) -%}
        {%- set relation = staged_affected_relation(kind) -%}
        {%- do statements.append('drop table if exists ' ~ relation) -%}
        {%- do statements.append('create temporary table ' ~ relation ~ ' as\n' ~ affected(kind, window, staged=staged)) -%}
        {%- if stats_need_analyze() -%}
            {%- do statements.append('analyze ' ~ relation) -%}
        {%- endif -%}
        {%- do staged.append(kind) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{#- Whether a table made by `create table as` needs an ANALYZE for statistics: PostgreSQL
    keeps none of a new (temporary) table; Redshift analyzes one itself. -#}
{% macro stats_need_analyze() -%}
    {{ return(adapter.dispatch('stats_need_analyze')()) }}
{%- endmacro %}

{% macro default__stats_need_analyze() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro redshift__stats_need_analyze() -%}
    {{ return(false) }}
{%- endmacro %}


{#- pre-hook of a downstream incremental model: delete the rows it is about to rebuild,
    `column in (<affected kind>)` (everything on a full rebuild), in its transaction. Column
    and kind default to the model's meta `rebuilt_by: [column, kind]`. -#}
{% macro delete_affected(column=none, kind=none) -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set column = column or model.config.meta.rebuilt_by[0] -%}
    {%- set kind = kind or model.config.meta.rebuilt_by[1] -%}
    {%- set window = load_window() -%}
    {%- if window.empty -%}{{ return('') }}{%- endif -%}
    delete from {{ this }} where {{ in_affected(column, kind, window) }}
{%- endmacro %}


{#- The re-decided sessions with any version of a transaction row, quarantined or not: a
    conversion needs a paid transaction, so only such a session is, was or can become one (a
    session without any stays out of the conversions even as it changes, and a daily load's
    sessions are mostly such). The base table holds every version, so this is the same set
    before and after the models in between rebuild. -#}
{% macro _redecided_transaction_sessions(window, from_graph=false, staged=[]) -%}
        select redecided.sessionid
        from ({{ affected('sessions', window, from_graph, staged) }}) as redecided
        where redecided.sessionid in (
            select transactions.sessionid
            from {{ _model_relation('base_raw_data__session_transaction', from_graph) }} as transactions
        )
{%- endmacro %}


{#- `expression` (of `conversions`, its id or its day) for every conversion whose lookback
    window holds any version (user, time) of a re-decided session. Such a conversion was not
    re-decided, so it is in int_touchpoints_weighted as it was (that model replaces its rows
    only after its select has read them), and found by a join on user and a range of
    conversion_at, by index, not by a pass over every session or conversion. -#}
{% macro _reached_conversions(expression, window, from_graph=false, staged=[]) -%}
        select {{ expression }}
        from {{ _model_relation('int_touchpoints_weighted', from_graph) }} as conversions
        inner join (
            select
                versions_channel.userid,
                versions_time.ts
            from {{ _model_relation('base_raw_data__user_session_channel', from_graph) }} as versions_channel
            inner join {{ _model_relation('base_raw_data__session_timestamp', from_graph) }} as versions_time
                on versions_channel.sessionid = versions_time.sessionid
            where versions_channel.sessionid in ({{ affected('sessions', window, from_graph, staged) }})
        ) as touched
            on
                conversions.user_id = touched.userid
                -- as a range of conversion_at, which an index on (user_id, conversion_at) finds
                and conversions.conversion_at >= touched.ts
                and conversions.conversion_at <= {{ dbt.dateadd('second', attribution_lookback_seconds(), 'touched.ts') }}
        -- a conversion's touch of itself: one row per conversion
        where conversions.session_id = conversions.conversion_session_id
{%- endmacro %}
