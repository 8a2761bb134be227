"""Bulk-load CSV exports into `raw_data` with `COPY`, all tables in one transaction.

A file `<table>.csv` with a header row feeds `raw_data.<table>`. Files stream straight into
`COPY ... FROM STDIN`, so a file of any size is never held in memory. Any error rolls the whole
load back: `raw_data` then holds exactly what it held before.
"""

from __future__ import annotations

import csv
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

from warehouse.schema import (
    LOAD_ID,
    LOADED_AT,
    LOADED_AT_DEFAULT,
    LOADS,
    LOADS_DDL,
    RAW_SCHEMA,
    RAW_TABLES,
    TABLES_BY_NAME,
    RawTable,
)
from warehouse.server import LOADER

BOM = b"\xef\xbb\xbf"
LOAD_COLUMNS = (LOADED_AT, LOAD_ID)
_COPY_CONTEXT = re.compile(r"COPY (?P<table>\w+), line (?P<line>\d+)(?:, column (?P<column>\w+))?")


# The advisory lock a load holds for its whole transaction and dbt's on-run-start takes
# (macros/run_lock/run_lock_key.sql has the same number).
RUN_LOCK_KEY = 7311805202
# A recorded build with no connection left for this long was killed (as in acquire_run_lock,
# which reads the same environment variable).
STALE_BUILD_SECONDS = 30.0
STALE_BUILD_ENV = "WAREHOUSE_STALE_BUILD_SECONDS"
DEFAULT_WAIT_SECONDS = 600.0


class LoadError(Exception):
    """A file that cannot be loaded; the message names file, line and column."""


@dataclass(frozen=True)
class TableLoad:
    """What one load did to one table: rows in its file, rows added, rows removed."""

    copied: int
    added: int
    removed: int


@dataclass(frozen=True)
class LoadPlan:
    """What one load will do: the file feeding each table (None: the table becomes empty)."""

    files: dict[str, Path | None]
    columns: dict[str, tuple[str, ...]]


def plan(data_dir: Path, *, empty_missing: bool = True,
         tables: Sequence[str] | None = None) -> LoadPlan:
    """Check a directory of CSV exports before touching the database.

    A table's file is exactly `<table>.csv`, a regular (readable) file. Anything that looks like
    one but is not (another case, a compression suffix, a broken symlink, a directory) is an
    error naming it, never silently skipped. Without empty_missing, a missing file is an error
    too (a replacing load would empty that table). With `tables`, only those tables are loaded
    (an unknown name is an error)."""
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
    unknown = sorted(set(tables or ()) - set(TABLES_BY_NAME))
    if unknown:
        raise LoadError(f"no raw_data table named {', '.join(unknown)} (known: {known})")
    files: dict[str, Path | None] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for table in RAW_TABLES:
        if tables is not None and table.name not in tables:
            continue
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
    # An export of a raw table may carry its load columns: accepted, and never trusted (the
    # loader sets them).
    extra = [c for c in header if c not in (*table.column_names, *LOAD_COLUMNS)]
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
         wait_seconds: float = DEFAULT_WAIT_SECONDS, empty_missing: bool = True,
         tables: Sequence[str] | None = None) -> dict[str, int]:
    """Replace (or, with append, extend) every raw_data table from the CSVs in data_dir.

    Returns the number of rows in each table's file; see load_with_changes."""
    _, changes = load_with_changes(uri, data_dir, append=append, wait_seconds=wait_seconds,
                                   empty_missing=empty_missing, tables=tables)
    return {name: change.copied for name, change in changes.items()}


def load_with_changes(uri: str, data_dir: Path, *, append: bool = False,
                      wait_seconds: float = DEFAULT_WAIT_SECONDS, empty_missing: bool = True,
                      tables: Sequence[str] | None = None) -> tuple[int, dict[str, TableLoad]]:
    """Replace (or, with append, extend) every raw_data table (or only `tables`) from the CSVs
    in data_dir, as one load: its id and what it did to each table.

    A replacing load is a diff by content: a row equal in every contract column to a row the
    table holds keeps that row (its load time and load id); only the copies the table lacks are
    added, and the copies the file no longer has are removed. The load is logged in
    raw_data._loads, one row per table, in the load's own transaction. The load time and load
    id are the loader's: such columns in a file are ignored.

    Waits up to wait_seconds for a running dbt build to end (and holds off new ones until the
    load commits). Raises LoadError, with raw_data unchanged, on any problem.
    """
    load_plan = plan(data_dir, empty_missing=empty_missing or append, tables=tables)
    conn = psycopg2.connect(uri)
    try:
        with conn:  # one transaction: commit on success, roll back on any error
            with conn.cursor() as cur:
                wait_for_builds(cur, wait_seconds)
                create_raw_tables(cur)
                load_id = _next_load_id(cur)
                changes = {
                    name: _load_table(cur, TABLES_BY_NAME[name], path,
                                      load_plan.columns[name], append, load_id)
                    for name, path in load_plan.files.items()
                }
                for name, change in changes.items():
                    cur.execute(
                        f"insert into {RAW_SCHEMA}.{LOADS} (load_id, raw_table, load_mode, "
                        "loaded_at, rows_added, rows_removed) values "
                        f"(%s, %s, %s, {LOADED_AT_DEFAULT}, %s, %s)",
                        (load_id, name, "append" if append else "replace", change.added,
                         change.removed))
                    # fresh statistics with the rows: the next build plans its reads of a
                    # table on what it holds now (stale ones once made a base model's
                    # self-join of 100,000 rows a nested loop of 8 minutes)
                    if change.added or change.removed:
                        cur.execute(f"analyze {RAW_SCHEMA}.{name}")
    finally:
        conn.close()
    return load_id, changes


def _next_load_id(cur: psycopg2.extensions.cursor) -> int:
    """This load's id: one more than the last. The load log is locked until this load commits,
    so ids follow the order in which loads commit."""
    cur.execute(f"lock table {RAW_SCHEMA}.{LOADS} in exclusive mode")
    cur.execute(f"select coalesce(max(load_id), 0) + 1 from {RAW_SCHEMA}.{LOADS}")
    row = cur.fetchone()
    return int(row[0]) if row else 1


def stale_build_seconds() -> float:
    """How long a recorded build may go without a connection before it counts as killed:
    WAREHOUSE_STALE_BUILD_SECONDS, or 30."""
    value = os.environ.get(STALE_BUILD_ENV, "").strip()
    if not value:
        return STALE_BUILD_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds >= 1:  # also nan
        raise LoadError(f"{STALE_BUILD_ENV} must be a number of seconds >= 1, got {value!r}")
    return seconds


def wait_for_builds(cur: psycopg2.extensions.cursor, wait_seconds: float) -> None:
    """Take the run lock for this transaction: wait while a dbt build runs, up to wait_seconds.

    A build records itself in warehouse_control.dbt_runs; it runs while a connection tagged
    with its invocation id lives. One that has had none for stale_build_seconds() was killed."""
    stale = stale_build_seconds()
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
                if now - last_alive.setdefault(invocation, now) <= stale:
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
    loaded now) and its `_load_id` column (null: before the load log), and every table an
    index on `_loaded_at`, so a build finds the newest load's rows without reading the whole
    table. The load log raw_data._loads is created too.
    """
    cur.execute("select rolsuper, exists (select from pg_roles where rolname = %s) "
                "from pg_roles where rolname = current_user", (LOADER,))
    row = cur.fetchone()
    if row is not None and row[0]:
        cur.execute(f"create schema if not exists {RAW_SCHEMA}")
        if row[1]:
            cur.execute(f"set local role {LOADER}")
    cur.execute(LOADS_DDL)
    for table in RAW_TABLES:
        cur.execute(table.ddl().replace("create table", "create table if not exists", 1))
        cur.execute(f"alter table {RAW_SCHEMA}.{table.name} add column if not exists "
                    f"{LOADED_AT} timestamp default {LOADED_AT_DEFAULT}")
        cur.execute(f"alter table {RAW_SCHEMA}.{table.name} add column if not exists "
                    f"{LOAD_ID} bigint")
        cur.execute(f"create index if not exists {table.name}{LOADED_AT} "
                    f"on {RAW_SCHEMA}.{table.name} ({LOADED_AT})")


def _load_table(
    cur: psycopg2.extensions.cursor,
    table: RawTable,
    path: Path | None,
    header: tuple[str, ...],
    append: bool,
    load_id: int,
) -> TableLoad:
    """Stage the file in a temporary table, then add its rows (append) or the difference
    between it and the table (replace): what this load did to the table."""
    relation = f"{RAW_SCHEMA}.{table.name}"
    staged = f"load_{table.name}"
    types = ", ".join(f"{name} {sql_type}" for name, sql_type in table.columns)
    extras = ", ".join(f"{name} text" for name in header if name in LOAD_COLUMNS)
    cur.execute(f"create temporary table {staged} ({types}{', ' + extras if extras else ''}) "
                "on commit drop")
    copied = 0
    if path is not None and header:
        sql = (f"copy {staged} ({', '.join(header)}) "
               "from stdin with (format csv, header true, encoding 'UTF8')")
        with path.open("rb") as stream:
            try:
                cur.copy_expert(sql, stream, size=1 << 20)
            except psycopg2.Error as exc:
                raise LoadError(_describe(path, exc).replace(staged, table.name)) from None
        copied = int(cur.rowcount)
    columns = ", ".join(table.column_names)
    if append:
        cur.execute(f"insert into {relation} ({columns}, {LOAD_ID}) "
                    f"select {columns}, %s from {staged}", (load_id,))
        return TableLoad(copied, int(cur.rowcount), 0)
    # Replace: per distinct row (its text tells a NULL from any value), the copies the table
    # and the file hold; where they differ, the newest surplus copies go, the missing ones come.
    row_text = f"cast(row({columns}) as text)"
    cur.execute(f"""
        create temporary table {staged}_diff on commit drop as
        select
            coalesce(held.row_text, wanted.row_text) as row_text,
            coalesce(held.copies, 0) as held,
            coalesce(wanted.copies, 0) as wanted
        from (select {row_text} as row_text, count(*) as copies from {relation} group by 1) as held
        full outer join (select {row_text} as row_text, count(*) as copies from {staged} group by 1)
            as wanted
            on held.row_text = wanted.row_text
        where coalesce(held.copies, 0) <> coalesce(wanted.copies, 0)""")
    cur.execute(f"""
        delete from {relation} where ctid in (
            select numbered.ctid
            from (
                select ctid, {row_text} as row_text, row_number() over (
                    partition by {row_text} order by {LOAD_ID} desc nulls last,
                    {LOADED_AT} desc nulls last) as copy
                from {relation}
                where {row_text} in (select row_text from {staged}_diff where held > wanted)
            ) as numbered
            inner join {staged}_diff as diff on numbered.row_text = diff.row_text
            where numbered.copy <= diff.held - diff.wanted)""")
    removed = int(cur.rowcount)
    cur.execute(f"""
        insert into {relation} ({columns}, {LOAD_ID})
        select {columns}, %s
        from (
            select {columns}, {row_text} as row_text,
                row_number() over (partition by {row_text}) as copy
            from {staged}
            where {row_text} in (select row_text from {staged}_diff where wanted > held)
        ) as numbered
        inner join {staged}_diff as diff on numbered.row_text = diff.row_text
        where numbered.copy <= diff.wanted - diff.held""", (load_id,))
    return TableLoad(copied, int(cur.rowcount), removed)


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
