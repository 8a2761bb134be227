"""A small hand-made data set with hand-computed marts (fixtures/hand_computed), end to end."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from warehouse.loader import load

from .conftest import DbtProject

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "hand_computed"
MARTS = sorted(path.stem for path in (FIXTURE / "expected").glob("*.csv"))


def canonical(value: object) -> str:
    """One text form per value: numbers to 6 decimals, booleans and nulls spelled out."""
    if value is None or value == "":
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)):
        return f"{float(value):.6f}"
    text = str(value)
    try:
        return f"{float(text):.6f}"
    except ValueError:
        return text


@pytest.fixture(scope="module")
def built(dbt_project: DbtProject) -> DbtProject:
    load(dbt_project.warehouse.uri(), FIXTURE / "raw")
    dbt_project.dbt("seed")
    dbt_project.dbt("run", "--full-refresh")
    dbt_project.dbt("snapshot")
    return dbt_project


@pytest.mark.parametrize("mart", MARTS)
def test_mart_equals_the_hand_computed_rows(built: DbtProject, mart: str) -> None:
    with (FIXTURE / "expected" / f"{mart}.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        columns = next(reader)
        expected = sorted(tuple(canonical(v) for v in row) for row in reader)
    actual = sorted(
        tuple(canonical(v) for v in row)
        for row in built.query(f"select {', '.join(columns)} from analytics.{mart}")
    )
    missing = [row for row in expected if row not in actual]
    unexpected = [row for row in actual if row not in expected]
    assert not missing and not unexpected, (
        f"{mart} ({', '.join(columns)}):\n  expected but missing: {missing}\n"
        f"  present but not expected: {unexpected}"
    )


def test_the_data_tests_pass_on_the_hand_made_data(built: DbtProject) -> None:
    result = built.dbt("test", "--exclude", "test_type:unit")
    assert "ERROR=0" in result.stdout
