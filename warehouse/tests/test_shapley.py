"""Shapley attribution and path transforms against independent references.

Shapley: the general Shapley formula, computed in Python with exact fractions over every
coalition of the month's channels, in the game the contract defines (a coalition is worth the
conversion rates of the channel sets it contains); the project's SQL never enumerates a
coalition. Checked on the contract's worked example and, with hypothesis, on random journey
sets run through the project's compiled SQL in a scratch schema. Path transforms: the last
`path_max_steps` steps of each transform, from Python string handling, on random paths.
The default data set's rows are checked end to end in test_markov.py (its build has them).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import DbtProject

pytestmark = pytest.mark.e2e

SCRATCH = "shapley_reference"
TOLERANCE = 1e-9
MODELS = {"channel_shapley_values_monthly": "marketing",
          "path_transform_summary_monthly": "marketing"}


@dataclass(frozen=True)
class SetJourney:
    """One journey as Shapley sees it: its month, distinct channels and outcome."""

    month: dt.date
    channels: frozenset[str]
    converted: bool
    net_revenue: int


def general_shapley(rates: dict[frozenset[str], Fraction]) -> dict[str, Fraction]:
    """Each channel's Shapley value in the game v(S) = sum of rates[T] over the sets T inside
    S, by the general formula: the weighted marginal contribution over every coalition."""
    players = sorted(set().union(*rates))
    n = len(players)

    def worth(coalition: frozenset[str]) -> Fraction:
        return sum((rate for members, rate in rates.items() if members <= coalition),
                   Fraction(0))

    values = {}
    for player in players:
        others = [p for p in players if p != player]
        value = Fraction(0)
        for size in range(n):
            weight = Fraction(math.factorial(size) * math.factorial(n - size - 1),
                              math.factorial(n))
            for coalition in combinations(others, size):
                members = frozenset(coalition)
                value += weight * (worth(members | {player}) - worth(members))
        values[player] = value
    return values


def shapley_reference(journeys: Iterable[SetJourney]) -> dict[
        tuple[dt.date, str], tuple[Fraction, Fraction, Fraction, Fraction]]:
    """(month, channel) -> (value, share, attributed conversions, attributed revenue) for
    every channel with a value above 0."""
    by_month: defaultdict[dt.date, list[SetJourney]] = defaultdict(list)
    for journey in journeys:
        by_month[journey.month].append(journey)
    result = {}
    for month, month_journeys in by_month.items():
        counts: defaultdict[frozenset[str], list[int]] = defaultdict(lambda: [0, 0])
        for journey in month_journeys:
            counts[journey.channels][0] += 1
            counts[journey.channels][1] += journey.converted
        rates = {members: Fraction(won, total) for members, (total, won) in counts.items()}
        values = general_shapley(rates)
        total_value = sum(values.values())
        conversions = [j for j in month_journeys if j.converted]
        revenue = sum(j.net_revenue for j in conversions)
        for channel, value in values.items():
            if value > 0:
                share = value / total_value
                result[(month, channel)] = (value, share, len(conversions) * share,
                                            revenue * share)
    return result


def set_key(channel: str) -> str:
    """A channel name as fct_journeys.channel_set holds it."""
    return channel.replace("%", "%25").replace("+", "%2B")


def path_key(steps: Sequence[str]) -> str:
    """A path as fct_journeys' path keys hold it: names escaped, so ' > ' separates steps."""
    return " > ".join(c.replace("%", "%25").replace(">", "%3E") for c in steps)


def last_steps(path: Sequence[str], steps: int) -> str:
    return " > ".join(path[-steps:])


def exposure(path: Sequence[str]) -> list[str]:
    return [c for i, c in enumerate(path) if i == 0 or path[i - 1] != c]


def first_touch(path: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(path))


def test_the_reference_gives_the_contracts_worked_example() -> None:
    f, g, l_ = frozenset("F"), frozenset("G"), frozenset("L")
    rates = {f: Fraction(18, 100), g: Fraction(4, 100), l_: Fraction(8, 100),
             f | g: Fraction(10, 100), f | l_: Fraction(26, 100), g | l_: Fraction(7, 100),
             f | g | l_: Fraction(27, 100)}
    values = general_shapley(rates)
    total = sum(values.values())
    assert {c: v / total for c, v in values.items()} == {
        "F": Fraction(450, 1000), "G": Fraction(215, 1000), "L": Fraction(335, 1000)}


@pytest.fixture(scope="module")
def scratch(dbt_project: DbtProject) -> Iterator[psycopg2.extensions.connection]:
    """A scratch schema where a journeys table (and a channels table) feed the project's
    compiled Shapley and path-transform SQL."""
    dbt_project.dbt("compile", "--select", *MODELS)
    compiled = dbt_project.workdir / "target" / "compiled" / "elt" / "models" / "marts"
    conn = psycopg2.connect(dbt_project.warehouse.uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"drop schema if exists {SCRATCH} cascade; create schema {SCRATCH}")
        cur.execute(f"""create table {SCRATCH}.fct_journeys (
            journey_month date, channel_set varchar(65535), distinct_channels integer,
            converted boolean, net_revenue bigint, exposure_path_key varchar(65535),
            first_touch_path_key varchar(65535))""")
        cur.execute(f"create table {SCRATCH}.int_sessions_monthly_by_channel"
                    " (month date, channel varchar(32))")
        for model, folder in MODELS.items():
            text = (compiled / folder / f"{model}.sql").read_text()
            for relation in ('"analytics"."fct_journeys"',
                             '"staging"."int_sessions_monthly_by_channel"'):
                text = text.replace(relation, f'"{SCRATCH}".{relation.split(".")[1]}')
            assert '"analytics".' not in text and '"staging".' not in text, text
            cur.execute(f"create view {SCRATCH}.{model} as {text}")
    try:
        yield conn
    finally:
        with conn.cursor() as cur:
            cur.execute(f"drop schema {SCRATCH} cascade")
        conn.close()


def _load(conn: psycopg2.extensions.connection,
          journeys: Sequence[tuple[dt.date, Sequence[str], bool, int]]) -> None:
    """Journeys (month, path, converted, net revenue) into the scratch fct_journeys."""
    rows = [(month, " + ".join(set_key(c) for c in sorted(set(path))), len(set(path)),
             converted, revenue,
             path_key(exposure(path)), path_key(first_touch(path)))
            for month, path, converted, revenue in journeys]
    channels = sorted({(month, c) for month, path, _, _ in journeys for c in path})
    with conn.cursor() as cur:
        cur.execute(f"truncate {SCRATCH}.fct_journeys; "
                    f"truncate {SCRATCH}.int_sessions_monthly_by_channel")
        cur.executemany(f"insert into {SCRATCH}.fct_journeys values (%s, %s, %s, %s, %s, %s, %s)",
                        rows)
        cur.executemany(f"insert into {SCRATCH}.int_sessions_monthly_by_channel values (%s, %s)",
                        channels)


def _shapley_rows(conn: psycopg2.extensions.connection) -> dict[
        tuple[dt.date, str], tuple[float, float, float, float]]:
    with conn.cursor() as cur:
        cur.execute("select month, channel, shapley_value, credit_share, attributed_conversions,"
                    f" attributed_revenue from {SCRATCH}.channel_shapley_values_monthly")
        return {(m, c): (v, s, float(n), float(r)) for m, c, v, s, n, r in cur.fetchall()}


def _assert_equal(found: dict[tuple[dt.date, str], tuple[float, ...]],
                  expected: dict[tuple[dt.date, str], tuple[Fraction, ...]]) -> None:
    assert set(found) == set(expected)
    for key, values in expected.items():
        assert all(abs(float(a) - float(b)) <= TOLERANCE
                   for a, b in zip(found[key], values, strict=True)), (key, found[key], values)


def test_the_sql_gives_the_contracts_worked_example(
    scratch: psycopg2.extensions.connection,
) -> None:
    # 100 journeys per channel set, converting at the contract's rates (in %)
    month = dt.date(2019, 5, 1)
    rates = {"F": 18, "G": 4, "L": 8, "FG": 10, "FL": 26, "GL": 7, "FGL": 27}
    journeys = [(month, list(members), k < rate, 100 if k < rate else 0)
                for members, rate in rates.items() for k in range(100)]
    _load(scratch, journeys)
    shares = {c: s for (_, c), (_, s, _, _) in _shapley_rows(scratch).items()}
    assert {c: round(s, 9) for c, s in shares.items()} == {"F": 0.45, "G": 0.215, "L": 0.335}


MONTHS = (dt.date(2019, 5, 1), dt.date(2019, 6, 1))
# names that contain one another, a space, the ' + ' between a set's names, the ' > ' between a
# path's steps and a '%': a set's members are found by name, a path's steps are steps
CHANNELS = ("Go", "Google", "Naver", "N", "Paid Search", "Go + Naver", "50% off", "Go > Naver")
journey_lists = st.lists(
    st.tuples(st.sampled_from(MONTHS),
              st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=7),
              st.booleans(), st.integers(min_value=1, max_value=500)),
    min_size=1, max_size=14)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(journey_lists)
def test_shapley_sql_equals_the_general_formula_on_random_journeys(
    scratch: psycopg2.extensions.connection,
    drawn: list[tuple[dt.date, list[str], bool, int]],
) -> None:
    journeys = [(month, path, converted, revenue if converted else 0)
                for month, path, converted, revenue in drawn]
    _load(scratch, journeys)
    expected = shapley_reference(SetJourney(m, frozenset(p), c, r) for m, p, c, r in journeys)
    _assert_equal(_shapley_rows(scratch), expected)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(journey_lists)
def test_path_transform_summary_keeps_the_last_steps_of_each_transform(
    scratch: psycopg2.extensions.connection,
    drawn: list[tuple[dt.date, list[str], bool, int]],
) -> None:
    journeys = [(month, path, converted, revenue if converted else 0)
                for month, path, converted, revenue in drawn]
    _load(scratch, journeys)
    expected: defaultdict[tuple[dt.date, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for month, path, converted, revenue in journeys:
        for transform, steps in (("exposure", exposure(path)),
                                 ("first_touch", first_touch(path))):
            counts = expected[(month, transform, last_steps(steps, 5))]
            counts[0 if converted else 1] += 1
            counts[2] += revenue
    with scratch.cursor() as cur:
        cur.execute("select journey_month, path_transform, path, converting_journeys,"
                    " non_converting_journeys, net_revenue"
                    f" from {SCRATCH}.path_transform_summary_monthly")
        found = {(m, t, p): [c, n, r] for m, t, p, c, n, r in cur.fetchall()}
    assert found == dict(expected)
