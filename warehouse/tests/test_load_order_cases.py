"""The marts are a function of the raw rows and the vars, by hand-made cases (the property over
random cuts of the loads is test_load_order_properties.py, whose helpers these use):

- The issue's scenario: one append holding an old late session and a conflicting copy of
  another old clean session.
- A returning user's open journey moving to a later month, in a load of its own: the
  scheduled build selects exactly what reads the session tables; then a build with nothing
  new, which selects nothing.
- Changed attribution vars: a plain `dbt build --vars ...` equals a `--full-refresh` with the same
  vars, and docs/attribution.md's example of them builds with nothing skipped.
- A model that logs what it rebuilds for its consumers, new in a warehouse whose consumers
  exist (a deploy) or dropped by hand: its first build, in a run with new rows, still makes
  them rebuild.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from warehouse.loader import load
from warehouse.scheduled import Outcome

from .conftest import DbtProject, assert_same_rows
from .test_load_order_properties import (
    ATTRIBUTION_VARS,
    CONFLICTS,
    NOT_COMPARED,
    REFRESH,
    DataSet,
    Row,
    Sources,
    Table,
    build,
    failures,
    generate_sources,
    reset,
    write_dataset,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    return generate_sources(tmp_path_factory)


def _sessions(data: DataSet) -> dict[str, dict[str, list[Row]]]:
    """Every session id -> its rows per session table."""
    sessions: dict[str, dict[str, list[Row]]] = {}
    for name in ("user_session_channel", "session_timestamp", "session_transaction"):
        table = data[name]
        for row in table.rows:
            sessions.setdefault(row[table.column("sessionid")], {}).setdefault(name, []).append(
                row)
    return sessions


def test_a_late_session_and_a_conflict_in_one_append(
        dbt_project: DbtProject, sources: Sources, tmp_path: Path) -> None:
    """The issue's case: an append holds an old session's late rows and a conflicting copy of
    another old, clean session's channel row. After a plain build the late session is in
    fct_sessions and the conflicting one is not (it is quarantined), as in a full refresh."""
    data = sources.clean
    sessions = _sessions(data)
    channel = data["user_session_channel"]
    by_day = sorted((rows["session_timestamp"][0][1], session) for session, rows in
                    sessions.items() if set(rows) == {"user_session_channel", "session_timestamp"})
    (_, late), (_, conflicting) = by_day[10], by_day[len(by_day) // 3]  # May and July
    bulk = {name: Table(t.header, [row for row in t.rows if late not in row])
            for name, t in data.items()}
    row = sessions[conflicting]["user_session_channel"][0]
    index = channel.column("channel")
    conflict = (*row[:index], CONFLICTS["user_session_channel"][1](row[index]), *row[index + 1:])
    append = {name: Table(t.header, [r for r in t.rows if late in r]) for name, t in data.items()}
    append["user_session_channel"].rows.append(conflict)

    result = _build_bulk_then_append(dbt_project, tmp_path, bulk, append)

    in_marts = {s for (s,) in dbt_project.query(
        "select session_id from analytics.fct_sessions where session_id in (%s, %s)",
        (late, conflicting))}
    quarantined = dbt_project.query(
        "select reason, count(*) from analytics.raw_data_quarantine "
        "where source_table = 'user_session_channel' and record_key like %s group by reason",
        (f"%{conflicting}%",))
    assert quarantined == [("conflicting_duplicate", 2)]
    assert in_marts == {late}, (
        f"fct_sessions should hold the late session {late} and not the conflicting {conflicting}"
        f"; it holds {sorted(in_marts)}")
    assert result.returncode == 0, _build_failures(result)
    incremental = dbt_project.table_rows(exclude=NOT_COMPARED)
    dbt_project.dbt(*REFRESH)
    assert_same_rows(dbt_project.table_rows(exclude=NOT_COMPARED), incremental)


def test_a_returning_user_moves_their_open_journey_to_a_later_month(
        dbt_project: DbtProject, sources: Sources, tmp_path: Path) -> None:
    """A user comes back in a later month, in a load of their own: their open journey leaves
    the month of their previous session, whose Markov chain must be recounted although no other
    journey of that month changed (int_journey_touches logs the months it re-decides). Another
    user comes back within days, not having bought: their open journey gains the new session
    and keeps its other touches as they were written (not rewritten)."""
    data = sources.clean
    channel = data["user_session_channel"]
    by_user: dict[str, list[tuple[str, str, bool]]] = {}  # user -> (time, session, paid) rows
    for session, rows in _sessions(data).items():
        if set(rows) >= {"user_session_channel", "session_timestamp"}:
            user = rows["user_session_channel"][0][channel.column("userid")]
            by_user.setdefault(user, []).append(
                (rows["session_timestamp"][0][1], session, "session_transaction" in rows))

    def previous_is_open(user: str) -> bool:
        # sessions in two months at least, and the latest one before the last month is no
        # transaction: that user's open journey lies in an earlier month until the load
        visits = sorted(by_user[user])
        last_month = visits[-1][0][:7]
        earlier = [visit for visit in visits if visit[0][:7] < last_month]
        return bool(earlier) and not earlier[-1][2]

    def returns_within_days(user: str) -> bool:
        # the last two sessions bought nothing and lie less than 20 days apart
        visits = sorted(by_user[user])
        if len(visits) < 2:
            return False
        (before, _, paid_before), (last, _, paid_last) = visits[-2:]
        return not (paid_before or paid_last) and (
            dt.datetime.fromisoformat(last) - dt.datetime.fromisoformat(before)
            < dt.timedelta(days=20))

    user = min(u for u in by_user if previous_is_open(u))
    last_month = max(by_user[user])[0][:7]
    held = {session for at, session, _ in by_user[user] if at[:7] == last_month}
    stayer = min(u for u in by_user if u != user and returns_within_days(u))
    returning = max(by_user[stayer])[1]
    bulk, append = _hold_back_sessions(data, held | {returning})

    touches = ("select session_id, _written_by_run from staging.int_journey_touches"
               " where journey_id = %s")
    reset(dbt_project)
    uri = dbt_project.warehouse.uri()
    load(uri, write_dataset(tmp_path / "bulk", bulk))
    build(dbt_project, "the bulk load")
    written = dict(dbt_project.query(touches, (f"open:{stayer}",)))
    load(uri, write_dataset(tmp_path / "append", append), append=True)
    outcome = dbt_project.scheduled_build()
    assert outcome.returncode == 0, _build_failures(outcome)
    rewritten = dict(dbt_project.query(touches, (f"open:{stayer}",)))
    assert set(rewritten) - set(written) == {returning}
    kept = set(rewritten) & set(written)
    assert kept, "the returning user's previous session left their open journey"
    assert {session: rewritten[session] for session in kept} == {
        session: written[session] for session in kept}, "an unchanged touch was rewritten"
    # session rows were loaded: exactly the models downstream of the tables that got rows (by
    # dbt's own graph) are selected
    assert _selected_models(outcome) == _models_downstream_of(
        dbt_project, *(name for name, table in append.items() if table.rows))
    incremental = dbt_project.table_rows(exclude=NOT_COMPARED)

    # Nothing new at all: nothing is selected, nothing built, nothing changes.
    history = "select count(distinct built_at) from analytics.raw_data_quality_history"
    builds_before = dbt_project.query(history)[0][0]
    outcome = build(dbt_project, "nothing new")
    assert outcome.selected == {} and outcome.build is None
    assert dbt_project.query(history)[0][0] == builds_before
    assert_same_rows(dbt_project.table_rows(exclude=NOT_COMPARED), incremental)

    dbt_project.dbt(*REFRESH)
    assert_same_rows(dbt_project.table_rows(exclude=NOT_COMPARED), incremental)


def _every_nth_session(data: DataSet, n: int) -> set[str]:
    """The sessions of every n-th channel row of `data`."""
    channel = data["user_session_channel"]
    return {row[channel.column("sessionid")]
            for index, row in enumerate(channel.rows) if index % n == 0}


def _hold_back_sessions(data: DataSet, held: set[str]) -> tuple[DataSet, DataSet]:
    """`data` cut in two: without every row of the `held` sessions (the bulk), and those rows
    alone (the append)."""
    def is_held(name: str, row: Row) -> bool:
        table = data[name]
        return "sessionid" in table.header and row[table.column("sessionid")] in held

    bulk = {name: Table(t.header, [r for r in t.rows if not is_held(name, r)])
            for name, t in data.items()}
    append = {name: Table(t.header, [r for r in t.rows if is_held(name, r)])
              for name, t in data.items()}
    return bulk, append


def _build_bulk_then_append(project: DbtProject, tmp_path: Path, bulk: DataSet,
                            append: DataSet) -> Outcome:
    """A fresh warehouse: load `bulk`, build, append `append`; the scheduled build after it."""
    reset(project)
    uri = project.warehouse.uri()
    load(uri, write_dataset(tmp_path / "bulk", bulk))
    build(project, "the bulk load")
    load(uri, write_dataset(tmp_path / "append", append), append=True)
    return project.scheduled_build()


def _build_failures(outcome: Outcome) -> str:
    return failures(outcome.build.output if outcome.build is not None else "")


def _selected_models(outcome: Outcome) -> set[str]:
    """The models a scheduled build selected, by name."""
    return {node_id.split(".")[-1] for node_id in outcome.selected if node_id.startswith("model.")}


def _models_downstream_of(project: DbtProject, *raw_tables: str) -> set[str]:
    """The models that read any of these raw tables, however indirectly (dbt ls)."""
    listed = project.dbt("--quiet", "ls", "--resource-type", "model", "--output", "name",
                         "--select", *(f"source:raw_data.{table}+" for table in raw_tables))
    return {line.strip() for line in listed.stdout.splitlines() if line.strip()}


def _models(project: DbtProject) -> set[str]:
    """Every model built in the warehouse (each records its build)."""
    return {node_id.split(".")[-1] for (node_id,) in project.query(
        "select node_id from staging.node_builds where node_id like 'model.%%'")}


def test_a_table_is_rebuilt_exactly_when_what_it_reads_changed(
        dbt_project: DbtProject, sources: Sources, tmp_path: Path) -> None:
    """Tables and views skip a build when nothing they read changed; new rows that an
    earlier, partial run already processed upstream still reach them, and so does a var that
    changes one table's SQL."""
    data = sources.clean
    held = _every_nth_session(data, 25)
    bulk, append = _hold_back_sessions(data, held)
    reset(dbt_project)
    uri = dbt_project.warehouse.uri()
    load(uri, write_dataset(tmp_path / "bulk", bulk))
    build(dbt_project, "the bulk load")

    # The new rows are processed up to the sessions by a partial run; the scheduled build
    # after it has no new raw row to process, but what the partial run rewrote reaches the
    # marts.
    load(uri, write_dataset(tmp_path / "append", append), append=True)
    dbt_project.dbt("run", "--select", "+int_sessions_joined")
    rebuilt = _selected_models(build(dbt_project, "a partial run of the new rows"))
    assert {"dim_users", "channel_monthly_summary", "cohort_retention_monthly",
            "channel_roas_monthly", "fct_sessions"} <= rebuilt, rebuilt
    assert "dim_dates" not in rebuilt and "int_sessions_joined" not in rebuilt
    incremental = dbt_project.table_rows(exclude=NOT_COMPARED)

    # A var the rows depend on rebuilds every model; the same var again, nothing.
    assert _selected_models(build(dbt_project, "a new markov_max_channels", "--vars",
                                  "{markov_max_channels: 23}")) == _models(dbt_project)
    assert not build(dbt_project, "the same var again", "--vars",
                     "{markov_max_channels: 23}").selected

    dbt_project.dbt(*REFRESH)
    assert_same_rows(dbt_project.table_rows(exclude=NOT_COMPARED), incremental)


def test_changed_attribution_vars_rebuild_every_mart(
        dbt_project: DbtProject, sources: Sources, tmp_path: Path) -> None:
    """A plain build with new attribution vars equals a full refresh with them, every mart."""
    reset(dbt_project)
    load(dbt_project.warehouse.uri(), write_dataset(tmp_path / "data", sources.clean))
    build(dbt_project, "the load")
    before = dbt_project.table_rows(exclude=NOT_COMPARED)
    build(dbt_project, "changing the attribution vars", "--vars", ATTRIBUTION_VARS)
    incremental = dbt_project.table_rows(exclude=NOT_COMPARED)
    dbt_project.dbt(*REFRESH, "--vars", ATTRIBUTION_VARS)
    full = dbt_project.table_rows(exclude=NOT_COMPARED)
    assert full["channel_attribution_monthly"] != before["channel_attribution_monthly"]
    assert_same_rows(full, incremental)


def test_readme_attribution_vars_example_builds_with_nothing_skipped(
        dbt_project: DbtProject, sources: Sources, tmp_path: Path) -> None:
    """`dbt build --vars '{attribution_lookback_days: 14, attribution_half_life_days: 3}'`
    (the example in docs/attribution.md), unit tests included, passes and skips no node."""
    reset(dbt_project)
    load(dbt_project.warehouse.uri(), write_dataset(tmp_path / "data", sources.clean))
    result = dbt_project.dbt("build", "--vars", ATTRIBUTION_VARS, check=False)
    summary = next((line for line in result.stdout.splitlines() if "Done. PASS=" in line), "")
    assert result.returncode == 0 and "SKIP=0" in summary, (
        f"{summary}\n{failures(result.stdout)}")


# Models whose consumers rebuild by what they wrote: int_journey_touches logs its months and
# Markov steps (rebuilt_keys, markov_step_changes); the monthly attribution re-sums the days of
# int_changed_conversions that int_rule_based_attribution_daily rebuilt.
LOGGING_MODELS = ("int_rule_based_attribution_daily", "int_journey_touches")


def test_a_logging_model_built_from_nothing_still_rebuilds_its_consumers(
        dbt_project: DbtProject, sources: Sources, tmp_path: Path) -> None:
    """The logging models are dropped (as when one is new in a deployed warehouse, or dropped
    by hand) while their consumers stay, and rows of every twentieth session arrive: the
    plain build recreates them, and their consumers (the monthly attribution, the Markov
    chain) still rebuild what the new rows reach."""
    data = sources.clean
    held = _every_nth_session(data, 20)
    bulk, append = _hold_back_sessions(data, held)
    reset(dbt_project)
    uri = dbt_project.warehouse.uri()
    load(uri, write_dataset(tmp_path / "bulk", bulk))
    build(dbt_project, "the bulk load")
    for model in LOGGING_MODELS:
        dbt_project.query(f"drop table staging.{model} cascade")
    load(uri, write_dataset(tmp_path / "append", append), append=True)
    build(dbt_project, "the append, with the logging models gone")
    incremental = dbt_project.table_rows(exclude=NOT_COMPARED)
    chain = dbt_project.table_rows("staging", only=("int_markov_transitions_monthly",
                                                    "int_rule_based_attribution_monthly"))

    dbt_project.dbt(*REFRESH)
    assert_same_rows(dbt_project.table_rows(exclude=NOT_COMPARED), incremental)
    assert_same_rows(dbt_project.table_rows("staging", only=("int_markov_transitions_monthly",
                                                             "int_rule_based_attribution_monthly")),
                     chain)


TOUCH_HAS_A_SESSION = "not_null_int_touchpoints_weighted_session_id"


def _failing_rows(project: DbtProject, test: str, *args: str) -> int:
    """The rows `test` fails with (0 when it passes)."""
    result = project.dbt("test", "--select", test, *args, check=False)
    found = re.search(r"Got (\d+) results?, configured to fail", result.stdout)
    assert found or result.returncode == 0, result.stdout[-3000:]
    return int(found.group(1)) if found else 0


SESSION_TIMESTAMP_HAS_A_SESSION = ("relationships_stg_raw_data__session_timestamp_session_id__"
                                   "session_id__ref_stg_raw_data__user_session_channel_")


def test_dbt_tests_read_every_row_after_an_incremental_build(
        dbt_project: DbtProject, sources: Sources, tmp_path: Path) -> None:
    """dbt's own tests are not scoped to what a build rebuilt: after an incremental build a
    relationships or not_null test reads every row, so a defect in a key no build touched
    fails it as one in a key the last build rebuilt does."""
    data = sources.clean
    held = _every_nth_session(data, 30)
    bulk, append = _hold_back_sessions(data, held)
    result = _build_bulk_then_append(dbt_project, tmp_path, bulk, append)
    assert result.returncode == 0, _build_failures(result)

    def orphans(*args: str) -> int:
        return _failing_rows(dbt_project, SESSION_TIMESTAMP_HAS_A_SESSION, *args)

    timed = {session for (session,) in dbt_project.query(
        "select session_id from staging.stg_raw_data__session_timestamp")}
    new, old = sorted(held & timed)[0], sorted(timed - held)[0]
    assert orphans() == 0
    # the parent rows of a session the last build rebuilt and of one no build touched go (by
    # hand, as a bug would take them): both are orphans
    for session in (new, old):
        dbt_project.query("delete from staging.stg_raw_data__user_session_channel"
                          " where session_id = %s", (session,))
    assert orphans() == 2

    conversions = sorted({key for (key,) in dbt_project.query(
        "select distinct conversion_session_id from staging.int_touchpoints_weighted")})
    for conversion in (conversions[0], conversions[-1]):
        dbt_project.query("update staging.int_touchpoints_weighted set session_id = null"
                          " where conversion_session_id = %s and touch_position = 1", (conversion,))
    assert _failing_rows(dbt_project, TOUCH_HAS_A_SESSION) == 2
