"""Faults during a build: a killed `dbt build` heals on the next run, and readers never see
a half-built mart.

PostgreSQL (like Redshift) runs each model's DDL and DML in one transaction: a table is built
under a temporary name and swapped in, an incremental model deletes and inserts its window, and
either commits as a whole or not at all. These tests check that promise from the outside.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections import Counter

import psycopg2
import pytest

from warehouse.generator import generate
from warehouse.loader import load

from .conftest import DBT_ENV, PROJECT_ROOT, DbtProject, assert_same_rows

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCHEMAS = ("analytics", "snapshots")
NOT_COMPARED = ("raw_data_quality_history",)  # one row per build by design
BUILD = ("build", "--exclude", "test_type:unit")


def everything(project: DbtProject) -> dict[str, Counter[str]]:
    """Every compared table of the marts' and snapshots' schemas, as multisets of rows."""
    found: dict[str, Counter[str]] = {}
    for schema in SCHEMAS:
        tables = project.table_rows(schema, exclude=NOT_COMPARED)
        found.update({f"{schema}.{name}": rows for name, rows in tables.items()})
    return found


@pytest.fixture(scope="module")
def reference(
    dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Counter[str]]:
    """The tables of a clean build of a small data set."""
    data = tmp_path_factory.mktemp("faults")
    generate(data, scale=0.05, seed=5)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt(*BUILD, "--full-refresh")
    dbt_project.dbt(*BUILD)
    return everything(dbt_project)


# Two kills per CI run (one incremental, one full refresh): each kill costs the next build the
# run lock's stale wait (5 s here, WAREHOUSE_STALE_BUILD_SECONDS; 30 by default) on top of two
# builds.
@pytest.mark.parametrize("seed", [1, 2])
def test_a_build_killed_at_a_random_point_heals_on_the_next_run(
    dbt_project: DbtProject, reference: dict[str, Counter[str]], seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(seed)
    args = BUILD + (("--full-refresh",) if seed % 2 == 0 else ())
    # The kill lands as the n-th node starts (of some 200), so always mid-build, never in
    # dbt's start-up: models half-written, tests half-run, hooks pending.
    kill_at = rng.randint(1, 180)
    started = 0
    with subprocess.Popen(dbt_project.argv(*args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=DBT_ENV,
                          cwd=PROJECT_ROOT) as build:
        assert build.stdout is not None
        for line in build.stdout:
            started += " START " in line
            if started == kill_at:
                build.send_signal(signal.SIGKILL)
                break
    assert build.returncode == -signal.SIGKILL, f"the build ended before node {kill_at} started"

    monkeypatch.setenv("WAREHOUSE_STALE_BUILD_SECONDS", "5")  # the killed build's row
    dbt_project.dbt(*BUILD)  # the next scheduled run, as is
    assert_same_rows(reference, everything(dbt_project))
    leftovers = dbt_project.query(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_name like '%%dbt_tmp' or table_name like '%%dbt_backup'")
    assert leftovers == []


class Reader(threading.Thread):
    """Counts the rows of every mart over and over, on its own connection, like a dashboard."""

    def __init__(self, uri: str, tables: list[str]) -> None:
        super().__init__(daemon=True)
        self.uri, self.tables = uri, tables
        self.seen: dict[str, set[int]] = {table: set() for table in tables}
        self.errors: list[str] = []
        self.rounds = 0
        self.stop = threading.Event()

    def run(self) -> None:
        conn = psycopg2.connect(self.uri)
        conn.autocommit = True
        try:
            while not self.stop.is_set():
                for table in self.tables:
                    try:
                        with conn.cursor() as cur:
                            cur.execute(f"select count(*) from {table}")
                            row = cur.fetchone()
                            self.seen[table].add(int(row[0]) if row else -1)
                    except psycopg2.Error as exc:
                        self.errors.append(f"{table}: {exc.pgerror or exc}".strip())
                self.rounds += 1
        finally:
            conn.close()


@pytest.mark.parametrize("args", [BUILD + ("--full-refresh",), BUILD], ids=["full", "incremental"])
def test_readers_see_whole_tables_while_a_build_runs(
    dbt_project: DbtProject, reference: dict[str, Counter[str]], args: tuple[str, ...],
) -> None:
    dbt_project.dbt(*BUILD)  # start from a complete build
    tables = [name for name in reference if name.startswith("analytics.")]
    reader = Reader(dbt_project.warehouse.uri(), tables)
    reader.start()
    try:
        dbt_project.dbt(*args)
    finally:
        reader.stop.set()
        reader.join()
    assert reader.errors == []
    assert reader.rounds >= 5, "the reader hardly ran during the build"
    # The data did not change, so every read of every table must give the complete count.
    counts = {table: {sum(reference[table].values())} for table in tables}
    assert reader.seen == counts


def test_a_table_dropped_under_the_reader_is_reported(dbt_project: DbtProject) -> None:
    """The reader above would notice a missing mart: prove it on a mart really dropped."""
    dbt_project.query("drop table if exists adhoc.fault_probe; "
                      "create table adhoc.fault_probe as select 1 as x")
    reader = Reader(dbt_project.warehouse.uri(), ["adhoc.fault_probe"])
    reader.start()
    time.sleep(0.3)
    dbt_project.query("drop table adhoc.fault_probe")
    time.sleep(0.3)
    reader.stop.set()
    reader.join()
    assert reader.seen["adhoc.fault_probe"] == {1}
    assert any("does not exist" in error for error in reader.errors)
