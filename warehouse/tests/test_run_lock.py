"""Loads and builds exclude each other: the run lock of macros/run_lock and warehouse/loader.py.

Part of it is tried with a stand-in build (a row in warehouse_control.dbt_runs and a connection
tagged with its invocation id, exactly what a build's on-run-start leaves), so that a build is
"running" for as long as the test needs; the rest with real concurrent dbt builds.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from click.testing import CliRunner

from warehouse.cli import main
from warehouse.dbt import DbtError
from warehouse.generator import generate
from warehouse.loader import (
    RUN_LOCK_KEY,
    STALE_BUILD_ENV,
    STALE_BUILD_SECONDS,
    LoadError,
    load,
    stale_build_seconds,
)
from warehouse.server import Warehouse

from .conftest import DBT_ENV, PROJECT_ROOT, DbtProject, _unused_port, assert_same_rows

pytestmark = pytest.mark.e2e

# The contract's grains of the marts a concurrent build could duplicate.
GRAINS = {
    "fct_sessions": "session_id",
    "dim_users": "user_id",
    "channel_monthly_summary": "month, channel",
    "channel_attribution_monthly": "month, channel, attribution_model",
    "channel_performance_monthly": "month, channel",
    "active_users_monthly": "month",
    "nps_monthly": "month",
    "variant_user_daily": "variant_id, user_id, event_date",
    "ab_test_summary": "variant_id",
}


@pytest.fixture(scope="module")
def data(dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("run_lock")
    generate(directory, scale=0.05, seed=11)
    load(dbt_project.warehouse.loader_uri(), directory)
    return directory


@contextmanager
def stand_in_build(project: DbtProject, killed: bool = False) -> Iterator[str]:
    """A build that runs until the block ends: its row, and a connection tagged with its id.

    With killed, the block ends like a killed build: the connection dies, the row stays."""
    invocation = str(uuid.uuid4())
    project.query("insert into warehouse_control.dbt_runs values (%s, 'build', now())",
                  (invocation,))
    conn = psycopg2.connect(project.warehouse.uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"/* {{\"invocation_id\": \"{invocation}\"}} */ select 1")
    try:
        yield invocation
    finally:
        conn.close()
        if not killed:
            project.query("delete from warehouse_control.dbt_runs where invocation_id = %s",
                          (invocation,))


def test_the_loader_and_the_hook_share_one_lock() -> None:
    macro = (PROJECT_ROOT / "macros" / "run_lock" / "run_lock_key.sql").read_text()
    assert re.search(r"return\((\d+)\)", macro)[1] == str(RUN_LOCK_KEY)  # type: ignore[index]


def test_a_load_during_a_build_gives_up_with_one_line(
    dbt_project: DbtProject, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_ROOT", str(dbt_project.warehouse.root))
    with stand_in_build(dbt_project) as invocation:
        started = time.monotonic()
        result = CliRunner().invoke(main, ["load", "--wait", "1", str(data)])
        waited = time.monotonic() - started
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"dbt build {invocation}" in lines[0] and "waited 1 s" in lines[0]
    assert 1 <= waited < 10


# WAREHOUSE_STALE_BUILD_SECONDS shortens the wait for a killed build (30 s by default) for both
# judges: `warehouse load` and the next build's run lock.
STALE = 5.0


def test_a_load_waits_for_the_build_then_loads(dbt_project: DbtProject, data: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    done: dict[str, Any] = {}
    # a live build is waited for past the time after which a killed one counts as gone (30 s
    # by default; 5 s here, the test below checks the default)
    monkeypatch.setenv(STALE_BUILD_ENV, str(STALE))

    def run_load() -> None:
        done["counts"] = load(dbt_project.warehouse.loader_uri(), data, wait_seconds=60)
        done["at"] = time.monotonic()

    with stand_in_build(dbt_project):
        loader = threading.Thread(target=run_load)
        loader.start()
        time.sleep(STALE + 2)  # longer than a killed build is waited for
        assert "at" not in done  # still waiting
        build_ended = time.monotonic()
    loader.join(30)
    assert done["at"] >= build_ended and done["counts"]["user_session_channel"] > 0




def test_a_killed_build_holds_nothing_for_long(dbt_project: DbtProject, data: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert stale_build_seconds() == STALE_BUILD_SECONDS == 30
    monkeypatch.setenv(STALE_BUILD_ENV, str(STALE))
    with stand_in_build(dbt_project, killed=True):
        pass
    started = time.monotonic()
    load(dbt_project.warehouse.loader_uri(), data, wait_seconds=60)
    assert STALE <= time.monotonic() - started < STALE + 15
    assert dbt_project.query("select count(*) from warehouse_control.dbt_runs") == [(0,)]
    monkeypatch.setenv(STALE_BUILD_ENV, "0.5")
    with pytest.raises(LoadError, match="WAREHOUSE_STALE_BUILD_SECONDS must be a number of"):
        load(dbt_project.warehouse.loader_uri(), data, wait_seconds=60)


def test_the_next_build_forgets_a_killed_build(dbt_project: DbtProject,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STALE_BUILD_ENV, "abc")
    result = dbt_project.dbt("seed", "--select", "channel_groups", check=False)
    assert "WAREHOUSE_STALE_BUILD_SECONDS must be a number of seconds >= 1, got 'abc'" in (
        result.stdout)
    monkeypatch.setenv(STALE_BUILD_ENV, str(STALE))
    with stand_in_build(dbt_project, killed=True):
        pass
    started = time.monotonic()
    dbt_project.dbt("seed", "--select", "channel_groups")
    assert time.monotonic() - started < 30
    assert dbt_project.query("select count(*) from warehouse_control.dbt_runs") == [(0,)]


# The whole project's build selects the saved queries too: dbt 1.11 cannot list those as
# skipped after a failed on-run-start (dbt-core #10029), so the refusal must come before.
@pytest.mark.parametrize("command", [("seed", "--select", "channel_groups"), ("build",)])
def test_a_second_build_stops_at_once_with_one_line(
    dbt_project: DbtProject, data: Path, command: tuple[str, ...]
) -> None:
    with stand_in_build(dbt_project) as invocation:
        result = dbt_project.dbt(*command, check=False)
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if "is running: run again" in line]
    assert len(errors) == 1 and f"another dbt build (invocation {invocation}" in errors[0]
    assert " START " not in result.stdout and " SKIP " not in result.stdout  # it did nothing
    assert "Traceback" not in result.stdout, result.stdout[-3000:]
    assert dbt_project.query("select count(*) from warehouse_control.dbt_runs") == [(0,)]


def test_a_build_waits_for_a_load_or_gives_up_with_one_line(dbt_project: DbtProject) -> None:
    conn = psycopg2.connect(dbt_project.warehouse.loader_uri())  # a load in progress
    try:
        with conn.cursor() as cur:
            cur.execute(f"select pg_advisory_xact_lock({RUN_LOCK_KEY})")
            result = dbt_project.dbt("seed", "--select", "channel_groups",
                                     "--vars", "{run_lock_wait_seconds: 1}", check=False)
    finally:
        conn.close()
    assert result.returncode != 0
    assert "a warehouse load is running; waited 1 s (var run_lock_wait_seconds)" in result.stdout


def test_the_wait_var_is_validated(dbt_project: DbtProject) -> None:
    result = dbt_project.dbt("seed", "--select", "channel_groups",
                             "--vars", "{run_lock_wait_seconds: '1; select 1'}", check=False)
    assert result.returncode != 0
    assert "var run_lock_wait_seconds must be a number of seconds >= 0" in result.stdout


@dataclass
class BackgroundDbt:
    """A dbt command running beside the test; its output goes to a file, never a pipe.

    (A pipe nobody reads until the command ends fills up at 64 KiB, and dbt then blocks on its
    next line: a build that never ends, holding the run lock for the tests after it.)"""

    process: subprocess.Popen[bytes]
    log: Path

    def finish(self, timeout: float = 900) -> str:
        """Wait for it to end; its output."""
        self.process.wait(timeout)
        return self.log.read_text()


@contextmanager
def background_dbt(project: DbtProject, target: Path, *args: str) -> Iterator[BackgroundDbt]:
    """Start `dbt <args>` with its own target path; kill it if the block ends before it does."""
    argv = project.argv(*args)
    argv[argv.index("--target-path") + 1] = str(target)
    log = target.with_name(f"{target.name}.log")
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=DBT_ENV,
                                   cwd=PROJECT_ROOT)
    try:
        yield BackgroundDbt(process, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_a_running_build(project: DbtProject, build: BackgroundDbt) -> None:
    deadline = time.monotonic() + 180
    while not project.query("select 1 from warehouse_control.dbt_runs"):
        assert build.process.poll() is None and time.monotonic() < deadline, (
            "the build never started")
        time.sleep(0.1)


def test_a_load_started_during_a_real_build_waits_and_the_build_equals_a_clean_one(
    dbt_project: DbtProject, data: Path, tmp_path: Path
) -> None:
    args = ("build", "--full-refresh", "--exclude", "test_type:unit")
    dbt_project.dbt(*args)
    clean = dbt_project.table_rows(exclude=("raw_data_quality_history",))
    other = tmp_path / "other"
    generate(other, scale=0.05, seed=12)  # different data: a load that slipped in would show

    with background_dbt(dbt_project, tmp_path / "target", *args) as build:
        wait_for_a_running_build(dbt_project, build)
        load(dbt_project.warehouse.loader_uri(), other, wait_seconds=600)
        loaded_at = datetime.now(timezone.utc)
        output = build.finish()
    assert build.process.returncode == 0, output[-4000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    # Every model, seed, snapshot and test ended before the load did. (The on-run-end hooks are
    # results too: the last of them releases the lock, so the load may end before it is timed.)
    last_node = max(t["completed_at"] for r in results for t in r["timing"]
                    if not r["unique_id"].startswith("operation."))
    assert datetime.fromisoformat(last_node.replace("Z", "+00:00")) <= loaded_at
    assert_same_rows(clean, dbt_project.table_rows(exclude=("raw_data_quality_history",)))
    load(dbt_project.warehouse.loader_uri(), data)


def test_two_builds_at_once_never_overlap_and_leave_every_grain_unique(
    dbt_project: DbtProject, data: Path, tmp_path: Path
) -> None:
    dbt_project.dbt("build", "--exclude", "test_type:unit")
    args = ("run", "--full-refresh")
    with background_dbt(dbt_project, tmp_path / "t1", *args) as one, \
            background_dbt(dbt_project, tmp_path / "t2", *args) as other:
        builds = (one, other)
        outputs = [build.finish() for build in builds]
    spans = []
    for n, (build, output) in enumerate(zip(builds, outputs, strict=True), start=1):
        if build.process.returncode:  # refused, with one line, before doing anything
            assert "is running: run again when it ends" in output, output[-3000:]
            assert " START sql " not in output
            continue
        results = json.loads((tmp_path / f"t{n}" / "run_results.json").read_text())["results"]
        times = [t for r in results for t in r["timing"]]
        spans.append((min(t["started_at"] for t in times), max(t["completed_at"] for t in times)))
    assert spans, outputs
    if len(spans) == 2:  # both ran: one after the other
        first, second = sorted(spans)
        assert first[1] <= second[0], f"the builds overlapped: {spans}"
    for model, grain in GRAINS.items():
        assert dbt_project.query(
            f"select count(*) - count(distinct ({grain})) from analytics.{model}") == [(0,)], model


def test_a_load_error_while_waiting_is_still_one_line(dbt_project: DbtProject, data: Path) -> None:
    with stand_in_build(dbt_project), pytest.raises(LoadError, match="is running; waited 0.5 s"):
        load(dbt_project.warehouse.loader_uri(), data, wait_seconds=0.5)
    assert dbt_project.query(f"select pg_try_advisory_lock({RUN_LOCK_KEY})") == [(True,)]



def test_a_missing_raw_table_stops_the_build_with_one_line(tmp_path: Path) -> None:
    """Nothing loaded yet (a fresh warehouse): the build stops naming the raw tables and the
    command that loads them, runs nothing, leaves no traceback, and holds no lock."""
    wh = Warehouse(tmp_path / "fresh")
    wh.home.mkdir(parents=True)
    wh.port_file.write_text(f"{_unused_port()}\n")
    wh.up()
    try:
        project = DbtProject(wh, tmp_path / "dbt")
        project.write_profile()
        result = project.dbt("build", check=False)
        assert result.returncode != 0
        assert "raw_data has no table user_session_channel, session_timestamp" in result.stdout
        assert "load the raw data first (warehouse load DIR" in result.stdout
        assert " START sql" not in result.stdout and "Traceback" not in result.stdout
        assert project.query("select count(*) from warehouse_control.dbt_runs") == [(0,)]
        # the scheduled build says the same in one line (its state run-operation finds it)
        with pytest.raises(DbtError, match="raw_data has no table user_session_channel.*load "
                           r"the raw data first \(warehouse load DIR"):
            project.scheduled_build()
    finally:
        wh.destroy()
