"""Shared fixtures: a throw-away warehouse and a dbt runner pointed at it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from warehouse import scheduled
from warehouse.dbt import FORK_SERVER_ENV, Dbt, write_profiles
from warehouse.scheduled import Outcome
from warehouse.server import Warehouse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DBT_ENV = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
# The tests run some 250 dbt commands: each is forked from a process that imported dbt once
# (warehouse.dbt FORK_SERVER_ENV), not a new Python importing it again (1.5 to 2 s each).
os.environ.setdefault(FORK_SERVER_ENV, "1")
# No debug log file (dbt writes every event and statement to logs/dbt.log by default: some 7 %
# of a test build's Python, py-spy --gil). A failing test shows dbt's console output; set
# DBT_LOG_LEVEL_FILE=debug to keep the files (each test's own tmp_path/.../logs).
os.environ.setdefault("DBT_LOG_LEVEL_FILE", "none")


@dataclass
class DbtProject:
    """The project's dbt, run against one throw-away warehouse with its own target dir."""

    warehouse: Warehouse
    workdir: Path

    @property
    def profiles_dir(self) -> Path:
        return self.workdir / "profiles"

    @property
    def runner(self) -> Dbt:
        return Dbt(PROJECT_ROOT, self.profiles_dir, target_path=self.workdir / "target",
                   log_path=self.workdir / "logs", parse_cache=self.parse_cache)

    @property
    def parse_cache(self) -> Path:
        """This worker's partial-parse manifests by vars, target and profile (Dbt.parse_cache):
        commands alternating vars or target directories skip dbt's full reparse."""
        return self.workdir.parent / "parse-cache"

    def write_profile(self) -> None:
        write_profiles(self.profiles_dir, self.warehouse.dbt_target())

    def argv(self, *args: str) -> list[str]:
        """The command line of `dbt <args>` on the project, this warehouse and target dir."""
        return self.runner.argv(*args)

    def dbt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `dbt <args>` on the project; fail the test with dbt's output if it fails."""
        result = self.runner.run(*args, check=False)
        if check and not result.success:
            pytest.fail(f"dbt {' '.join(args)} failed:\n{result.output[-8000:]}")
        return subprocess.CompletedProcess(self.argv(*args), result.returncode, result.output, "")

    def scheduled_build(self, *args: str) -> Outcome:
        """`warehouse build <args>` (what it selected and why, and dbt's captured build)."""
        return scheduled.run(self.runner, args, capture=True, echo=lambda _line: None)

    def run_results(self) -> list[dict[str, Any]]:
        """The last dbt command's results, a node each (run_results.json)."""
        results = json.loads((self.workdir / "target" / "run_results.json").read_text())
        return list(results["results"])

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        conn = psycopg2.connect(self.warehouse.uri())
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def table_rows(self, schema: str = "analytics", exclude: tuple[str, ...] = (),
                   only: tuple[str, ...] | None = None) -> dict[str, Counter[str]]:
        """Every table in schema (but those excluded; or only those named) as a multiset of
        its rows' text."""
        tables = [name for (name,) in self.query(
            "select table_name from information_schema.tables where table_schema = %s "
            "and table_type = 'BASE TABLE' order by 1", (schema,))
            if name not in exclude and (only is None or name in only)]
        return {name: Counter(text for (text,) in self.query(
            f"select t::text from {schema}.{name} as t")) for name in tables}


def assert_same_rows(expected: dict[str, Counter[str]], found: dict[str, Counter[str]]) -> None:
    """The same tables with the same rows; otherwise say which rows differ, with examples."""
    assert set(found) == set(expected)
    for name in expected:
        missing, extra = expected[name] - found[name], found[name] - expected[name]
        assert not missing and not extra, (
            f"{name}: {sum(missing.values())} rows expected but missing, e.g. "
            f"{list(missing)[:3]}; {sum(extra.values())} rows not expected, e.g. "
            f"{list(extra)[:3]}")


def _unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """A fresh embedded PostgreSQL for this test session, deleted afterwards."""
    root = tmp_path_factory.mktemp("warehouse")
    env_port = os.environ.pop("WAREHOUSE_PORT", None)
    wh = Warehouse(root)
    # A port of its own (the kernel's pick), not the default: `make test` starts one of these
    # per worker at the same moment, and two would otherwise both choose the free default.
    wh.home.mkdir(parents=True)
    wh.port_file.write_text(f"{_unused_port()}\n")
    wh.up()
    try:
        yield wh
    finally:
        wh.destroy()
        if env_port is not None:
            os.environ["WAREHOUSE_PORT"] = env_port


@pytest.fixture(scope="session")
def dbt_project(warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    """The dbt project pointed at the throw-away warehouse."""
    project = DbtProject(warehouse, tmp_path_factory.mktemp("dbt"))
    project.write_profile()
    return project


# The longest files first (measured per file: pytest --junitxml's times): the workers take
# files in this order, so the last file to start is a short one and no worker idles at the end.
# (`make test` passes --no-loadscope-reorder: by default pytest-xdist orders the files by their
# number of tests, which put the long single-test files last.)
LONGEST_FIRST = ("test_load_order_cases.py", "test_load_order_properties.py",
                 "test_test_meaning.py", "test_known_answer.py", "test_run_lock.py",
                 "test_faults.py", "test_load_ids.py", "test_incremental.py", "test_bench.py",
                 "test_dashboards.py", "test_ci_checks.py", "test_loader.py", "test_operations.py",
                 "test_code_changes.py", "test_end_to_end.py",
                 "test_warnings_and_history.py", "test_access_control.py", "test_vars.py",
                 "test_semantic_layer.py", "test_loader_properties.py", "test_alerts.py",
                 "test_schema_names.py", "test_redshift.py", "test_markov.py", "test_shapley.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def weight(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=weight)  # stable: a file's tests keep their order
