"""The daily DAG (dags/elt_daily.py), in the Airflow venv: it imports cleanly with the expected
tasks in order, and one `dag.test()` run against a throw-away embedded warehouse loads a day of
CSVs and builds the marts, the docs and the dashboards.

Run by `make airflow-test`. The dbt side (`warehouse`, `dbt`) comes from the project's .venv,
as the DAG's tasks call it; Airflow never imports it.
"""

from __future__ import annotations

import json
import os
import runpy
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
DAY = "2019-12-01"  # the first day after the default data set's history
SCALE = "0.05"
TASKS = ["load_raw_data", "source_freshness", "dbt_build", "data_tests_full", "publish_docs",
         "publish_dashboards", "send_alerts"]


def run(*argv: str | Path, cwd: Path) -> str:
    result = subprocess.run([str(arg) for arg in argv], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "WAREHOUSE_ROOT": str(cwd)}, timeout=600)
    assert result.returncode == 0, f"{argv}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the project with its own warehouse holding raw history up to the day before
    DAY (not built), and DAY's CSVs where the DAG's load looks for them."""
    work = tmp_path_factory.mktemp("elt")
    copy = work / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv*", ".warehouse", "target", "logs", ".git", "__pycache__", ".*_cache",
        "profiles.yml", "node_modules", "data", "prod-state"))
    run(BIN / "warehouse", "up", cwd=copy)
    try:
        run(BIN / "warehouse", "profile", cwd=copy)
        run(BIN / "warehouse", "generate", "--out", work / "history", "--scale", SCALE,
            "--end", "2019-11-30", cwd=copy)
        run(BIN / "warehouse", "load", work / "history", cwd=copy)
        run(BIN / "warehouse", "generate", "--out", work / "raw" / DAY, "--scale", SCALE,
            "--start", DAY, "--end", DAY, cwd=copy)
        yield copy
    finally:
        run(BIN / "warehouse", "destroy", cwd=copy)


@pytest.fixture(scope="module")
def dag(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The DAG as Airflow's DagBag parses it, its settings pointing at the copy; Airflow's
    home (its SQLite metadata database, which dag.test() needs) is a throw-away directory."""
    work = project.parent
    home = tmp_path_factory.mktemp("airflow-home")
    for name in ("WAREHOUSE_URI", "ALERT_WEBHOOK_URL"):  # alerts read the copy, post nowhere
        os.environ.pop(name, None)
    os.environ.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "ELT_PROJECT_DIR": str(project), "ELT_BIN_DIR": str(BIN),
        "ELT_RAW_LOCATION": str(work / "raw"), "ELT_PUBLISH_DIR": str(work / "published"),
        "ELT_RETRIES": "0",
    })
    run(Path(sys.executable).parent / "airflow", "db", "migrate", cwd=home)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=ROOT / "dags")
    assert bag.import_errors == {}
    assert list(bag.dags) == ["elt_daily"]
    return bag.dags["elt_daily"]


def test_the_dag_imports_with_its_tasks_in_order(dag: Any) -> None:
    assert [task.task_id for task in dag.topological_sort()] == TASKS
    for upstream, downstream in pairwise(TASKS):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    load = dag.get_task("load_raw_data").bash_command
    assert load.endswith("/raw/{{ ds }}'") and "--append" in load
    assert "--vars '{test_scope: full}'" in dag.get_task("data_tests_full").bash_command


def parsed(monkeypatch: pytest.MonkeyPatch, **settings: str) -> Any:
    """The DAG file parsed again with these ELT_* settings (the module's globals)."""
    for name, value in settings.items():
        monkeypatch.setenv(f"ELT_{name.upper()}", value)
    return runpy.run_path(str(ROOT / "dags" / "elt_daily.py"))["dag"]


def rendered(template: str, day: str) -> str:
    """A task's command as Airflow renders it for the run of `day`."""
    from jinja2 import Template

    logical_date = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    return Template(template).render(ds=day, logical_date=logical_date)


def test_production_loads_the_days_s3_prefix_with_the_run_operation(
        dag: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    production = parsed(monkeypatch, raw_location="s3://bucket/raw/", target="prod",
                        s3_iam_role="arn:aws:iam::123:role/copy", load_mode="replace")
    command = shlex.split(rendered(production.get_task("load_raw_data").bash_command, DAY))
    assert command[1:4] == ["run-operation", "load_raw_data_from_s3", "--args"]
    assert json.loads(command[4]) == {"s3_prefix": f"s3://bucket/raw/{DAY}/",
                                      "iam_role": "arn:aws:iam::123:role/copy",
                                      "format": "csv", "mode": "replace"}
    assert command[5:] == ["--target", "prod"]
    with pytest.raises(ValueError, match="ELT_S3_IAM_ROLE"):
        parsed(monkeypatch, s3_iam_role=" ")


def test_full_scope_tests_run_on_their_days_and_skip_the_others(
        dag: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "dbt"  # says what it was asked to do
    fake.write_text('#!/bin/sh\necho "dbt $*"\n')
    fake.chmod(0o755)
    weekly = parsed(monkeypatch, full_tests_on="sun,wed", bin_dir=str(tmp_path))
    template = weekly.get_task("data_tests_full").bash_command
    for day, code, said in (("2019-12-01", 0, "dbt test --vars {test_scope: full}"),  # a Sunday
                            ("2019-12-02", 99, "run on sun,wed only")):
        result = subprocess.run(["bash", "-c", rendered(template, day)], capture_output=True,
                                text=True)
        assert (result.returncode, said in result.stdout) == (code, True), result
    assert weekly.get_task("data_tests_full").skip_on_exit_code == [99]
    with pytest.raises(ValueError, match="ELT_FULL_TESTS_ON"):
        parsed(monkeypatch, full_tests_on="sunday")


def query(project: Path, sql: str) -> str:
    return run(BIN / "warehouse", "psql", "-AXtq", "-c", sql, cwd=project).strip()


def test_one_run_loads_the_day_and_builds_the_marts(dag: Any, project: Path) -> None:
    day_rows = len((project.parent / "raw" / DAY / "session_timestamp.csv")
                   .read_text().splitlines()) - 1
    assert day_rows > 0
    run_ = dag.test(logical_date=datetime(2019, 12, 1, tzinfo=timezone.utc))
    states = {ti.task_id: str(ti.state) for ti in run_.get_task_instances()}
    assert states == dict.fromkeys(TASKS, "success"), states
    assert str(run_.state) == "success"
    # The day's sessions went through the load and the build into the marts.
    assert query(project, f"select count(*) from analytics.fct_sessions "
                          f"where session_date = '{DAY}'") == str(day_rows)
    # The alert read the copy's channel_metric_anomalies: a day of clean data flags nothing.
    alert = run_.get_task_instance("send_alerts")
    assert alert.xcom_pull(task_ids="send_alerts") == (
        "nothing flagged (the newest 1 day(s) of channel_metric_anomalies)")
    published = project.parent / "published"
    assert "<html" in (published / "docs" / "index.html").read_text()[:2000].lower()
    assert (published / "dashboards" / "index.html").is_file()
