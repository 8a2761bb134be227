"""Bulk-load CSV exports into `raw_data` with `COPY`, all tables in one transaction.

A file `<table>.csv` with a header row feeds `raw_data.<table>`. Files stream straight into
`COPY ... FROM STDIN`, so a file of any size is never held in memory. Any error rolls the whole
load back: `raw_data` then holds exactly what it held before.
"""

from __future__ import annotations

import csv
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

from warehouse.schema import (
    LOADED_AT,
    LOADED_AT_DEFAULT,
    RAW_SCHEMA,
    RAW_TABLES,
    TABLES_BY_NAME,
    RawTable,
)
from warehouse.server import LOADER

BOM = b"\xef\xbb\xbf"
_COPY_CONTEXT = re.compile(r"COPY (?P<table>\w+), line (?P<line>\d+)(?:, column (?P<column>\w+))?")


# The advisory lock a load holds for its whole transaction and dbt's on-run-start takes
# (macros/run_lock/run_lock_key.sql has the same number).
RUN_LOCK_KEY = 7311805202
# A recorded build with no connection left for this long was killed (as in acquire_run_lock).
STALE_BUILD_SECONDS = 30.0
DEFAULT_WAIT_SECONDS = 600.0


class LoadError(Exception):
    """A file that cannot be loaded; the message names file, line and column."""


@dataclass(frozen=True)
class LoadPlan:
    """What one load will do: the file feeding each table (None: the table becomes empty)."""

    files: dict[str, Path | None]
    columns: dict[str, tuple[str, ...]]


def plan(data_dir: Path, *, empty_missing: bool = True) -> LoadPlan:
    """Check a directory of CSV exports before touching the database.

    A table's file is exactly `<table>.csv`, a regular (readable) file. Anything that looks like
    one but is not (another case, a compression suffix, a broken symlink, a directory) is an
    error naming it, never silently skipped. Without empty_missing, a missing file is an error
    too (a replacing load would empty that table)."""
    if not data_dir.is_dir():
        raise LoadError(f"{data_dir}: no such directory")
    try:
        entries = sorted(data_dir.iterdir())
    except OSError as exc:
        raise LoadError(f"{data_dir}: cannot be read ({exc.strerror})") from None
    known = ", ".join(t.name for t in RAW_TABLES)
    for entry in entries:
        name = entry.name
        stem = name.split(".", 1)[0].lower()
        if stem in TABLES_BY_NAME and name != f"{stem}.csv":
            raise LoadError(f"{entry}: looks like the file of raw_data.{stem} but is not "
                            f"'{stem}.csv' (uncompress or rename it)")
        if name.lower().endswith(".csv") and stem not in TABLES_BY_NAME:
            raise LoadError(f"{entry}: no raw_data table of that name (known: {known})")
    files: dict[str, Path | None] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for table in RAW_TABLES:
        path = data_dir / f"{table.name}.csv"
        if not path.exists() and not path.is_symlink():
            if not empty_missing:
                raise LoadError(f"{path}: missing, and a replacing load would empty "
                                f"raw_data.{table.name} (say --empty-missing to empty it)")
            files[table.name] = None
            columns[table.name] = table.column_names
            continue
        if not path.is_file():
            kind = "a broken symlink" if not path.exists() else "not a regular file"
            raise LoadError(f"{path}: {kind}")
        files[table.name] = path
        columns[table.name] = _read_header(path, table)
    return LoadPlan(files, columns)


def _read_header(path: Path, table: RawTable) -> tuple[str, ...]:
    try:
        with path.open("rb") as raw:
            chunk = raw.read(1 << 16)  # bounded: a file with CR line endings has no b"\n"
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror})") from None
    first = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n", 1)[0]
    if not first.strip():
        if path.stat().st_size == 0:
            return ()  # an empty file: the table becomes empty
        raise LoadError(f"{path}: line 1: the header row is empty "
                        f"(raw_data.{table.name} has {', '.join(table.column_names)})")
    try:
        text = first.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: line 1: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    header = tuple(name.strip().lower() for name in next(csv.reader([text])))
    missing = [c for c in table.column_names if c not in header]
    # An export from another warehouse may carry the load time; it is accepted, not required.
    extra = [c for c in header if c not in (*table.column_names, LOADED_AT)]
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            problems.append(f"unknown column(s) {', '.join(extra)}")
        raise LoadError(
            f"{path}: line 1: {'; '.join(problems)} "
            f"(raw_data.{table.name} has {', '.join(table.column_names)})"
        )
    if len(set(header)) != len(header):
        raise LoadError(f"{path}: line 1: a column is named twice")
    return header


def load(uri: str, data_dir: Path, *, append: bool = False,
         wait_seconds: float = DEFAULT_WAIT_SECONDS, empty_missing: bool = True) -> dict[str, int]:
    """Replace (or, with append, extend) every raw_data table from the CSVs in data_dir.

    Waits up to wait_seconds for a running dbt build to end (and holds off new ones until the
    load commits). Returns the number of rows copied per table. Raises LoadError, with raw_data
    unchanged, on any problem.
    """
    load_plan = plan(data_dir, empty_missing=empty_missing or append)
    conn = psycopg2.connect(uri)
    try:
        with conn:  # one transaction: commit on success, roll back on any error
            with conn.cursor() as cur:
                wait_for_builds(cur, wait_seconds)
                create_raw_tables(cur)
                counts = {
                    name: _copy_table(cur, TABLES_BY_NAME[name], path,
                                      load_plan.columns[name], append)
                    for name, path in load_plan.files.items()
                }
    finally:
        conn.close()
    return counts


def wait_for_builds(cur: psycopg2.extensions.cursor, wait_seconds: float) -> None:
    """Take the run lock for this transaction: wait while a dbt build runs, up to wait_seconds.

    A build records itself in warehouse_control.dbt_runs; it runs while a connection tagged
    with its invocation id lives. One that has had none for STALE_BUILD_SECONDS was killed."""
    cur.execute("select to_regclass('warehouse_control.dbt_runs') is not null")
    row = cur.fetchone()
    tracked = bool(row and row[0])
    started = time.monotonic()
    last_alive: dict[str, float] = {}
    while True:
        cur.execute("select pg_try_advisory_xact_lock(%s)", (RUN_LOCK_KEY,))
        row = cur.fetchone()
        holder = "another load, or a dbt build starting, holds the run lock"
        if row and row[0]:
            if not tracked:
                return
            # pg_stat_activity is read once per transaction, unless told to read it again.
            cur.execute("select pg_stat_clear_snapshot()")
            # The ids come from the table, never as literals in this query's text: a waiter's
            # own query must not look like a connection of the build it waits for.
            cur.execute(
                "select r.invocation_id, r.command, r.started_at::text, exists ("
                "  select from pg_stat_activity as a where a.pid <> pg_backend_pid()"
                "  and position(r.invocation_id in a.query) > 0)"
                " from warehouse_control.dbt_runs as r order by r.started_at")
            now = time.monotonic()
            running = []
            for invocation, command, since, alive in cur.fetchall():
                if alive:
                    last_alive[invocation] = now
                if now - last_alive.setdefault(invocation, now) <= STALE_BUILD_SECONDS:
                    running.append(f"dbt {command} {invocation} (started {since})")
                else:  # killed: forget it, as the next build would
                    cur.execute("delete from warehouse_control.dbt_runs where invocation_id = %s",
                                (invocation,))
            if not running:
                return
            holder = f"{running[0]} is running"
        if time.monotonic() - started > wait_seconds:
            raise LoadError(f"{holder}; waited {wait_seconds:g} s: run the load again when it "
                            "ends (or wait longer with --wait SECONDS)")
        time.sleep(0.5)


def create_raw_tables(cur: psycopg2.extensions.cursor) -> None:
    """Create the raw_data schema and any missing raw table (an existing one is kept).

    The tables belong to the loader role: a superuser's connection (tests, tools) switches to
    that role for the rest of its transaction, so it creates and loads exactly as the loader.
    A table from before load times were kept gets its `_loaded_at` column (its rows count as
    loaded now), and every table an index on it, so a build finds the newest load's rows
    without reading the whole table.
    """
    cur.execute("select rolsuper, exists (select from pg_roles where rolname = %s) "
                "from pg_roles where rolname = current_user", (LOADER,))
    row = cur.fetchone()
    if row is not None and row[0]:
        cur.execute(f"create schema if not exists {RAW_SCHEMA}")
        if row[1]:
            cur.execute(f"set local role {LOADER}")
    for table in RAW_TABLES:
        cur.execute(table.ddl().replace("create table", "create table if not exists", 1))
        cur.execute(f"alter table {RAW_SCHEMA}.{table.name} add column if not exists "
                    f"{LOADED_AT} timestamp default {LOADED_AT_DEFAULT}")
        cur.execute(f"create index if not exists {table.name}{LOADED_AT} "
                    f"on {RAW_SCHEMA}.{table.name} ({LOADED_AT})")


def _copy_table(
    cur: psycopg2.extensions.cursor,
    table: RawTable,
    path: Path | None,
    header: tuple[str, ...],
    append: bool,
) -> int:
    if not append:
        cur.execute(f"truncate table {RAW_SCHEMA}.{table.name}")
    if path is None or not header:
        return 0
    sql = (
        f"copy {RAW_SCHEMA}.{table.name} ({', '.join(header)}) "
        "from stdin with (format csv, header true, encoding 'UTF8')"
    )
    with path.open("rb") as stream:
        try:
            cur.copy_expert(sql, stream, size=1 << 20)
        except psycopg2.Error as exc:
            raise LoadError(_describe(path, exc)) from None
    copied = int(cur.rowcount)
    if LOADED_AT in header:
        _check_loaded_at(cur, table, path)
    return copied


def _check_loaded_at(cur: psycopg2.extensions.cursor, table: RawTable, path: Path) -> None:
    """A file's own load times: empty ones become this load's; none may lie in the future.

    A future load time would hide every later load from the incremental build, so it is an
    error, not a value.
    """
    relation = f"{RAW_SCHEMA}.{table.name}"
    cur.execute(f"select min({LOADED_AT}) from {relation} where {LOADED_AT} > {LOADED_AT_DEFAULT}")
    row = cur.fetchone()
    if row and row[0] is not None:
        raise LoadError(f"{path}: column {LOADED_AT}: {row[0]} is later than now (UTC); "
                        "a load time cannot lie in the future")
    cur.execute(f"update {relation} set {LOADED_AT} = {LOADED_AT_DEFAULT} "
                f"where {LOADED_AT} is null")


def _describe(path: Path, exc: psycopg2.Error) -> str:
    """Turn a COPY error into 'file: line N, column C: what'."""
    diag: Any = exc.diag
    message = (diag.message_primary or str(exc)).strip()
    where = ""
    match = _COPY_CONTEXT.search(diag.context or "")
    if match:
        where = f"line {match['line']}"
        if match["column"]:
            where += f", column {match['column']}"
    return f"{path}: {where}: {message}" if where else f"{path}: {message}"


def raw_row_count(uri: str) -> int:
    """Rows in all raw_data tables together (0 when the tables do not exist yet)."""
    conn = psycopg2.connect(uri)
    try:
        with conn, conn.cursor() as cur:
            create_raw_tables(cur)
            total = 0
            for table in RAW_TABLES:
                cur.execute(f"select count(*) from {RAW_SCHEMA}.{table.name}")
                row = cur.fetchone()
                total += int(row[0]) if row else 0
            return total
    finally:
        conn.close()
