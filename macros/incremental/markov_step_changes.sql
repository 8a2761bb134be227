{#-
    The Markov chain's step counts, kept up to date by difference instead of recounted.

    A month's transition counts are sums over its journeys, so when int_journey_touches
    rebuilds some journeys, the month's new counts are its old counts, minus the steps of the
    journeys it deleted, plus the steps of those it wrote. int_journey_touches logs both, in
    its transaction, to the load-state table `markov_step_changes` (one row per run, month and
    step, with a signed count), and one row per run saying it did so (`from_name` null,
    `to_name` '(logged)'). A full rebuild of it logs no step, and a marker '(full)' instead.
    int_markov_transitions_monthly adds up the changes inside its window, unless a journeys
    run in that window has no '(logged)' marker (a full rebuild, or a run from before this
    log): then it recounts the months that run rebuilt from the touches themselves.
-#}

{#- One row per month and step (from_name, to_name) of the journeys in `touches` (a relation,
    CTE or aliased subquery with journey_id, converted, channel, session_at and session_id):
    start -> channel -> ... -> channel -> (conversion) or (null), in time order (ties by
    session_id), consecutive touches on the same channel being one step; a journey's month is
    its latest touch's; `transitions` counts the step. -#}
{% macro markov_step_counts(touches) -%}
    select
        steps.month,
        cast(steps.from_name as varchar(32)) as from_name,
        cast(steps.to_name as varchar(32)) as to_name,
        count(*) as transitions
    from (
        -- one pass over the ordered touches; each touch is a step into its channel (unless the
        -- touch before it was on the same channel: the same step), and a journey's last touch
        -- also the step out to its outcome
        select
            ordered_touches.month,
            case
                when step_kinds.kind = 'into' then coalesce(ordered_touches.previous_channel, '(start)')
                else ordered_touches.channel
            end as from_name,
            case
                when step_kinds.kind = 'into' then ordered_touches.channel
                when ordered_touches.converted then '(conversion)'
                else '(null)'
            end as to_name
        from ({{ _journey_touches_ordered(touches) }}) as ordered_touches
        cross join (select 'into' as kind union all select 'out' as kind) as step_kinds
        where
            (
                step_kinds.kind = 'into'
                and (
                    ordered_touches.previous_channel is null
                    or ordered_touches.previous_channel <> ordered_touches.channel
                )
            )
            or (step_kinds.kind = 'out' and ordered_touches.is_last)
    ) as steps
    group by steps.month, steps.from_name, steps.to_name
{%- endmacro %}


{#- Each touch of `touches` with its journey's month, the channel of the touch before it and
    whether it is the journey's last: positions computed on read, never stored (an appended
    session would renumber them). One window order, so one sort. -#}
{% macro _journey_touches_ordered(touches) -%}
    {#- a subquery: `--empty` renders a ref as an aliased one -#}
    select
        journey_touches.converted,
        journey_touches.channel,
        {{ journey_month_of('max(journey_touches.session_at) over (partition by journey_touches.journey_id)') }} as month,
        lag(journey_touches.channel) over (
            partition by journey_touches.journey_id
            order by journey_touches.session_at, journey_touches.session_id
        ) as previous_channel,
        lead(journey_touches.session_id) over (
            partition by journey_touches.journey_id
            order by journey_touches.session_at, journey_touches.session_id
        ) is null as is_last
    from (select * from {{ touches }}) as journey_touches
{%- endmacro %}


{#- A journey's month: the month of `latest_at`, its latest touch's time (a conversion's month,
    or an open journey's latest session's). -#}
{% macro journey_month_of(latest_at) -%}
    cast({{ dbt.date_trunc('month', latest_at) }} as date)
{%- endmacro %}


{#- Hook of int_journey_touches: log the steps of the journeys it is about to delete (pre-hook,
    sign -1, before delete_affected) or has written (post-hook, sign 1, which also writes the
    run's marker), under the window's end, in the model's transaction. -#}
{% macro log_markov_step_changes(sign) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set window = load_window() -%}
    {#- after the write (sign 1) the table exists even where dbt's relation cache does not
        know it yet (its first build, or a rebuild after it was dropped): the '(full)' marker
        is written, so the chain recounts -#}
    {%- if window.empty or (sign < 0 and load_relation(this) is none) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set changes = load_state_relation('markov_step_changes') -%}
    {%- set incremental = is_incremental() and not window.full -%}
    {%- if incremental %}
        {#- the journeys' touches copied first, by the journey_id index: read in place, the
            window function's sort order makes PostgreSQL merge the whole index -#}
        {%- set touches = api.Relation.create(identifier=this.identifier ~ '__logged_touches', type='table') %}
drop table if exists {{ touches }};
create temporary table {{ touches }} as
select journey_id, converted, channel, session_at, session_id
from {{ this }}
where {{ in_rebuilt_keys(window) }};
insert into {{ changes }} (model_name, month, from_name, to_name, steps, rebuilt_until, recorded_at)
select
    '{{ this }}',
    counted.month,
    counted.from_name,
    counted.to_name,
    {{ sign }} * counted.transitions,
    {{ window.until }},
    {{ dbt.current_timestamp() }}
from (
    {{ markov_step_counts(touches) }}
) as counted
    {%- endif %}
    {%- if sign > 0 %}
        {{- ';' if incremental }}
insert into {{ changes }} (model_name, month, from_name, to_name, steps, rebuilt_until, recorded_at)
values ('{{ this }}', null, null, '{{ "(logged)" if incremental else "(full)" }}', 0, {{ window.until }}, {{ dbt.current_timestamp() }})
    {%- endif %}
{%- endmacro %}


{#- Whether every run of `journeys` (a relation) inside the window logged its step changes:
    then they add up to the change of the Markov counts since the window's start. Not when a
    run there rebuilt it in full, or predates the log. -#}
{% macro markov_step_changes_complete(journeys, window) -%}
    {%- set changes = load_state_relation('markov_step_changes') -%}
    {%- set query -%}
        select
            (select count(*) from {{ changes }}
             where model_name = '{{ journeys }}' and from_name is null and to_name = '(full)'
                and rebuilt_until > {{ window.since }} and rebuilt_until <= {{ window.until }}) as full_runs,
            (select count(*) from (
                select distinct rebuilt.rebuilt_until
                from {{ load_state_relation('rebuilt_keys') }} as rebuilt
                where rebuilt.model_name = '{{ journeys }}'
                    and rebuilt.rebuilt_until > {{ window.since }} and rebuilt.rebuilt_until <= {{ window.until }}
            ) as runs
             where not exists (
                select 1 from {{ changes }} as logged
                where logged.model_name = '{{ journeys }}' and logged.from_name is null
                    and logged.to_name = '(logged)' and logged.rebuilt_until = runs.rebuilt_until
            )) as unlogged_runs
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {#- no row: a dry run (redshift-check), which renders the incremental path -#}
    {{ return(rows | length == 0 or (rows[0][0] == 0 and rows[0][1] == 0)) }}
{%- endmacro %}
