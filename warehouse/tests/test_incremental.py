"""Incremental builds equal full refreshes, row for row, over a daily load cycle with late rows.

A generated data set is cut into dated slices (`generate(since=, until=)`): everything up to
2019-11-25, then one slice per day to 2019-11-30 (the last one open-ended). Some rows of each day
are held back and arrive with the next day's load, inside `incremental_lookback_days` (3): a
session's timestamp or transaction a day late, a channel row two days late, an A/B event a day
late. After each `warehouse load --append` the scheduled build (`warehouse build`: dbt build of
what has something new) runs (its tests must pass); at the end every model in `analytics` is
compared with a `--full-refresh` build of the same raw data.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from warehouse.generator import generate
from warehouse.loader import load
from warehouse.schema import RAW_TABLES

from .conftest import DbtProject, assert_same_rows
from .test_load_order_properties import REFRESH

pytestmark = pytest.mark.e2e

SCALE = 0.1
SEED = 11
LAST_BULK_DAY = date(2019, 11, 25)
DAYS = [date(2019, 11, 26) + timedelta(n) for n in range(5)]
# table -> (date column index, how many days late, every n-th row of a day arrives late)
LATE = {
    "session_timestamp": (1, 1, 6),
    "session_transaction": (None, 1, 3),
    "user_session_channel": (None, 2, 9),
    "user_event": (1, 1, 4),
}
INCREMENTAL = ("fct_sessions", "fct_user_events", "variant_user_daily", "channel_monthly_summary",
               "channel_attribution_monthly", "active_users_monthly", "nps_monthly")
NOT_COMPARED = ("raw_data_quality_history",)  # one row per build by design


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _session_days(slice_dir: Path) -> dict[str, str]:
    _, rows = _read(slice_dir / "session_timestamp.csv")
    return {session_id: ts[:10] for session_id, ts in rows}


def make_slices(root: Path) -> list[Path]:
    """The bulk slice and one per day, with late rows moved into later days' slices."""
    slices = [root / "bulk", *[root / day.isoformat() for day in DAYS]]
    generate(slices[0], scale=SCALE, seed=SEED, until=LAST_BULK_DAY)
    for day, slice_dir in zip(DAYS, slices[1:], strict=True):
        last = day == DAYS[-1]
        generate(slice_dir, scale=SCALE, seed=SEED, since=day, until=None if last else day)
    for i, slice_dir in enumerate(slices[:-1]):
        days = _session_days(slice_dir)
        for table, (date_index, late_by, every) in LATE.items():
            header, rows = _read(slice_dir / f"{table}.csv")
            target = slices[min(i + late_by, len(slices) - 1)]
            held: list[list[str]] = []
            kept: list[list[str]] = []
            last_day = (LAST_BULK_DAY if i == 0 else DAYS[i - 1]).isoformat()
            session_column = 1 if table == "user_session_channel" else 0
            for n, row in enumerate(rows):
                when = (row[date_index][:10] if date_index is not None
                        else days.get(row[session_column], ""))
                (held if when == last_day and n % every == 0 else kept).append(row)
            _write(slice_dir / f"{table}.csv", header, kept)
            _, target_rows = _read(target / f"{table}.csv")
            _write(target / f"{table}.csv", header, target_rows + held)
    return slices


def inserted_rows(project: DbtProject) -> dict[str, int]:
    """Rows each incremental model's last statement wrote in the last dbt command."""
    return {r["unique_id"].split(".")[-1]: int(r["adapter_response"].get("rows_affected", -1))
            for r in project.run_results() if r["unique_id"].split(".")[-1] in INCREMENTAL}


def test_daily_incremental_builds_equal_a_full_refresh(dbt_project: DbtProject,
                                                       tmp_path: Path) -> None:
    slices = make_slices(tmp_path)
    whole = tmp_path / "whole"  # late rows move between slices; none is lost or copied
    generate(whole, scale=SCALE, seed=SEED)
    for table in RAW_TABLES:
        parts = Counter(tuple(row) for s in slices for row in _read(s / f"{table.name}.csv")[1])
        assert parts == Counter(tuple(row) for row in _read(whole / f"{table.name}.csv")[1])

    uri = dbt_project.warehouse.uri()
    load(uri, slices[0])
    dbt_project.dbt("build", "--full-refresh", "--exclude", "test_type:unit")
    total_sessions = dbt_project.query("select count(*) from analytics.fct_sessions")[0][0]
    for slice_dir in slices[1:]:
        load(uri, slice_dir, append=True)
        # production's daily build: no unit tests (they check code, not the day's rows)
        outcome = dbt_project.scheduled_build()
        assert outcome.build is not None and outcome.build.success, outcome.build
        assert not [r for r in dbt_project.run_results() if r["unique_id"].startswith("unit_test.")]
        written = inserted_rows(dbt_project)
        assert 0 < written["fct_sessions"] < total_sessions / 10, written
    # the tests scoped to what each build rebuilt passed; every test over every row passes too
    dbt_project.dbt("test", "--exclude", "test_type:unit", "--vars", "{test_scope: full}")
    incremental = dbt_project.table_rows(exclude=NOT_COMPARED)
    late = dbt_project.query(
        "select count(*) from analytics.fct_sessions where session_date = '2019-11-29'")[0][0]
    assert late > 0

    dbt_project.dbt(*REFRESH)
    full = dbt_project.table_rows(exclude=NOT_COMPARED)
    assert_same_rows(full, incremental)
    assert sum(full["fct_sessions"].values()) > total_sessions
