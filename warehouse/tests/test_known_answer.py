"""Hand-made raw data sets with hand-computed marts, checked end to end.

Each folder under fixtures/ named in DATASETS holds `raw/<table>.csv` (loaded with the project's
loader) and `expected/<mart>.csv` (worked out by hand from shared/CONTRACT.md, not from the
models; each folder's README.md shows the arithmetic). For every expected file the test builds the
project on that raw data and compares `analytics.<mart>` with it: rows as a multiset in any order,
only the expected file's columns, numbers within TOLERANCE, an empty field meaning NULL.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from warehouse.loader import load

from .conftest import DbtProject

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# known_answer: 5 users, 19 sessions, 5 attribution models over May-July 2019, every bad-row kind.
# hand_computed: the first, smaller set (4 users, 14 sessions).
# markov_published: the journeys of two published Markov attribution walk-throughs
# (docs/attribution.md).
DATASETS = ("known_answer", "hand_computed", "markov_published")
TOLERANCE = 1e-6

Value = str | float | None
Row = tuple[Value, ...]


def _cases() -> list[tuple[str, str]]:
    return [
        (dataset, path.stem)
        for dataset in DATASETS
        for path in sorted((FIXTURES / dataset / "expected").glob("*.csv"))
    ]


def normalise(value: object) -> Value:
    """One comparable form per value: None, a float for anything numeric, else ISO text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    text = str(value)
    try:
        return float(Decimal(text))
    except InvalidOperation:
        return text


def rows_match(expected: Row, actual: Row) -> bool:
    """Equal text and nulls; numbers within TOLERANCE. NaN matches nothing: no expected value
    is NaN, and `abs(nan - x) > TOLERANCE` is false, so it must be caught before."""
    for want, got in zip(expected, actual, strict=True):
        if isinstance(want, float) and isinstance(got, float):
            if math.isnan(want) or math.isnan(got) or abs(want - got) > TOLERANCE:
                return False
        elif want != got:
            return False
    return True


def unmatched(expected: Sequence[Row], actual: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """Pair rows one to one (duplicates count); return (expected unpaired, actual unpaired)."""
    left = list(actual)
    missing: list[Row] = []
    for row in expected:
        hit = next((i for i, other in enumerate(left) if rows_match(row, other)), None)
        if hit is None:
            missing.append(row)
        else:
            left.pop(hit)
    return missing, left


def read_expected(dataset: str, mart: str) -> tuple[list[str], list[Row]]:
    with (FIXTURES / dataset / "expected" / f"{mart}.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        columns = next(reader)
        return columns, [tuple(normalise(v) for v in row) for row in reader]


@pytest.fixture(scope="module")
def build(dbt_project: DbtProject) -> Callable[[str], DbtProject]:
    """Load a data set's raw CSVs and build the project on them (once per data set in a row)."""
    current: list[str] = []

    def ensure(dataset: str) -> DbtProject:
        if current != [dataset]:
            current.clear()
            load(dbt_project.warehouse.uri(), FIXTURES / dataset / "raw")
            # Snapshots keep history across loads; start each data set from an empty one.
            dbt_project.query("drop schema if exists snapshots cascade")
            # Seeds, models and snapshots in one dbt command; no data tests (one of severity
            # error must not stop the marts: the test below runs them).
            dbt_project.dbt("build", "--full-refresh", "--exclude", "resource_type:test",
                            "resource_type:unit_test")
            current.append(dataset)
        return dbt_project

    return ensure


@pytest.mark.parametrize(("dataset", "mart"), _cases(), ids=lambda v: str(v))
def test_mart_equals_the_hand_computed_rows(
    build: Callable[[str], DbtProject], dataset: str, mart: str
) -> None:
    project = build(dataset)
    columns, expected = read_expected(dataset, mart)
    actual = [
        tuple(normalise(v) for v in row)
        for row in project.query(f"select {', '.join(columns)} from analytics.{mart}")
    ]
    missing, unexpected = unmatched(expected, actual)
    assert not missing and not unexpected, (
        f"{dataset}: analytics.{mart} ({', '.join(columns)})\n"
        "  expected but missing:\n    "
        + "\n    ".join(map(str, sorted(missing, key=str)))
        + "\n  present but not expected:\n    "
        + "\n    ".join(map(str, sorted(unexpected, key=str)))
    )


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_data_tests_pass_on_the_hand_made_data(
    build: Callable[[str], DbtProject], dataset: str
) -> None:
    result = build(dataset).dbt("test", "--exclude", "test_type:unit", check=False)
    assert "ERROR=0" in result.stdout, result.stdout[-6000:]


def test_ad_spend_without_sessions_is_reported_not_lost(
    build: Callable[[str], DbtProject],
) -> None:
    """known_answer holds spend on two channel-months without sessions (TIKTOK and Facebook in
    July): no mart's grain has room for it, so a warn test lists it instead of losing it."""
    project = build("known_answer")
    test = "assert_ad_spend_reaches_channel_performance"
    result = project.dbt("test", "--select", test)
    assert "WARN=1" in result.stdout and "Got 2 results" in result.stdout, result.stdout[-3000:]


def test_nan_never_matches_a_number() -> None:
    assert rows_match((1.0, "a"), (1.0 + 1e-9, "a"))
    assert not rows_match((1.0,), (float("nan"),))
    assert not rows_match((float("nan"),), (1.0,))
    assert not rows_match((float("nan"),), (float("nan"),))
    assert not rows_match((None,), (float("nan"),))
