"""Property-based tests (hypothesis) of the CSV loader: headers, round trips, arbitrary bytes.

- any order, case and padding of a table's column names is accepted, and any header missing a
  column or naming an unknown one is refused, naming file, line 1 and the column;
- any rows of valid values, written by a standard CSV writer (quotes, commas, newlines, any
  Unicode), load back exactly, NULLs included;
- any bytes after a valid header either load or fail with a LoadError naming the file, and on
  failure raw_data is exactly as it was.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.loader import LoadError, load, plan
from warehouse.schema import RAW_TABLES, TABLES_BY_NAME, RawTable
from warehouse.server import Warehouse

from .conftest import DbtProject

DB_SETTINGS = settings(max_examples=40, deadline=None,
                       suppress_health_check=[HealthCheck.function_scoped_fixture])


def _in_dir(files: dict[str, bytes]) -> tuple[tempfile.TemporaryDirectory[str], Path]:
    tmp = tempfile.TemporaryDirectory()
    for name, content in files.items():
        (Path(tmp.name) / name).write_bytes(content)
    return tmp, Path(tmp.name)


@st.composite
def spelled_headers(draw: st.DrawFn) -> tuple[RawTable, list[str]]:
    """A table and its column names in any order, any letter case, padded with spaces."""
    table = draw(st.sampled_from(RAW_TABLES))
    names = draw(st.permutations(table.column_names))
    spelled = []
    for name in names:
        upper = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
        cased = "".join(c.upper() if u else c for c, u in zip(name, upper, strict=True))
        spelled.append(" " * draw(st.integers(0, 2)) + cased + " " * draw(st.integers(0, 2)))
    return table, spelled


@given(spelled_headers())
def test_any_order_case_and_padding_of_the_columns_is_accepted(
    case: tuple[RawTable, list[str]],
) -> None:
    table, header = case
    tmp, data = _in_dir({f"{table.name}.csv": (",".join(header) + "\n").encode()})
    with tmp:
        assert plan(data).columns[table.name] == tuple(n.strip().lower() for n in header)


@given(
    st.sampled_from(RAW_TABLES).flatmap(
        lambda table: st.tuples(
            st.just(table),
            st.lists(st.sampled_from(table.column_names), unique=True,
                     max_size=len(table.column_names) - 1),
            st.lists(st.from_regex(r"[a-z_]{1,12}", fullmatch=True)
                     .filter(lambda name: name not in table.column_names), max_size=2),
        )
    )
)
def test_a_header_missing_or_adding_a_column_is_refused_by_name(
    case: tuple[RawTable, list[str], list[str]],
) -> None:
    table, kept, extra = case
    tmp, data = _in_dir({f"{table.name}.csv": (",".join(kept + extra) + "\n").encode()})
    with tmp, pytest.raises(LoadError) as error:
        plan(data)
    message = str(error.value)
    assert message.startswith(f"{data / table.name}.csv: line 1: ")
    missing = [c for c in table.column_names if c not in kept]
    assert all(name in message for name in missing + extra)


# Values every raw type accepts; text is any Unicode PostgreSQL stores (no NUL, no surrogate).
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
               min_size=1, max_size=16)
VALUES = {
    "int": st.integers(-(2**31), 2**31 - 1),
    "smallint": st.integers(-(2**15), 2**15 - 1),
    "bigint": st.integers(-(2**63), 2**63 - 1),
    "boolean": st.booleans(),
    "timestamp": st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    "date": st.dates(),
    "varchar(16)": TEXT,
    "varchar(32)": TEXT,
    "numeric(12,2)": st.decimals(min_value=-(10**9), max_value=10**9, places=2,
                                 allow_nan=False, allow_infinity=False),
}


def rows_of(table: RawTable) -> st.SearchStrategy[list[tuple[object, ...]]]:
    # A one-column NULL would be a blank line, which CSV writers quote as "" (an empty string).
    nullable = len(table.columns) > 1
    columns = [(st.none() | VALUES[t]) if nullable else VALUES[t] for _, t in table.columns]
    return st.lists(st.tuples(*columns), max_size=8)


def _csv(table: RawTable, rows: list[tuple[object, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, CR and LF in values quoted
    writer.writerow(table.column_names)
    for row in rows:  # None is an empty field (NULL in COPY's CSV format)
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode("utf-8")


@pytest.mark.e2e
@DB_SETTINGS
@given(st.sampled_from(RAW_TABLES).flatmap(lambda t: st.tuples(st.just(t), rows_of(t))))
def test_any_valid_rows_written_as_csv_load_back_exactly(
    warehouse: Warehouse, dbt_project: DbtProject,
    case: tuple[RawTable, list[tuple[object, ...]]],
) -> None:
    table, rows = case
    tmp, data = _in_dir({f"{table.name}.csv": _csv(table, rows)})
    with tmp:
        assert load(warehouse.uri(), data)[table.name] == len(rows)
    # The contract's columns (the load adds `_loaded_at`, which the CSV does not carry).
    loaded = dbt_project.query(f"select {', '.join(table.column_names)} from raw_data.{table.name}")
    assert Counter(loaded) == Counter(rows)


def _raw_digest(project: DbtProject) -> list[tuple[object, ...]]:
    return [project.query(f"select count(*), md5(coalesce(string_agg(t::text, '|' "
                          f"order by t::text), '')) from raw_data.{table.name} as t")[0]
            for table in RAW_TABLES]


@pytest.mark.e2e
@DB_SETTINGS
@given(body=st.binary(max_size=200))
def test_any_bytes_load_or_fail_clearly_leaving_raw_data_untouched(
    warehouse: Warehouse, dbt_project: DbtProject, body: bytes
) -> None:
    table = TABLES_BY_NAME["user_session_channel"]
    before_files = {"channel.csv": b"channelname\nGoogle\nNaver\n"}
    tmp, data = _in_dir(before_files)
    with tmp:
        load(warehouse.uri(), data)
    before = _raw_digest(dbt_project)
    header = (",".join(table.column_names) + "\n").encode()
    tmp, data = _in_dir({**before_files, f"{table.name}.csv": header + body})
    with tmp:
        try:
            load(warehouse.uri(), data)
        except LoadError as error:
            assert str(error).startswith(str(data / f"{table.name}.csv"))
            assert _raw_digest(dbt_project) == before
