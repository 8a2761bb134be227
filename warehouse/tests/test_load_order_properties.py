"""The marts are a function of the raw rows and the vars: not of the order, lateness or grouping
of the loads that brought the rows (shared/CONTRACT.md, "Load time").

- A hypothesis property: a clean or `--dirty` generated data set is cut into 2-5 loads row by row,
  without regard to dates, so rows of any age arrive in any load: a session's timestamp,
  transaction or channel row loads before or after the others, exact and conflicting copies of
  rows already loaded arrive later, and one load in the middle may replace raw_data, every
  table or one (with the rows already loaded, unchanged or with some changed; with the data so
  far; with fewer rows; or with another data set). After every load the scheduled build
  (`warehouse build`, which selects what has something new) passes its tests; a replace of
  unchanged rows selects no model (the load is a diff by content); a retry of the last build,
  with nothing new, selects no model; at the end every table in `analytics` equals a
  `--full-refresh` build of the same raw data, row for row.
- The issue's scenario by hand, and changed attribution vars: test_load_order_cases.py (a file
  of its own, so the two run on different workers).

Only the public interface is used (generate, load, dbt, the tables of `analytics`), so the tests
hold whatever the mechanism that makes a run process only what is new.
"""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from warehouse.generator import generate
from warehouse.loader import load
from warehouse.scheduled import Outcome

from .conftest import DbtProject, assert_same_rows

pytestmark = pytest.mark.e2e

SCALE = 0.03  # about 3,000 sessions, 28 users: one build is dbt's fixed cost, not the data's
SEED, OTHER_SEED = 23, 24
NOT_COMPARED = ("raw_data_quality_history",)  # one row per build by design
# Kept by difference, not recounted (markov_step_changes.sql): compared with a full rebuild too.
STAGING_COMPARED = ("int_markov_transitions_monthly",)
# Unit tests read no loaded data (their inputs are fixtures): a build after a load skips them
# (`warehouse build` leaves them out itself). The vars tests below run them.
BUILD = ("build", "--exclude", "test_type:unit")
# The full refresh a comparison is made against: models, seeds and snapshots. Its data tests
# would only check a full build again (the scheduled builds compared ran theirs; make build
# and make data-tests-full run every test over every row): some 4 s a comparison.
REFRESH = ("build", "--full-refresh", "--exclude", "resource_type:test",
           "resource_type:unit_test")
ATTRIBUTION_VARS = "{attribution_lookback_days: 14, attribution_half_life_days: 3}"

# The contract's logical keys (shared/CONTRACT.md), and for each table a column that a
# conflicting copy changes (channel has no column outside its key: only exact copies).
KEYS = {
    "user_session_channel": ("sessionid",), "session_timestamp": ("sessionid",),
    "session_transaction": ("sessionid",), "channel": ("channelname",), "nps": ("id",),
    "user_event": ("user_id", "datestamp", "item_id"), "user_variant": ("user_id",),
    "user_metadata": ("user_id", "updated_at"), "ad_spend": ("date", "channel"),
}


def _later_ts(value: str) -> str:
    return (datetime.fromisoformat(value) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")


CONFLICTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "user_session_channel": ("channel", lambda v: "Google" if v != "Google" else "Naver"),
    "session_timestamp": ("ts", _later_ts),
    "session_transaction": ("amount", lambda v: str(int(v) + 1)),
    "nps": ("score", lambda v: str((int(v) + 1) % 11)),
    "user_event": ("clicked", lambda v: "0" if v != "0" else "1"),
    "user_variant": ("variant_id", lambda v: "test" if v != "test" else "control"),
    "user_metadata": ("gender", lambda v: "unknown" if v != "unknown" else "female"),
    "ad_spend": ("impressions", lambda v: str(int(v) + 1)),
}

Row = tuple[str, ...]


@dataclass
class Table:
    """One raw table's CSV: its header and rows (an empty field is NULL, as `COPY` reads it)."""

    header: list[str]
    rows: list[Row]

    def column(self, name: str) -> int:
        return self.header.index(name)


DataSet = dict[str, Table]


def read_dataset(directory: Path) -> DataSet:
    data: DataSet = {}
    for path in sorted(directory.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        data[path.stem] = Table(header, [tuple(row) for row in rows])
    return data


def write_dataset(directory: Path, data: DataSet) -> Path:
    directory.mkdir(parents=True)
    for name, table in data.items():
        with (directory / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(table.header)
            writer.writerows(table.rows)
    return directory


def union(parts: list[DataSet]) -> DataSet:
    return {name: Table(table.header, [row for part in parts for row in part[name].rows])
            for name, table in parts[0].items()}


@dataclass(frozen=True)
class Cut:
    """How one example cuts a data set into loads (drawn by hypothesis, applied by `loads`)."""

    dirty: bool
    weights: tuple[int, ...]  # one per load: its share of the rows
    seed: int  # which row goes to which load
    replace_at: int | None = None  # this load replaces raw_data instead of appending
    replace_with: str = "so_far"  # "so_far": every row up to it; "fewer": without the first
    # load's rows; "other": another generated data set; "same": the rows loaded before it,
    # unchanged; "changed": those rows with some changed
    replace_table: str | None = None  # replace this table only (after appending the load's
    # rows), else every table


@st.composite
def cuts(draw: st.DrawFn) -> Cut:
    parts = draw(st.integers(2, 5))
    replace_at = draw(st.one_of(st.none(), st.integers(1, parts - 1)))
    return Cut(
        dirty=draw(st.booleans()),
        weights=tuple(draw(st.lists(st.integers(1, 4), min_size=parts, max_size=parts))),
        seed=draw(st.integers(0, 2**32 - 1)),
        replace_at=replace_at,
        replace_with=draw(st.sampled_from(("so_far", "fewer", "other", "same", "changed"))),
        replace_table=draw(st.one_of(st.none(), st.sampled_from(sorted(KEYS)))),
    )


def is_conflict_source(table: Table, name: str, row: Row) -> bool:
    """A row whose key and changed column are set (else a copy would be a null_key, not a
    conflict)."""
    column, _ = CONFLICTS[name]
    return all(row[table.column(c)] != "" for c in (*KEYS[name], column))


def split(data: DataSet, cut: Cut) -> list[DataSet]:
    """Every row into one of the loads at random (by row, never by date); then, in loads after
    a row's own, exact copies of some rows and conflicting copies (same key, one column
    changed) of others."""
    rng, count = random.Random(cut.seed), len(cut.weights)
    parts: list[DataSet] = [{name: Table(t.header, []) for name, t in data.items()}
                            for _ in range(count)]
    for name, table in data.items():
        placed = [(rng.choices(range(count), cut.weights)[0], row) for row in table.rows]
        for part, row in placed:
            parts[part][name].rows.append(row)
        old = [(part, row) for part, row in placed if part < count - 1]
        for part, row in rng.sample(old, min(len(old), max(2, len(old) // 200))):
            parts[rng.randrange(part + 1, count)][name].rows.append(row)
        if name not in CONFLICTS:
            continue
        column, change = CONFLICTS[name]
        index = table.column(column)
        sources = [(part, row) for part, row in old if is_conflict_source(table, name, row)]
        for part, row in rng.sample(sources, min(len(sources), max(2, len(sources) // 500))):
            changed = (*row[:index], change(row[index]), *row[index + 1:])
            parts[rng.randrange(part + 1, count)][name].rows.append(changed)
    return parts


def changed(data: DataSet, seed: int) -> DataSet:
    """data with one column changed in a few rows of every table that has one to change."""
    rng = random.Random(seed)
    result: DataSet = {}
    for name, table in data.items():
        rows = list(table.rows)
        if name in CONFLICTS:
            column, change = CONFLICTS[name]
            index = table.column(column)
            candidates = [n for n, row in enumerate(rows) if is_conflict_source(table, name, row)]
            for n in rng.sample(candidates, min(len(candidates), max(1, len(candidates) // 100))):
                row = rows[n]
                rows[n] = (*row[:index], change(row[index]), *row[index + 1:])
        result[name] = Table(table.header, rows)
    return result


@dataclass(frozen=True)
class Load:
    """One `warehouse load`: its rows, and whether it appends, or replaces which tables."""

    data: DataSet
    append: bool
    tables: tuple[str, ...] | None = None  # None: every table


def loads(parts: list[DataSet], other: DataSet, cut: Cut) -> list[list[Load]]:
    """The loads before each build: the first replaces (raw_data starts empty), the others
    append, but the one at `replace_at`, which replaces raw_data (every table), or appends and
    then replaces one table."""
    steps = [[Load(part, n > 0)] for n, part in enumerate(parts)]
    if cut.replace_at is not None:
        r = cut.replace_at
        before = union(parts[:r])
        replacement = {"so_far": union(parts[:r + 1]), "fewer": union(parts[1:r + 1]),
                       "other": other, "same": before,
                       "changed": changed(before, cut.seed)}[cut.replace_with]
        if cut.replace_table is None:
            steps[r] = [Load(replacement, False)]
        else:
            steps[r] = [Load(parts[r], True), Load(replacement, False, (cut.replace_table,))]
    return steps


def lateness(parts: list[DataSet]) -> Counter[str]:
    """How many sessions' rows arrive in which order: the cut must hold every kind of lateness
    the property is about, or it would prove nothing."""
    def load_of(name: str) -> dict[str, int]:
        first: dict[str, int] = {}
        for n, part in enumerate(parts):
            for row in part[name].rows:
                first.setdefault(row[part[name].column("sessionid")], n)
        return first

    channel, ts, tx = (load_of(n) for n in
                       ("user_session_channel", "session_timestamp", "session_transaction"))
    kinds: Counter[str] = Counter()
    for session, n in ts.items():
        if session in channel:
            kinds["timestamp after channel row" if n > channel[session] else
                  "channel row after timestamp" if n < channel[session] else "together"] += 1
    kinds["transaction after session"] = sum(
        1 for s, n in tx.items() if n > max(channel.get(s, n), ts.get(s, n)))
    return kinds


def reset(project: DbtProject) -> None:
    """No models, no build state, no snapshot history from an earlier test or example. The raw
    tables stay (the loader owns them): each test's first load replaces them."""
    for schema in ("staging", "analytics", "snapshots"):
        project.query(f"drop schema if exists {schema} cascade")


def compared_tables(project: DbtProject) -> dict[str, Counter[str]]:
    """The tables an incremental build must leave equal to a full rebuild's."""
    tables = project.table_rows(exclude=NOT_COMPARED)
    staging = project.table_rows("staging", only=STAGING_COMPARED)
    return {**tables, **{f"staging.{name}": rows for name, rows in staging.items()}}


def failures(output: str) -> str:
    """The nodes a dbt command reported as failed or errored, one a line."""
    lines = [line for line in output.splitlines() if re.search(r"\[(FAIL|ERROR)\b", line)
             or "Failure in" in line or "Error in" in line]
    return "\n".join(lines) or output[-3000:]


def build(project: DbtProject, what: str, *args: str) -> Outcome:
    """The scheduled build (`warehouse build <args>`); fail the test naming the step and the
    failed nodes."""
    outcome = project.scheduled_build(*args)
    output = outcome.build.output if outcome.build is not None else ""
    assert outcome.returncode == 0, f"warehouse build after {what} failed:\n{failures(output)}"
    return outcome


def rebuilt(outcome: Outcome) -> list[str]:
    """The models a scheduled build selected, with why."""
    return [f"{node_id}: {why}" for node_id, why in outcome.selected.items()
            if node_id.startswith("model.")]


class Sources:
    """The generated data sets every example draws from (generated once per module). Not a
    dataclass: hypothesis prints a failing example's arguments, and this prints short."""

    def __init__(self, clean: DataSet, dirty: DataSet, other: DataSet) -> None:
        self.clean, self.dirty, self.other = clean, dirty, other

    def __repr__(self) -> str:
        return f"Sources(scale={SCALE}, seeds {SEED} and {OTHER_SEED})"


def generate_sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    """The clean, dirty and other data sets (each module that needs them generates them once:
    the two test files run on different workers)."""
    root = tmp_path_factory.mktemp("sources")
    generate(root / "clean", scale=SCALE, seed=SEED)
    generate(root / "dirty", scale=SCALE, seed=SEED, dirty=True)
    generate(root / "other", scale=SCALE, seed=OTHER_SEED)
    return Sources(*(read_dataset(root / name) for name in ("clean", "dirty", "other")))


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    return generate_sources(tmp_path_factory)


# Four examples, about 20 builds (the CI time: each build is some 30 s). A fixed seed (not
# `derandomize`, whose examples change with every edit of this function's source) and no
# example database: CI always runs the same examples: seed 4's first draw, and the explicit
# ones: dirty data in five loads, the third replaced by fewer rows; clean data in three loads,
# the second replacing every table by the rows loaded before it (nothing may be rebuilt); dirty
# data in three loads, the second appending and then replacing session_transaction with some
# of its rows changed. Raise max_examples when changing the mechanism. No shrinking: one
# takes minutes.
@pytest.mark.slow
@seed(4)
@settings(max_examples=1, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cut=cuts())
@example(cut=Cut(dirty=True, weights=(4, 1, 1, 1, 1), seed=1, replace_at=2, replace_with="fewer"))
@example(cut=Cut(dirty=False, weights=(3, 1, 1), seed=2, replace_at=1, replace_with="same"))
@example(cut=Cut(dirty=True, weights=(3, 1, 1), seed=3, replace_at=1, replace_with="changed",
                 replace_table="session_transaction"))
def test_any_cut_of_the_loads_builds_to_a_full_refresh(
        dbt_project: DbtProject, sources: Sources, tmp_path_factory: pytest.TempPathFactory,
        cut: Cut) -> None:
    data = sources.dirty if cut.dirty else sources.clean
    parts = split(data, cut)
    kinds = lateness(parts)
    assert all(kinds[kind] for kind in ("timestamp after channel row", "channel row after "
                                        "timestamp", "transaction after session")), kinds
    root = tmp_path_factory.mktemp("loads")
    reset(dbt_project)
    uri = dbt_project.warehouse.uri()
    steps = loads(parts, sources.other, cut)
    for n, step in enumerate(steps):
        for m, each in enumerate(step):
            load(uri, write_dataset(root / f"load_{n}_{m}", each.data), append=each.append,
                 tables=each.tables)
        outcome = build(dbt_project, f"load {n + 1} of {len(parts)} ({cut})")
        if n == cut.replace_at and cut.replace_with == "same" and cut.replace_table is None:
            # the rows already loaded, replaced by themselves: a diff of nothing
            assert not rebuilt(outcome), f"a replace of unchanged rows rebuilt {rebuilt(outcome)}"
    # a retry of the last build, nothing new: it selects nothing
    assert not rebuilt(build(dbt_project, "the last build, once more"))
    incremental = compared_tables(dbt_project)
    dbt_project.dbt(*REFRESH)
    assert_same_rows(compared_tables(dbt_project), incremental)
