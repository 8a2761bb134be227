"""The daily cycle as an Airflow DAG: load a day of raw files, check freshness, the scheduled
build (`warehouse build`: dbt build of what has something new), the full-scope data tests,
then publish the docs and the static dashboards and send the business-metric alerts.

Each task runs a command of the project's own venv (`.venv/bin/dbt`, `.venv/bin/warehouse`)
in the project directory, so Airflow's environment never imports dbt and never constrains its
pins. Why one `dbt build` task and not a task per dbt node (astronomer-cosmos), and how to run
it: docs/airflow.md.

Settings, read when the DAG file is parsed (environment variables of the scheduler and the
workers):

    ELT_PROJECT_DIR   the dbt project (default: the directory above this file)
    ELT_BIN_DIR       the dbt venv's bin directory (default: $ELT_PROJECT_DIR/.venv/bin)
    ELT_RAW_LOCATION  where a day's raw files are: s3://bucket/prefix (production, loaded by
                      the run-operation load_raw_data_from_s3) or a local directory of CSVs
                      (`warehouse load`); the run for day D reads <location>/D/ (YYYY-MM-DD)
                      (default: $ELT_PROJECT_DIR/data/daily)
    ELT_LOAD_MODE     append (a day's files hold that day's rows; default) or replace (they
                      hold whole tables; a replace is a diff by content)
    ELT_S3_IAM_ROLE   the IAM role Redshift's COPY assumes (S3 only)
    ELT_TARGET        the dbt target (default: local; production: prod)
    ELT_SCHEDULE      a cron expression (default: 0 3 * * *, UTC); the run for day D starts
                      after the interval that begins on D, so D's files are complete
    ELT_FULL_TESTS_ON the days the full-scope data tests run: daily (default) or weekday
                      names (sun,wed); on other days that task is skipped
    ELT_PUBLISH_DIR   where the docs site and the dashboards are published (default:
                      $ELT_PROJECT_DIR/target/published: docs/index.html, dashboards/)
    ELT_RETRIES       retries of each task (default: 2), ELT_RETRY_DELAY_SECONDS (300)
"""

from __future__ import annotations

import json
import os
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, TriggerRule

DAG_ID = "elt_daily"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SKIPPED = 99  # a task's command exits with this to be skipped (BashOperator's skip_on_exit_code)


def setting(name: str, default: str) -> str:
    """An ELT_* environment variable, or its default when unset or empty."""
    return os.environ.get(f"ELT_{name}", "").strip() or default


PROJECT_DIR = Path(setting("PROJECT_DIR", str(Path(__file__).resolve().parents[1])))
BIN_DIR = Path(setting("BIN_DIR", str(PROJECT_DIR / ".venv" / "bin")))
RAW_LOCATION = setting("RAW_LOCATION", str(PROJECT_DIR / "data" / "daily")).rstrip("/")
LOAD_MODE = setting("LOAD_MODE", "append")
S3_IAM_ROLE = setting("S3_IAM_ROLE", "")
TARGET = setting("TARGET", "local")
SCHEDULE = setting("SCHEDULE", "0 3 * * *")
FULL_TESTS_ON = setting("FULL_TESTS_ON", "daily").lower()
PUBLISH_DIR = Path(setting("PUBLISH_DIR", str(PROJECT_DIR / "target" / "published")))
RETRIES = int(setting("RETRIES", "2"))
RETRY_DELAY = timedelta(seconds=float(setting("RETRY_DELAY_SECONDS", "300")))

if LOAD_MODE not in ("append", "replace"):
    raise ValueError(f"ELT_LOAD_MODE must be append or replace, not {LOAD_MODE!r}")
if FULL_TESTS_ON != "daily" and not set(FULL_TESTS_ON.split(",")) <= set(WEEKDAYS):
    raise ValueError(f"ELT_FULL_TESTS_ON must be daily or weekday names ({','.join(WEEKDAYS)}), "
                     f"not {FULL_TESTS_ON!r}")

DAY = "{{ ds }}"  # the run's day: its data interval's start (YYYY-MM-DD)


def command(*argv: str | Path) -> str:
    """One shell command line, every argument quoted (Jinja still renders inside them)."""
    return " ".join(shlex.quote(str(arg)) for arg in argv)


def dbt(*args: str) -> str:
    return command(BIN_DIR / "dbt", *args, "--target", TARGET)


def warehouse(*args: str | Path) -> str:
    return command(BIN_DIR / "warehouse", *args)


def load_command() -> str:
    """The day's load: Redshift COPY from S3 in production, `warehouse load` of CSVs locally.
    Either is one transaction, so a failed try left raw_data as it was."""
    if RAW_LOCATION.startswith("s3://"):
        if not S3_IAM_ROLE:
            raise ValueError("ELT_S3_IAM_ROLE is required when ELT_RAW_LOCATION is on S3")
        args = {"s3_prefix": f"{RAW_LOCATION}/{DAY}/", "iam_role": S3_IAM_ROLE,
                "format": "csv", "mode": LOAD_MODE}
        return dbt("run-operation", "load_raw_data_from_s3", "--args", json.dumps(args))
    mode = ["--append"] if LOAD_MODE == "append" else []
    return warehouse("load", *mode, f"{RAW_LOCATION}/{DAY}")


def full_tests_command() -> str:
    """Every data test over every row; skipped on the days ELT_FULL_TESTS_ON leaves out."""
    full = dbt("test", "--vars", "{test_scope: full}")
    if FULL_TESTS_ON == "daily":
        return full
    # {{ logical_date }}'s weekday, as `date +%a` would say it in English.
    today = "{{ logical_date.strftime('%a') | lower }}"
    days = " ".join(FULL_TESTS_ON.split(","))
    return (f'case " {days} " in *" {today} "*) {full} ;; '
            f'*) echo "full-scope tests run on {FULL_TESTS_ON} only"; exit {SKIPPED} ;; esac')


def publish_docs_command() -> str:
    """The docs site as one self-contained file, copied where it is published."""
    docs = PUBLISH_DIR / "docs"
    return " && ".join([
        dbt("docs", "generate", "--static"),
        command("mkdir", "-p", docs),
        command("cp", PROJECT_DIR / "target" / "static_index.html", docs / "index.html"),
    ])


# Retries are safe: a load is one transaction (and an exact copy of a row collapses into one
# in the base models); a data test whose last result was not a pass reads its whole relation,
# so a retried build or test run fails again on the rows that failed (docs/testing.md: What a
# test means).
default_args = {
    "retries": RETRIES,
    "retry_delay": RETRY_DELAY,
    "cwd": str(PROJECT_DIR),
    "append_env": True,
    "env": {"WAREHOUSE_ROOT": str(PROJECT_DIR), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    "skip_on_exit_code": SKIPPED,
}

with DAG(
    dag_id=DAG_ID,
    description="Load a day of raw data, dbt build, full-scope tests, publish docs and "
                "dashboards, alert",
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=datetime(2019, 12, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # one build at a time (dbt's run lock refuses a second one anyway)
    default_args=default_args,
    doc_md=__doc__,
    tags=["elt", "dbt"],
) as dag:
    load = BashOperator(task_id="load_raw_data", bash_command=load_command())
    freshness = BashOperator(task_id="source_freshness",
                             bash_command=dbt("source", "freshness"))
    # dbt build of the nodes with something new (new loads, changed code, a failed test, a
    # model reading the clock): warehouse/scheduled.py, docs/incremental.md
    build = BashOperator(task_id="dbt_build",
                         bash_command=warehouse("build", "--target", TARGET))
    full_tests = BashOperator(task_id="data_tests_full", bash_command=full_tests_command())
    # A skipped full-scope run (not its day) lets publishing go on; a failed one does not.
    docs = BashOperator(task_id="publish_docs", bash_command=publish_docs_command(),
                        trigger_rule=TriggerRule.NONE_FAILED)
    dashboards = BashOperator(task_id="publish_dashboards",
                              bash_command=warehouse("dashboards", "--out",
                                                     PUBLISH_DIR / "dashboards"))
    alert = BashOperator(task_id="send_alerts", bash_command=warehouse("alert"))

    load >> freshness >> build >> full_tests >> docs >> dashboards >> alert
