"""Access control tested for real: an analyst logs in and tries each allowed and denied action.

Grants must survive a table being rebuilt, so the checks run after a build, again after a
`--full-refresh` that recreates every mart, and again after an incremental build of a new day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from warehouse.generator import generate
from warehouse.loader import load

from .conftest import DbtProject

pytestmark = pytest.mark.e2e

ANALYST = "analyst_alice"
ENGINEER = "eng_bob"


@pytest.fixture(scope="module")
def built(
    dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DbtProject]:
    data = tmp_path_factory.mktemp("access")
    generate(data, scale=0.05, seed=3)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt("build", "--full-refresh", "--exclude", "test_type:unit")
    dbt_project.warehouse.create_login(ANALYST, member_of="analytics_users")
    dbt_project.warehouse.create_login(ENGINEER, member_of="data_engineers")
    yield dbt_project


def run_as(project: DbtProject, user: str, sql: str) -> str:
    """Run sql as user: 'ok' or the error's SQLSTATE."""
    conn = psycopg2.connect(project.warehouse.uri(user=user))
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
        return "ok"
    except psycopg2.Error as exc:
        return exc.pgcode or str(exc)
    finally:
        conn.close()


def as_analyst(project: DbtProject, sql: str) -> str:
    """Run sql as the analyst: 'ok' or the error's SQLSTATE."""
    return run_as(project, ANALYST, sql)


INSUFFICIENT_PRIVILEGE = "42501"

ALLOWED = [
    "select count(*) from analytics.fct_sessions",
    "select count(*) from analytics.raw_data_quality",
    "create table adhoc.alice_scratch as select 1 as x",
    "insert into adhoc.alice_scratch values (2)",
    "select count(*) from adhoc.alice_scratch",
    "drop table adhoc.alice_scratch",
]
DENIED = [
    "select count(*) from raw_data.user_session_channel",
    "select count(*) from staging.stg_raw_data__nps",
    "create table analytics.alice_table (x int)",
    "delete from analytics.fct_sessions",
    "insert into raw_data.channel values ('Spam')",
    "create table raw_data.alice_table (x int)",
]


def check_access(project: DbtProject) -> None:
    assert {sql: as_analyst(project, sql) for sql in ALLOWED} == {sql: "ok" for sql in ALLOWED}
    assert {sql: as_analyst(project, sql) for sql in DENIED} == {
        sql: INSUFFICIENT_PRIVILEGE for sql in DENIED
    }


def test_analyst_reads_marts_and_adhoc_only(built: DbtProject) -> None:
    check_access(built)


def test_grants_survive_a_rebuild(built: DbtProject) -> None:
    built.dbt("run", "--full-refresh", "--select", "marts")
    check_access(built)


def test_grants_survive_an_incremental_build(built: DbtProject, tmp_path: Path) -> None:
    day = date(2019, 12, 1)  # the data set continued by one day, appended as the ETL would
    generate(tmp_path, scale=0.05, seed=3, since=day, until=day)
    load(built.warehouse.uri(), tmp_path, append=True)
    built.dbt("build", "--exclude", "test_type:unit")
    new_sessions = built.query(
        "select count(*) from analytics.fct_sessions where session_date = %s", (day,))[0][0]
    assert new_sessions > 0
    check_access(built)


def test_analysts_read_every_relation_of_the_marts_and_snapshots_and_nothing_else(
    built: DbtProject,
) -> None:
    relations = built.query(
        "select n.nspname, c.relname, has_table_privilege(%s, c.oid, 'select'), "
        "has_table_privilege(%s, c.oid, 'select, insert, update, delete, truncate, "
        "references, trigger') from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
        "where n.nspname in ('analytics', 'snapshots', 'raw_data', 'staging') "
        "and c.relkind in ('r', 'v', 'm', 'p', 'f')", (ANALYST, ANALYST))
    readable = {(schema, name) for schema, name, select, _ in relations if select}
    touchable = {(schema, name) for schema, name, _, anything in relations if anything}
    marts = {(schema, name) for schema, name, _, _ in relations
             if schema in ("analytics", "snapshots")}
    assert ("analytics", "channel_groups") in marts  # the seed
    assert ("snapshots", "scd_user_metadata") in marts
    assert readable == marts
    assert touchable == marts
    assert as_analyst(built, "select count(*) from analytics.channel_groups") == "ok"


def test_data_engineers_load_raw_data(built: DbtProject) -> None:
    conn = psycopg2.connect(built.warehouse.uri(user=ENGINEER))
    try:
        with conn, conn.cursor() as cur:
            cur.execute("insert into raw_data.channel values ('Podcast')")
            cur.execute("update raw_data.channel set channelname = 'Pod' "
                        "where channelname = 'Podcast'")
            cur.execute("delete from raw_data.channel where channelname = 'Pod'")
            cur.execute("select count(*) from raw_data.channel")
            row = cur.fetchone()
            assert row is not None and row[0] > 0
            cur.execute("create temporary table channel_copy as select * from raw_data.channel")
            cur.execute("truncate raw_data.channel")
            cur.execute("insert into raw_data.channel select * from channel_copy")
    finally:
        conn.close()


# What a data engineer might try so that a superuser (dbt, an admin) or the loader runs their code.
PLANTS = {
    "trigger": "create function pg_temp.plant() returns trigger language plpgsql as "
               "$$ begin alter role eng_bob superuser; return new; end $$; "
               "create trigger plant before insert on raw_data.channel "
               "for each row execute function pg_temp.plant()",
    "function in raw_data": "create function raw_data.lower(text) returns text language sql "
                            "as $$ select 'x' $$",
    "table in raw_data": "create table raw_data.plant (x int)",
    "view in raw_data": "create view raw_data.plant as select 1 as x",
    "default on a raw column": "alter table raw_data.channel alter column channelname "
                               "set default 'x'",
    "row security policy": "create policy plant on raw_data.channel using (true)",
    "rule": "create rule plant as on insert to raw_data.channel do also select 1",
    "own the table": "alter table raw_data.channel owner to eng_bob",
    "function in public": "create function public.plant() returns int language sql "
                          "as $$ select 1 $$",
    "event trigger": "create function pg_temp.e() returns event_trigger language plpgsql as "
                     "$$ begin end $$; create event trigger plant on ddl_command_start "
                     "execute function pg_temp.e()",
    "server program": "copy raw_data.channel to program 'id'",
}


@pytest.mark.parametrize("attempt", sorted(PLANTS))
def test_an_engineer_cannot_plant_code_others_run(built: DbtProject, attempt: str) -> None:
    assert run_as(built, ENGINEER, PLANTS[attempt]) == INSUFFICIENT_PRIVILEGE
    assert built.query("select rolsuper from pg_roles where rolname = %s", (ENGINEER,)) == [
        (False,)]


def test_a_load_as_the_loader_runs_nothing_as_superuser(built: DbtProject, tmp_path: Path) -> None:
    """Even a trigger the raw_data owner itself had on a table runs as the loader, never as a
    superuser, when `warehouse load` loads: the loader logs in as itself."""
    wh = built.warehouse
    built.query("create table if not exists adhoc.who_loaded (who text, super boolean)")
    built.query("grant usage on schema adhoc to raw_data_loader; "
                "grant insert on adhoc.who_loaded to raw_data_loader")
    built.query(
        "create or replace function raw_data.record_loader() returns trigger language plpgsql as "
        "$$ begin insert into adhoc.who_loaded select current_user, rolsuper from pg_roles "
        "where rolname = current_user; return new; end $$")
    built.query("alter function raw_data.record_loader() owner to raw_data_loader")
    built.query("create trigger record_loader before insert on raw_data.channel "
                "for each row execute function raw_data.record_loader()")
    try:
        generate(tmp_path, scale=0.01, seed=3)
        # a channel the table lacks: a replacing load inserts only what is new
        with (tmp_path / "channel.csv").open("a") as channels:
            channels.write("Loaded_by_the_loader\n")
        load(wh.loader_uri(), tmp_path)
        assert set(built.query("select who, super from adhoc.who_loaded")) == {
            ("raw_data_loader", False)}
    finally:
        built.query("drop trigger record_loader on raw_data.channel; "
                    "drop function raw_data.record_loader(); drop table adhoc.who_loaded")
