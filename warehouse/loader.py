"""Bulk-load CSV exports into `raw_data` with `COPY`, all tables in one transaction.

A file `<table>.csv` with a header row feeds `raw_data.<table>`. Files stream straight into
`COPY ... FROM STDIN`, so a file of any size is never held in memory. Any error rolls the whole
load back: `raw_data` then holds exactly what it held before.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

from warehouse.schema import RAW_SCHEMA, RAW_TABLES, TABLES_BY_NAME, RawTable
from warehouse.server import LOADER

BOM = b"\xef\xbb\xbf"
_COPY_CONTEXT = re.compile(r"COPY (?P<table>\w+), line (?P<line>\d+)(?:, column (?P<column>\w+))?")


class LoadError(Exception):
    """A file that cannot be loaded; the message names file, line and column."""


@dataclass(frozen=True)
class LoadPlan:
    """What one load will do: the file feeding each table (None: the table becomes empty)."""

    files: dict[str, Path | None]
    columns: dict[str, tuple[str, ...]]


def plan(data_dir: Path) -> LoadPlan:
    """Check a directory of CSV exports before touching the database."""
    if not data_dir.is_dir():
        raise LoadError(f"{data_dir}: no such directory")
    unknown = sorted(p.name for p in data_dir.glob("*.csv") if p.stem not in TABLES_BY_NAME)
    if unknown:
        known = ", ".join(t.name for t in RAW_TABLES)
        raise LoadError(f"{data_dir / unknown[0]}: no raw_data table of that name (known: {known})")
    files: dict[str, Path | None] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for table in RAW_TABLES:
        path = data_dir / f"{table.name}.csv"
        files[table.name] = path if path.exists() else None
        columns[table.name] = _read_header(path, table) if path.exists() else table.column_names
    return LoadPlan(files, columns)


def _read_header(path: Path, table: RawTable) -> tuple[str, ...]:
    with path.open("rb") as raw:
        first = raw.readline()
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
    extra = [c for c in header if c not in table.column_names]
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


def load(uri: str, data_dir: Path, *, append: bool = False) -> dict[str, int]:
    """Replace (or, with append, extend) every raw_data table from the CSVs in data_dir.

    Returns the number of rows copied per table. Raises LoadError, with raw_data unchanged,
    on any problem.
    """
    load_plan = plan(data_dir)
    conn = psycopg2.connect(uri)
    try:
        with conn:  # one transaction: commit on success, roll back on any error
            with conn.cursor() as cur:
                create_raw_tables(cur)
                counts = {
                    name: _copy_table(cur, TABLES_BY_NAME[name], path,
                                      load_plan.columns[name], append)
                    for name, path in load_plan.files.items()
                }
    finally:
        conn.close()
    return counts


def create_raw_tables(cur: psycopg2.extensions.cursor) -> None:
    """Create the raw_data schema and any missing raw table (an existing one is kept).

    The tables belong to the loader role: a superuser's connection (tests, tools) switches to
    that role for the rest of its transaction, so it creates and loads exactly as the loader."""
    cur.execute("select rolsuper, exists (select from pg_roles where rolname = %s) "
                "from pg_roles where rolname = current_user", (LOADER,))
    row = cur.fetchone()
    if row is not None and row[0]:
        cur.execute(f"create schema if not exists {RAW_SCHEMA}")
        if row[1]:
            cur.execute(f"set local role {LOADER}")
    for table in RAW_TABLES:
        cur.execute(table.ddl().replace("create table", "create table if not exists", 1))


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
    return int(cur.rowcount)


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
