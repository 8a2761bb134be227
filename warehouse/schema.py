"""The raw_data tables as the ETL jobs load them (see shared/CONTRACT.md).

They are declared once, in the dbt project's `dbt_project.yml` (var `raw_data_tables`: columns,
types, logical key and the contract's per-column rules); this module reads that declaration, so
the loader's DDL and the dbt models can never disagree on a table or a column.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

RAW_SCHEMA = "raw_data"
PROJECT_FILE = Path(__file__).resolve().parents[1] / "dbt_project.yml"
LOADED_AT = "_loaded_at"
"""Every raw table's load-time column, set by the loader (one value per load, never a file's)."""
LOAD_ID = "_load_id"
"""Every raw table's load column: the id of the load that brought the row (raw_data._loads)."""
LOADS = "_loads"
"""The load log: one row per load and table, written in the load's own transaction."""
LOADS_DDL = (f"create table if not exists {RAW_SCHEMA}.{LOADS} (load_id bigint, "
             "raw_table varchar(64), load_mode varchar(16), loaded_at timestamp, "
             "rows_added bigint, rows_removed bigint)")


@dataclass(frozen=True)
class RawTable:
    """One raw table: its name, its typed columns in order, and its logical key."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self, schema: str = RAW_SCHEMA) -> str:
        """The `create table` statement for this table in `schema`, with its load-time column."""
        cols = ", ".join(f"{name} {sql_type}" for name, sql_type in self.columns)
        return (f"create table {schema}.{self.name} ({cols}, "
                f"{LOADED_AT} timestamp default {LOADED_AT_DEFAULT}, {LOAD_ID} bigint)")


LOADED_AT_DEFAULT = "timezone('utc', now())"
"""The load transaction's start time in UTC: every row of one load gets the same value."""


@cache
def _declaration(path: Path = PROJECT_FILE) -> dict[str, Any]:
    project = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables: dict[str, Any] = project["vars"]["raw_data_tables"]
    return tables


def raw_tables(path: Path = PROJECT_FILE) -> tuple[RawTable, ...]:
    """The declared raw tables, in their declared order."""
    return tuple(
        RawTable(name, tuple((str(c), str(t)) for c, t in spec["columns"].items()),
                 tuple(spec["key"]))
        for name, spec in _declaration(path).items()
    )


RAW_TABLES: tuple[RawTable, ...] = raw_tables()

TABLES_BY_NAME: dict[str, RawTable] = {table.name: table for table in RAW_TABLES}
