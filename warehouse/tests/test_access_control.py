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


@pytest.fixture(scope="module")
def built(
    dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DbtProject]:
    data = tmp_path_factory.mktemp("access")
    generate(data, scale=0.05, seed=3)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt("build", "--full-refresh", "--exclude", "test_type:unit")
    dbt_project.query(
        f"drop role if exists {ANALYST}; create role {ANALYST} login in role analytics_users"
    )
    yield dbt_project


def as_analyst(project: DbtProject, sql: str) -> str:
    """Run sql as the analyst: 'ok' or the error's SQLSTATE name."""
    conn = psycopg2.connect(project.warehouse.uri(user=ANALYST))
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
        return "ok"
    except psycopg2.Error as exc:
        return exc.pgcode or str(exc)
    finally:
        conn.close()


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


def test_data_engineers_own_raw_data(built: DbtProject, tmp_path: Path) -> None:
    built.query("drop role if exists eng_bob; create role eng_bob login in role data_engineers")
    conn = psycopg2.connect(built.warehouse.uri(user="eng_bob"))
    try:
        with conn, conn.cursor() as cur:
            cur.execute("insert into raw_data.channel values ('Podcast')")
            cur.execute("delete from raw_data.channel where channelname = 'Podcast'")
            cur.execute("select count(*) from raw_data.channel")
            row = cur.fetchone()
            assert row is not None and row[0] > 0
    finally:
        conn.close()
