"""The raw_data tables as the ETL jobs load them (see shared/CONTRACT.md)."""

from __future__ import annotations

from dataclasses import dataclass

RAW_SCHEMA = "raw_data"


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
        """The `create table` statement for this table in `schema`."""
        cols = ", ".join(f"{name} {sql_type}" for name, sql_type in self.columns)
        return f"create table {schema}.{self.name} ({cols})"


RAW_TABLES: tuple[RawTable, ...] = (
    RawTable(
        "user_session_channel",
        (("userid", "int"), ("sessionid", "varchar(32)"), ("channel", "varchar(32)")),
        ("sessionid",),
    ),
    RawTable(
        "session_timestamp",
        (("sessionid", "varchar(32)"), ("ts", "timestamp")),
        ("sessionid",),
    ),
    RawTable(
        "session_transaction",
        (("sessionid", "varchar(32)"), ("refunded", "boolean"), ("amount", "int")),
        ("sessionid",),
    ),
    RawTable("channel", (("channelname", "varchar(32)"),), ("channelname",)),
    RawTable(
        "nps",
        (("id", "int"), ("created", "timestamp"), ("score", "smallint")),
        ("id",),
    ),
    RawTable(
        "user_event",
        (
            ("user_id", "int"),
            ("datestamp", "timestamp"),
            ("item_id", "int"),
            ("clicked", "int"),
            ("purchased", "int"),
            ("paidamount", "int"),
        ),
        ("user_id", "datestamp", "item_id"),
    ),
    RawTable(
        "user_variant",
        (("user_id", "int"), ("variant_id", "varchar(32)")),
        ("user_id",),
    ),
    RawTable(
        "user_metadata",
        (
            ("user_id", "int"),
            ("age", "varchar(16)"),
            ("gender", "varchar(16)"),
            ("updated_at", "timestamp"),
        ),
        ("user_id", "updated_at"),
    ),
    RawTable(
        "ad_spend",
        (
            ("date", "date"),
            ("channel", "varchar(32)"),
            ("impressions", "bigint"),
            ("clicks", "bigint"),
            ("spend", "numeric(12,2)"),
        ),
        ("date", "channel"),
    ),
)

TABLES_BY_NAME: dict[str, RawTable] = {table.name: table for table in RAW_TABLES}
