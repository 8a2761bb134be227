{#-
    The keys an incremental build rebuilt, kept for the data tests that read them. A test
    scoped to what the last build of a model rebuilt (rebuilt_keys_filter) would otherwise
    derive those keys again from the base layer, each test on its own: for the kinds found
    through joins (a conversion's lookback window, a journey's user, a session's month) that
    costs each test as much as the model's own staging. So the model's post-hook copies the
    keys it staged (stage_affected_sql) into the state table tested_keys, one set per model,
    under its window's end, with a marker row (a null key) so that an empty set is told from
    none; and a test reads that set when it is the last build's, else derives the keys as
    before. Only the kinds below: the other kinds are a few index lookups in the base layer,
    cheaper to derive than to log.
-#}

{#- The logged kinds: the column affected() names the kind's keys by, and the type a test
    compares them as (none: as the string they are logged as). -#}
{% macro tested_key_kinds() -%}
    {{ return({
        'session_users': {'column': 'userid', 'type': 'integer'},
        'session_months': {'column': 'month', 'type': 'date'},
        'conversions': {'column': 'sessionid', 'type': none},
        'conversion_days': {'column': 'conversion_date', 'type': 'date'},
        'journeys': {'column': 'journey_id', 'type': none},
    }) }}
{%- endmacro %}


{#- post-hook of every model: replace the model's logged keys by those this build staged
    (nothing to log after a full rebuild, whose tests read everything, or for a model not
    rebuilt by a logged kind). -#}
{% macro record_tested_keys() -%}
    {%- if not execute or model.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
    {%- set rebuilt_by = model.config.meta.get('rebuilt_by') -%}
    {%- set kinds = tested_key_kinds() -%}
    {%- if not rebuilt_by or rebuilt_by[1] not in kinds -%}{{ return('') }}{%- endif -%}
    {%- set window = load_window() -%}
    {%- set tested_keys = load_state_relation('tested_keys') -%}
    delete from {{ tested_keys }} where model_name = '{{ this }}'
    {%- if _stages_affected() and not window.full and not window.empty %};
    insert into {{ tested_keys }} (model_name, key_value, rebuilt_until)
    select '{{ this }}', cast(null as varchar(64)), {{ window.until }}
    union all
    select '{{ this }}', cast(staged.{{ kinds[rebuilt_by[1]].column }} as varchar(64)), {{ window.until }}
    from {{ staged_affected_relation(rebuilt_by[1]) }} as staged
    where staged.{{ kinds[rebuilt_by[1]].column }} is not null
    {%- endif -%}
{%- endmacro %}


{#- Whether the keys logged for `model` are those of its build that ended at `loaded_until`
    (the watermark a test's scope is for). -#}
{% macro tested_keys_logged(model, kind, loaded_until) -%}
    {%- if kind not in tested_key_kinds() -%}{{ return(false) }}{%- endif -%}
    {%- set rows = run_query("select count(*) from " ~ load_state_relation('tested_keys')
        ~ " where model_name = '" ~ model ~ "' and key_value is null and rebuilt_until = cast('"
        ~ loaded_until ~ "' as timestamp)").rows -%}
    {{ return(rows | length > 0 and rows[0][0] > 0) }}
{%- endmacro %}


{#- A select of the logged keys of `model`, as the type its kind compares them as. -#}
{% macro tested_keys_sql(model, kind) -%}
    {%- set key_type = tested_key_kinds()[kind].type -%}
    select {{ 'cast(tested.key_value as ' ~ key_type ~ ')' if key_type else 'tested.key_value' }}
    from {{ load_state_relation('tested_keys') }} as tested
    where tested.model_name = '{{ model }}' and tested.key_value is not null
{%- endmacro %}
