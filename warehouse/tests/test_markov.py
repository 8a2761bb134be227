"""Markov attribution against an independent reference: journeys rebuilt in Python from
`fct_sessions` by the contract's words, and the absorption probabilities solved exactly with
numpy (`numpy.linalg.solve`), compared with every `markov` row of the marts.

Two checks: the default data set, built end to end (every month, channel and removal effect,
every markov row of channel_attribution_monthly, every journey's path, its transforms and
channel set, and every Shapley row against test_shapley's general formula); and hypothesis over
small random journey sets, run through the project's own compiled SQL (touches -> transitions
-> removal effects -> credit) in a scratch schema, where repeats, cycles, months without a
conversion and channels seen only in non-converting journeys come up often.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.generator import generate
from warehouse.loader import load

from .conftest import DbtProject
from .test_shapley import (
    SetJourney,
    exposure,
    first_touch,
    path_key,
    set_key,
    shapley_reference,
)

pytestmark = pytest.mark.e2e

LOOKBACK = dt.timedelta(days=30)  # the default attribution_lookback_days
TOLERANCE = 1e-6
SCRATCH = "markov_reference"
MODELS = ("int_markov_transitions_monthly", "int_markov_removal_effects_monthly",
          "int_markov_attribution_monthly")


@dataclass(frozen=True)
class Journey:
    """One journey as the contract defines it."""

    journey_id: str
    month: dt.date
    converted: bool
    channels: tuple[str, ...]  # in time order, ties by session_id
    net_revenue: int


def journeys_from_sessions(
    sessions: Sequence[tuple[str, int, str, dt.datetime, bool, int]],
) -> list[Journey]:
    """The contract's journeys from (session_id, user_id, channel, session_at, is_conversion,
    net_amount) rows: a conversion's touchpoints, and each user's sessions after their last
    conversion within the lookback before the latest of them."""
    by_user: defaultdict[int, list[tuple[dt.datetime, str, str, bool, int]]] = defaultdict(list)
    for session_id, user_id, channel, at, is_conversion, net in sessions:
        by_user[user_id].append((at, session_id, channel, is_conversion, net))
    journeys = []
    for user_id, rows in by_user.items():
        rows.sort()
        last_conversion = -1
        for i, (at, session_id, _, is_conversion, net) in enumerate(rows):  # ties: session_id
            if is_conversion:  # both ends inclusive, a later session at the same time too
                touches = [r for r in rows if at - LOOKBACK <= r[0] <= at]
                journeys.append(Journey(session_id, at.date().replace(day=1), True,
                                        tuple(r[2] for r in touches), net))
                last_conversion = i
        after = rows[last_conversion + 1:]
        if after:
            last_at = after[-1][0]
            touches = [r for r in after if last_at - LOOKBACK <= r[0]]
            journeys.append(Journey(f"open:{user_id}", last_at.date().replace(day=1), False,
                                    tuple(r[2] for r in touches), 0))
    return journeys


def removal_effects(journeys: Sequence[Journey]) -> dict[str, tuple[float, float, float | None]]:
    """For one month's journeys: channel -> (P without it, P, removal effect), by an exact
    linear solve of the absorbing chain (consecutive repeats merged)."""
    steps: Counter[tuple[str, str]] = Counter()
    for journey in journeys:
        path = journey.channels
        merged = [c for i, c in enumerate(path) if i == 0 or path[i - 1] != c]
        states = ["(start)", *merged, "(conversion)" if journey.converted else "(null)"]
        steps.update(zip(states, states[1:], strict=False))
    channels = sorted({c for j in journeys for c in j.channels})
    index = {c: i for i, c in enumerate(channels)}
    leaving: Counter[str] = Counter()
    for (source, _), count in steps.items():
        leaving[source] += count
    n = len(channels)
    q, r, s = np.zeros((n, n)), np.zeros(n), np.zeros(n)
    for (source, target), count in steps.items():
        p = count / leaving[source]
        if source == "(start)":
            s[index[target]] += p
        elif target == "(conversion)":
            r[index[source]] += p
        elif target != "(null)":
            q[index[source], index[target]] += p

    def conversion_probability(removed: int | None) -> float:
        q2, r2, s2 = q.copy(), r.copy(), s.copy()
        if removed is not None:  # transitions into it go to null; it is never left
            q2[:, removed] = 0.0
            q2[removed, :] = 0.0
            r2[removed] = 0.0
            s2[removed] = 0.0
        return float(s2 @ np.linalg.solve(np.eye(n) - q2, r2))

    full = conversion_probability(None)
    result = {}
    for channel, i in index.items():
        without = conversion_probability(i)
        result[channel] = (without, full, 1 - without / full if full > 0 else None)
    return result


def reference(journeys: Sequence[Journey]) -> tuple[
        dict[tuple[dt.date, str], tuple[float, float, float | None]],
        dict[tuple[dt.date, str], tuple[float, float]]]:
    """Removal effects per (month, channel) and markov credit (conversions, revenue) per
    (month, channel) with an effect above 0."""
    by_month: defaultdict[dt.date, list[Journey]] = defaultdict(list)
    for journey in journeys:
        by_month[journey.month].append(journey)
    effects, credit = {}, {}
    for month, month_journeys in by_month.items():
        month_effects = removal_effects(month_journeys)
        effects.update({(month, c): v for c, v in month_effects.items()})
        # the model's rule: an effect within 1e-12 of 0 (relative to P) is rounding, i.e. 0
        positive = {c: e for c, (w, p, e) in month_effects.items()
                    if e is not None and p - w > 1e-12 * p}
        conversions = [j for j in month_journeys if j.converted]
        total = sum(positive.values())
        for channel, effect in positive.items():
            share = effect / total
            credit[(month, channel)] = (len(conversions) * share,
                                        sum(j.net_revenue for j in conversions) * share)
    return effects, credit


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= TOLERANCE


@pytest.fixture(scope="module")
def default_build(dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    data = tmp_path_factory.mktemp("default")
    generate(data)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt("run", "--full-refresh", "--select",
                    "+channel_attribution_monthly", "+channel_removal_effects_monthly",
                    "+fct_journeys", "fct_sessions")
    return dbt_project


def test_markov_rows_of_the_default_data_equal_an_exact_numpy_solve(
    default_build: DbtProject,
) -> None:
    sessions = default_build.query(
        "select session_id, user_id, channel, session_at, is_conversion, net_amount "
        "from analytics.fct_sessions")
    journeys = journeys_from_sessions(sessions)
    effects, credit = reference(journeys)

    found = {(m, c): (w, p, e) for m, c, w, p, e in default_build.query(
        "select month, channel, conversion_probability, full_conversion_probability,"
        " removal_effect from analytics.channel_removal_effects_monthly")}
    assert set(found) == set(effects)
    wrong = [(k, found[k], effects[k]) for k in effects
             if not all(close(a, b) for a, b in zip(found[k], effects[k], strict=True))]
    assert not wrong, wrong[:5]
    # the default data set is meant to show something: P < 1, effects that differ
    assert all(0 < p < 1 for _, p, _ in effects.values())

    markov = {(m, c): (float(n), float(r)) for m, c, n, r in default_build.query(
        "select month, channel, attributed_conversions, attributed_revenue"
        " from analytics.channel_attribution_monthly where attribution_model = 'markov'")}
    assert set(markov) == set(credit)
    wrong_credit = [(k, markov[k], credit[k]) for k in credit
                    if not all(close(a, b) for a, b in zip(markov[k], credit[k], strict=True))]
    assert not wrong_credit, wrong_credit[:5]

    paths = {j: (p, conv, m, n) for j, p, conv, m, n in default_build.query(
        "select journey_id, path, converted, journey_month, net_revenue"
        " from analytics.fct_journeys")}
    assert paths == {j.journey_id: (" > ".join(j.channels), j.converted, j.month, j.net_revenue)
                     for j in journeys}


def test_path_transforms_and_shapley_rows_of_the_default_data_equal_the_references(
    default_build: DbtProject,
) -> None:
    sessions = default_build.query(
        "select session_id, user_id, channel, session_at, is_conversion, net_amount "
        "from analytics.fct_sessions")
    journeys = journeys_from_sessions(sessions)
    transforms = {j: (e, f, ek, fk, s) for j, e, f, ek, fk, s in default_build.query(
        "select journey_id, exposure_path, first_touch_path, exposure_path_key,"
        " first_touch_path_key, channel_set from analytics.fct_journeys")}
    assert transforms == {
        j.journey_id: (" > ".join(exposure(j.channels)), " > ".join(first_touch(j.channels)),
                       path_key(exposure(j.channels)), path_key(first_touch(j.channels)),
                       " + ".join(set_key(c) for c in sorted(set(j.channels))))
        for j in journeys}

    expected = shapley_reference(SetJourney(j.month, frozenset(j.channels), j.converted,
                                            j.net_revenue) for j in journeys)
    found = {(m, c): (v, s, n, r) for m, c, v, s, n, r in default_build.query(
        "select month, channel, shapley_value, credit_share, attributed_conversions,"
        " attributed_revenue from analytics.channel_shapley_values_monthly")}
    assert set(found) == set(expected)
    wrong = [(k, found[k], expected[k]) for k in expected
             if not all(close(a, b) for a, b in zip(found[k], expected[k], strict=True))]
    assert not wrong, wrong[:5]


def _compiled(project: DbtProject) -> dict[str, str]:
    """The Markov models' compiled SQL, reading the scratch schema instead of staging: as a
    full rebuild compiles it (the transitions are incremental by month; an incremental compile
    would read only the months the last build logged)."""
    project.dbt("compile", "--full-refresh", "--select", *MODELS)
    compiled = project.workdir / "target" / "compiled" / "elt" / "models" / "intermediate"
    sql = {}
    for model in MODELS:
        text = (compiled / "marketing" / f"{model}.sql").read_text()
        assert '"staging"."int_' in text
        sql[model] = text.replace('"staging"."int_', f'"{SCRATCH}"."int_')
    return sql


@pytest.fixture(scope="module")
def scratch(dbt_project: DbtProject) -> Iterator[psycopg2.extensions.connection]:
    """A scratch schema where a journey-touches table feeds the project's Markov SQL."""
    sql = _compiled(dbt_project)
    conn = psycopg2.connect(dbt_project.warehouse.uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"drop schema if exists {SCRATCH} cascade; create schema {SCRATCH}")
        cur.execute(f"""create table {SCRATCH}.int_journey_touches (
            journey_id varchar(48), user_id integer, converted boolean,
            session_id varchar(32), channel varchar(32), session_at timestamp,
            net_revenue bigint)""")
        for model in MODELS:
            cur.execute(f"create view {SCRATCH}.{model} as {sql[model]}")
    try:
        yield conn
    finally:
        with conn.cursor() as cur:
            cur.execute(f"drop schema {SCRATCH} cascade")
        conn.close()


MONTHS = (dt.date(2019, 5, 1), dt.date(2019, 6, 1))
journey_sets = st.lists(
    st.tuples(st.sampled_from(MONTHS), st.booleans(),
              st.lists(st.sampled_from("ABCD"), min_size=1, max_size=6),
              st.integers(min_value=1, max_value=500)),
    min_size=1, max_size=12)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(journey_sets)
def test_markov_sql_equals_an_exact_solve_on_random_journeys(
    scratch: psycopg2.extensions.connection,
    drawn: list[tuple[dt.date, bool, list[str], int]],
) -> None:
    journeys = [Journey(f"j{i}", month, converted, tuple(channels), revenue if converted else 0)
                for i, (month, converted, channels, revenue) in enumerate(drawn)]
    # a journey's month is its latest touch's; a converting journey ends on the conversion's
    # own session (its session_id is the journey_id)
    rows = [(j.journey_id, i, j.converted,
             j.journey_id if j.converted and k == len(j.channels) - 1 else f"{j.journey_id}s{k}",
             channel, dt.datetime(j.month.year, j.month.month, 1) + dt.timedelta(hours=k),
             j.net_revenue)
            for i, j in enumerate(journeys) for k, channel in enumerate(j.channels)]
    with scratch.cursor() as cur:
        cur.execute(f"truncate {SCRATCH}.int_journey_touches")
        cur.executemany(f"insert into {SCRATCH}.int_journey_touches values "
                        "(%s, %s, %s, %s, %s, %s, %s)", rows)
        cur.execute("select month, channel, conversion_probability, full_conversion_probability,"
                    f" removal_effect from {SCRATCH}.int_markov_removal_effects_monthly")
        found = {(m, c): (w, p, e) for m, c, w, p, e in cur.fetchall()}
        cur.execute("select month, channel, attributed_conversions, attributed_revenue"
                    f" from {SCRATCH}.int_markov_attribution_monthly")
        markov = {(m, c): (n, r) for m, c, n, r in cur.fetchall()}
    effects, credit = reference(journeys)
    assert set(found) == set(effects)
    for key, expected in effects.items():
        assert all(close(a, b) for a, b in zip(found[key], expected, strict=True)), (
            key, found[key], expected)
    assert set(markov) == set(credit)
    for key, (conversions, revenue) in credit.items():
        assert close(markov[key][0], conversions) and close(markov[key][1], revenue), key
