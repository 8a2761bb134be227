{#-
    on-run-start: one build at a time, and never during a `warehouse load`.

    The lock is the PostgreSQL advisory lock `run_lock_key()`, which `warehouse load` holds for
    its whole load transaction. dbt runs its hooks and each node on a connection of its own and
    closes it afterwards, so no session lock can outlive this hook; instead the hook, holding the
    advisory lock, records the run in `warehouse_control.dbt_runs` (released by on-run-end), and
    every waiter (a load, another build) treats a recorded run as running while any connection
    tagged with its invocation id (the query comment in dbt_project.yml) is alive. A killed build
    leaves its row behind but no connection: after `stale` seconds without one (30, or the
    environment's WAREHOUSE_STALE_BUILD_SECONDS), it is forgotten.
    (Between its hooks and nodes a busy dbt can go seconds without a connection, so `stale` is
    generous; warehouse/loader.py STALE_BUILD_SECONDS is the same.)
    A build waits for a running load (up to the var `run_lock_wait_seconds`, then one line), but
    stops at once, with one line naming it, when another build is running: dbt has read the
    relations into its cache before this hook, and the other build is changing them, so this
    run could not safely go on after it. A load waits for a running build (--wait).
    On Redshift there are no advisory locks: a no-op (a run reads raw rows only up to the load
    time its start saw).
-#}
{% macro acquire_run_lock() -%}
    {%- if execute and flags.WHICH in ('run', 'build', 'seed', 'snapshot', 'test') -%}
        {#- The vars the next hook reads, checked before the lock is taken: a compile error in
            a later on-run-start hook ends dbt without its on-run-end, and the run's row would
            make the next build or load wait `stale` seconds for it. -#}
        {%- do access_role_names() -%}
        {%- set lock_sql = adapter.dispatch('acquire_run_lock')(run_lock_wait_seconds(), run_lock_stale_seconds()) -%}
        {%- if lock_sql is none -%}
            {{ return('select 1 as run_lock_not_available') }}
        {%- endif -%}
        {#- Sent while the hook compiles, not as the hook: a refusal then stops dbt with its one
            line. A failing hook would make dbt 1.11 skip every node, and a `dbt build` with
            saved queries selected dies skipping them (dbt-core #10029) with a traceback. -#}
        {%- call statement('acquire_run_lock', auto_begin=true) -%}{{ lock_sql }}{%- endcall -%}
        {%- do adapter.commit() -%}
        {{ return('select 1 as run_lock_taken') }}
    {%- endif -%}
    {{ return('select 1 as run_lock_not_needed') }}
{%- endmacro %}

{% macro default__acquire_run_lock(wait_seconds, stale=30) -%}
    {{ return(none) }}
{%- endmacro %}

{#- dbt-redshift inherits from dbt-postgres, so dispatch would take postgres__ (a DO block,
    advisory locks: Redshift has neither) before default__ on Redshift. -#}
{% macro redshift__acquire_run_lock(wait_seconds, stale=30) -%}
    {{ return(default__acquire_run_lock(wait_seconds, stale)) }}
{%- endmacro %}

{% macro postgres__acquire_run_lock(wait_seconds, stale=30) -%}
do $run_lock$
declare
    started timestamptz := clock_timestamp();
    holder_id text;
    holder_command text;
    holder_started timestamptz;
    watched_id text := '';
    watched_seen timestamptz;
begin
    create schema if not exists warehouse_control;
    create table if not exists warehouse_control.dbt_runs (
        invocation_id varchar(64) not null,
        command varchar(32) not null,
        started_at timestamptz not null
    );
    loop
        holder_id := null;
        if pg_try_advisory_xact_lock({{ run_lock_key() }}) then
            select r.invocation_id, r.command, r.started_at
            into holder_id, holder_command, holder_started
            from warehouse_control.dbt_runs as r
            order by r.started_at
            limit 1;
            if holder_id is null then
                insert into warehouse_control.dbt_runs
                values ('{{ invocation_id }}', '{{ flags.WHICH }}', now());
                return;  -- committed with the hook; the advisory lock goes with the commit
            end if;
            -- pg_stat_activity is read once per transaction unless this says otherwise
            perform pg_stat_clear_snapshot();
            if holder_id <> watched_id then
                watched_id := holder_id;
                watched_seen := clock_timestamp();
            end if;
            if exists (
                select from pg_stat_activity
                where pid <> pg_backend_pid() and position(holder_id in query) > 0
            ) then
                -- Not waited for: dbt read the relations into its cache before this hook,
                -- and the other build is changing them.
                raise exception 'another dbt % (invocation %, started %) is running: run again when it ends',
                    holder_command, holder_id, holder_started;
            elsif clock_timestamp() - watched_seen > interval '{{ stale }} seconds' then
                raise notice 'dbt % %, started %, has no connection left (killed): forgotten',
                    holder_command, holder_id, holder_started;
                delete from warehouse_control.dbt_runs where invocation_id = holder_id;
                continue;
            end if;
        end if;
        if holder_id is null and clock_timestamp() - started > interval '{{ wait_seconds }} seconds' then
            raise exception 'a warehouse load is running; waited {{ wait_seconds }} s (var run_lock_wait_seconds): run again when it ends';
        end if;
        perform pg_sleep(0.5);
    end loop;
end
$run_lock$
{%- endmacro %}


{#- How long a recorded build may go without a connection before it counts as killed: the
    environment variable WAREHOUSE_STALE_BUILD_SECONDS (as `warehouse load` reads it), 30 by
    default. Read only at run time, so changing it costs no parse. -#}
{% macro run_lock_stale_seconds() -%}
    {%- set value = env_var('WAREHOUSE_STALE_BUILD_SECONDS', '30') -%}
    {%- if not modules.re.fullmatch('[0-9]+(\\.[0-9]+)?', value) or value | float < 1 -%}
        {{ exceptions.raise_compiler_error(
            "WAREHOUSE_STALE_BUILD_SECONDS must be a number of seconds >= 1, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | float) }}
{%- endmacro %}
