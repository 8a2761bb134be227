"""Shared fixtures: a throw-away warehouse and a dbt runner pointed at it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from warehouse.server import Warehouse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DBT = str(Path(sys.executable).parent / "dbt")


@dataclass
class DbtProject:
    """The project's dbt, run against one throw-away warehouse with its own target dir."""

    warehouse: Warehouse
    workdir: Path

    @property
    def profiles_dir(self) -> Path:
        return self.workdir / "profiles"

    def write_profile(self) -> None:
        self.profiles_dir.mkdir(parents=True, exist_ok=True)
        (self.profiles_dir / "profiles.yml").write_text(
            "elt:\n  target: local\n  outputs:\n    local:\n"
            "      type: postgres\n      host: 127.0.0.1\n"
            f"      port: {self.warehouse.port}\n"
            "      user: postgres\n      password: ''\n      dbname: warehouse\n"
            "      schema: analytics\n      threads: 4\n"
        )

    def dbt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `dbt <args>` on the project; fail the test with dbt's output if it fails."""
        argv = [
            DBT,
            *args,
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(self.profiles_dir),
            "--target-path",
            str(self.workdir / "target"),
            "--log-path",
            str(self.workdir / "logs"),
        ]
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
        if check and result.returncode != 0:
            pytest.fail(
                f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
            )
        return result

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        conn = psycopg2.connect(self.warehouse.uri())
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """A fresh embedded PostgreSQL for this test session, deleted afterwards."""
    root = tmp_path_factory.mktemp("warehouse")
    env_port = os.environ.pop("WAREHOUSE_PORT", None)
    wh = Warehouse(root)
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
