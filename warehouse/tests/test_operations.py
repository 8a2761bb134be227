"""The production operations: load_raw_data_from_s3 and report_table_health.

On the local PostgreSQL target the S3 load can only print its SQL (dry_run), and the health
report reads pg_stat_user_tables. The Redshift variants run in-process with the Redshift adapter
and no cluster: `clear_transaction` (the one statement run-operation sends by itself) is a
no-op and `RedshiftAdapter.execute` records the SQL and answers with canned rows.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg2
import pytest

from warehouse.dbt import profiles_yaml, redshift_target
from warehouse.generator import generate
from warehouse.loader import load, load_with_changes
from warehouse.redshift import check_sql
from warehouse.schema import RAW_TABLES

from .conftest import PROJECT_ROOT, DbtProject

pytestmark = pytest.mark.e2e

PREFIX = "s3://bucket/raw/2019-11-30/"
ROLE = "arn:aws:iam::123:role/redshift-copy"
PROJECT_SCHEMAS = ("analytics", "staging", "snapshots", "raw_data")


def load_args(**overrides: Any) -> str:
    """The --args of load_raw_data_from_s3 as YAML flow mapping (None drops an argument)."""
    args: dict[str, Any] = {"s3_prefix": PREFIX, "iam_role": ROLE, "format": "csv",
                            "dry_run": True, **overrides}
    return "{" + ", ".join(
        f"{key}: {_yaml(value)}" for key, value in args.items() if value is not None
    ) + "}"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return f'"{value}"'


def printed_sql(output: str) -> str:
    """The script a dry run printed: from `begin;` to `commit;`."""
    match = re.search(r"^begin;$.*?^commit;$", output, re.S | re.M)
    assert match, f"no SQL script in the output:\n{output}"
    return match.group(0)


def statements(sql: str) -> list[str]:
    """The script's statements, comments dropped and whitespace collapsed."""
    text = re.sub(r"--[^\n]*", "", sql)
    collapsed = (" ".join(part.split()) for part in text.split(";") if part.strip())
    return [part.replace("( ", "(").replace(" )", ")") for part in collapsed]


def copy_statements(sql: str) -> dict[str, str]:
    found = {}
    for statement in statements(sql):
        match = re.match(r"copy load_(\w+) \(", statement)
        if match:
            found[match.group(1)] = statement
    return found


# --- load_raw_data_from_s3 on the local PostgreSQL target ---------------------------------


def test_dry_run_csv_copies_every_table_in_one_transaction(dbt_project: DbtProject) -> None:
    output = dbt_project.dbt("run-operation", "load_raw_data_from_s3", "--args", load_args()).stdout
    sql = printed_sql(output)
    parts = statements(sql)
    assert parts[0] == "begin" and parts[-1] == "commit"
    assert parts.count("begin") == 1 and parts.count("commit") == 1
    # TRUNCATE would commit the transaction on Redshift: rows are deleted instead.
    assert not [part for part in parts if part.startswith("truncate")]

    copies = copy_statements(sql)
    assert list(copies) == [table.name for table in RAW_TABLES]
    for table in RAW_TABLES:
        copy = copies[table.name]
        columns = ", ".join(table.column_names)
        assert copy.startswith(
            f"copy load_{table.name} ({columns}) from '{PREFIX}{table.name}.csv' "
            f"iam_role '{ROLE}' format as csv ignoreheader 1 "
            "timeformat 'auto' dateformat 'auto' emptyasnull"
        ), copy
        assert "parquet" not in copy
        # The table is created as warehouse/schema.py creates it; the file goes into a
        # staging table first, and the table takes the difference (no delete of every row).
        create = table.ddl().replace("create table", "create table if not exists", 1)
        create_at = parts.index(create)
        assert parts[create_at + 1].startswith(f"create temporary table load_{table.name} (")
        assert parts[create_at + 2] == copy
        assert f"delete from raw_data.{table.name}" not in parts
    assert parts[1:5] == [
        "create schema if not exists raw_data",
        "create table if not exists raw_data._loads (load_id bigint, raw_table varchar(64), "
        "load_mode varchar(16), loaded_at timestamp, rows_added bigint, rows_removed bigint)",
        "lock raw_data._loads",
        "create temporary table load_number as select coalesce(max(load_id), 0) + 1 as load_id "
        "from raw_data._loads",
    ]


def test_dry_run_parquet_reads_a_folder_per_table(dbt_project: DbtProject) -> None:
    output = dbt_project.dbt(
        "run-operation", "load_raw_data_from_s3", "--args", load_args(format="parquet")
    ).stdout
    copies = copy_statements(printed_sql(output))
    assert len(copies) == len(RAW_TABLES)
    by_name = {table.name: table for table in RAW_TABLES}
    for name, copy in copies.items():
        # Parquet maps columns by position into the staging table's contract columns.
        columns = ", ".join(column for column, _ in by_name[name].columns)
        assert copy == (
            f"copy load_{name} ({columns}) from '{PREFIX}{name}/' iam_role '{ROLE}' "
            "format as parquet"
        )


def test_dry_run_append_keeps_the_rows(dbt_project: DbtProject) -> None:
    output = dbt_project.dbt(
        "run-operation", "load_raw_data_from_s3", "--args",
        load_args(mode="append", tables=["nps", "ad_spend"], s3_prefix="s3://bucket/raw"),
    ).stdout
    sql = printed_sql(output)
    assert "delete from" not in sql and "_diff" not in sql
    copies = copy_statements(sql)
    assert list(copies) == ["nps", "ad_spend"]
    # A prefix without the trailing slash still names the files under it.
    assert "from 's3://bucket/raw/nps.csv'" in copies["nps"]


def test_the_redshift_replace_is_a_diff_by_content(dbt_project: DbtProject,
                                                   tmp_path: Path) -> None:
    """The script load_raw_data_from_s3 sends, run on PostgreSQL with each COPY from S3 swapped
    for the same rows from a local table: a replace keeps the rows the table already holds
    (their load id), adds only the missing copies, removes the surplus ones, logs the load in
    raw_data._loads, and leaves each table holding exactly its file's rows."""
    old, new = tmp_path / "old", tmp_path / "new"
    generate(old, scale=0.01, seed=31)
    shutil.copytree(old, new)
    nps = (new / "nps.csv").read_text().splitlines(keepends=True)
    (new / "nps.csv").write_text("".join(nps[:1] + nps[2:]))  # one answer gone
    with (new / "channel.csv").open("a") as channels:  # a new channel, twice
        channels.write("TEST_CHANNEL\nTEST_CHANNEL\n")
    sessions = (new / "user_session_channel.csv").read_text().splitlines(keepends=True)
    (new / "user_session_channel.csv").write_text("".join(sessions + sessions[1:2]))  # a copy
    uri = dbt_project.warehouse.uri()
    first, _ = load_with_changes(uri, old)
    (old_rows,) = dbt_project.query("select " + " + ".join(
        f"(select count(*) from raw_data.{t.name})" for t in RAW_TABLES))[0]

    script = printed_sql(dbt_project.dbt(
        "run-operation", "load_raw_data_from_s3", "--args", load_args()).stdout)
    script, swapped = re.subn(
        r"copy load_(\w+) \(([^)]*)\)\s+from 's3://[^;]*;",
        lambda m: f"insert into load_{m[1]} ({m[2]}) select {m[2]} from adhoc.incoming_{m[1]};",
        script)
    assert swapped == len(RAW_TABLES)
    conn = psycopg2.connect(uri)
    conn.autocommit = True  # the script's own begin and commit
    try:
        with conn.cursor() as cur:
            cur.execute("create schema if not exists adhoc")
            for table in RAW_TABLES:
                columns = ", ".join(f"{name} {kind}" for name, kind in table.columns)
                cur.execute(f"create table adhoc.incoming_{table.name} ({columns})")
                with (new / f"{table.name}.csv").open("rb") as stream:
                    cur.copy_expert(f"copy adhoc.incoming_{table.name} from stdin "
                                    "with (format csv, header true)", stream)
            cur.execute(script)
            cur.execute("drop table " + ", ".join(f"adhoc.incoming_{t.name}" for t in RAW_TABLES))
    finally:
        conn.close()

    logged = {table: (added, removed) for table, added, removed in dbt_project.query(
        "select raw_table, rows_added, rows_removed from raw_data._loads where load_id = %s",
        (first + 1,))}
    assert logged == {**{t.name: (0, 0) for t in RAW_TABLES}, "nps": (0, 1), "channel": (2, 0),
                      "user_session_channel": (1, 0)}
    # every row the table held and the file still has kept its load; only the 3 new are the
    # script's
    assert dbt_project.query("select " + " + ".join(
        f"(select count(*) from raw_data.{t.name} where coalesce(_load_id, 0) <= %(first)s)"
        for t in RAW_TABLES), {"first": first})[0] == (old_rows - 1,)
    assert dbt_project.query("select " + " + ".join(
        f"(select count(*) from raw_data.{t.name} where _load_id = %(first)s + 1)"
        for t in RAW_TABLES), {"first": first})[0] == (3,)
    # and each table holds exactly its file: the local loader finds nothing to change
    _, changes = load_with_changes(uri, new)
    assert all(change.added == change.removed == 0 for change in changes.values()), changes


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"iam_role": None}, "iam_role is required"),
        ({"format": "json"}, "unknown format 'json' (use csv or parquet)"),
        ({"s3_prefix": "bucket/raw/2019-11-30/"}, "s3_prefix must start with s3://"),
        ({"s3_prefix": None}, "s3_prefix is required"),
        ({"mode": "upsert"}, "unknown mode 'upsert'"),
        ({"tables": ["nps", "orders"]}, "unknown: orders"),
        ({"iam_role": "arn:x' --"}, "may not contain a quote"),
    ],
)
def test_bad_arguments_fail_clearly(
    dbt_project: DbtProject, overrides: dict[str, Any], message: str
) -> None:
    result = dbt_project.dbt(
        "run-operation", "load_raw_data_from_s3", "--args", load_args(**overrides), check=False
    )
    assert result.returncode != 0
    assert message in result.stdout
    assert "copy load_" not in result.stdout


def test_refuses_to_load_into_postgres(dbt_project: DbtProject) -> None:
    result = dbt_project.dbt(
        "run-operation", "load_raw_data_from_s3", "--args", load_args(dry_run=False), check=False
    )
    assert result.returncode != 0
    assert "runs Redshift COPY from S3, but target 'local' is postgres" in result.stdout
    assert "dry_run: true" in result.stdout


# --- report_table_health on the local PostgreSQL target -----------------------------------


@pytest.fixture(scope="module")
def staged(dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    data = tmp_path_factory.mktemp("operations")
    generate(data, scale=0.02, seed=11)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt("run", "--select", "staging")
    return dbt_project


def test_health_report_on_postgres_lists_every_project_table(staged: DbtProject) -> None:
    output = staged.dbt("run-operation", "report_table_health").stdout
    assert "svv_table_info (slice skew, unsorted %) is Redshift-only" in output
    tables = staged.query(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema = any(%s) and table_type = 'BASE TABLE'",
        (list(PROJECT_SCHEMAS),),
    )
    names = {name for (name,) in tables}
    assert {f"raw_data.{table.name}" for table in RAW_TABLES} <= names
    assert any(name.startswith("staging.base_raw_data__") for name in names)
    listed = {line.split()[0] for line in output.splitlines() if re.match(r"^\w+\.\w+ ", line)}
    assert names <= listed
    assert f"{len(listed)} tables," in output


# --- the Redshift variants, with the Redshift adapter and no cluster ----------------------

REDSHIFT_PROFILE = profiles_yaml(redshift_target("prod"))

HEALTH_ROWS = [
    {"table_schema": "analytics", "relation_name": "fct_sessions", "size_mb": 120,
     "tbl_rows": 1_000_000, "skew_rows": 7.5, "skew_sortkey1": 1.2, "unsorted_pct": 35.0,
     "stats_off": 12.0, "diststyle": "KEY(session_id)", "sortkey1": "session_at"},
    {"table_schema": "raw_data", "relation_name": "nps", "size_mb": 10, "tbl_rows": 15_000,
     "skew_rows": None, "skew_sortkey1": None, "unsorted_pct": 0.0, "stats_off": 0.0,
     "diststyle": "AUTO(ALL)", "sortkey1": None},
]


@dataclass
class RedshiftRun:
    success: bool
    exception: BaseException | None
    output: str
    sent: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _no_cluster(sent: list[str]) -> Iterator[None]:
    import agate
    from dbt.adapters.contracts.connection import AdapterResponse
    from dbt.adapters.redshift.connections import RedshiftConnectionManager
    from dbt.adapters.redshift.impl import RedshiftAdapter

    def execute(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(sql)
        if "svv_table_info" in sql:
            table = agate.Table.from_object(HEALTH_ROWS)
        elif "loaded_rows" in sql:
            table = agate.Table.from_object(
                [{"raw_table": name, "loaded_rows": 5} for name in re.findall(r"'(\w+)' as", sql)]
            )
        else:
            table = agate.Table([], [])
        return AdapterResponse(_message="OK"), table

    with mock.patch.object(RedshiftConnectionManager, "clear_transaction", lambda self: None), \
            mock.patch.object(RedshiftAdapter, "execute", execute):
        yield


def redshift_run_operation(macro: str, args: str, target_path: Path) -> RedshiftRun:
    """`dbt run-operation` in-process on a Redshift `prod` target that is never contacted."""
    from dbt.cli.main import dbtRunner

    sent: list[str] = []
    output = io.StringIO()
    with tempfile.TemporaryDirectory() as profiles_dir:
        (Path(profiles_dir) / "profiles.yml").write_text(REDSHIFT_PROFILE)
        argv = [
            "--no-populate-cache", "--quiet", "run-operation", macro, "--args", args,
            "--project-dir", str(PROJECT_ROOT), "--profiles-dir", profiles_dir,
            "--target-path", str(target_path), "--log-path", str(target_path / "logs"),
        ]
        with _no_cluster(sent), contextlib.redirect_stdout(output):
            result = dbtRunner().invoke(argv)
    return RedshiftRun(bool(result.success), result.exception, output.getvalue(), sent)


def test_redshift_dry_run_prints_and_runs_nothing(tmp_path: Path) -> None:
    run = redshift_run_operation("load_raw_data_from_s3", load_args(format="parquet"), tmp_path)
    assert run.success, run.exception
    assert run.sent == []
    assert len(copy_statements(printed_sql(run.output))) == len(RAW_TABLES)


def test_redshift_load_runs_one_script_then_counts(tmp_path: Path) -> None:
    run = redshift_run_operation("load_raw_data_from_s3", load_args(dry_run=False), tmp_path)
    assert run.success, run.exception
    script, counts = run.sent
    parts = statements(script)
    assert parts[0] == "begin" and parts[-1] == "commit"
    assert len(copy_statements(script)) == len(RAW_TABLES)
    assert not [part for part in parts if part.startswith("truncate")]
    assert counts.count("as held_rows, rows_added, rows_removed") == len(RAW_TABLES)

    # Both scripts are SQL Redshift accepts (what `warehouse redshift-check` checks).
    parquet = redshift_run_operation(
        "load_raw_data_from_s3", load_args(format="parquet", dry_run=False), tmp_path
    ).sent[0]
    for sql in (script, parquet, counts):
        assert check_sql(sql) == [], sql


def test_redshift_health_report_flags_skew_unsorted_and_stale_stats(tmp_path: Path) -> None:
    run = redshift_run_operation("report_table_health", "{}", tmp_path)
    assert run.success, run.exception
    [sql] = run.sent
    assert "from svv_table_info" in sql
    # prod: the schemas as generate_schema_name names them, no prefix.
    assert "in ('analytics', 'staging', 'snapshots', 'raw_data')" in sql
    assert check_sql(sql) == []

    lines = run.output.splitlines()
    fct = next(line for line in lines if line.startswith("analytics.fct_sessions "))
    assert fct.split() == ["analytics.fct_sessions", "120", "1000000", "7.50", "1.20", "35.00",
                           "12.00", "KEY(session_id)", "session_at"]
    assert any(line.startswith("raw_data.nps ") for line in lines)
    flags = [line for line in lines if line.startswith("FLAG ")]
    assert len(flags) == 3
    assert all("analytics.fct_sessions" in flag for flag in flags)
    assert any("change DISTKEY" in flag for flag in flags)
    assert any("VACUUM SORT ONLY analytics.fct_sessions;" in flag for flag in flags)
    assert any("ANALYZE analytics.fct_sessions;" in flag for flag in flags)
    assert "2 tables, 3 suggested actions" in run.output


def test_redshift_health_report_thresholds_are_arguments(tmp_path: Path) -> None:
    run = redshift_run_operation(
        "report_table_health",
        "{skew_threshold: 10, unsorted_threshold: 50, stats_off_threshold: 20, "
        "schemas: [analytics]}",
        tmp_path,
    )
    assert run.success, run.exception
    assert "in ('analytics')" in run.sent[0]
    assert "0 suggested actions" in run.output
