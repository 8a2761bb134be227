"""The load window is by load id, and rows changed outside a load are seen: the red-team
cases of issue 27 that ended with a green build and marts unlike a full refresh.

- case 7: a build in another time zone (PGTZ) writes no clock into the bookkeeping that
  later builds compare;
- case 4: a row written outside a load, stamped hours in the future, loses no later day;
- case 5: an UPDATE of a raw row (amount) reaches the marts on the next build;
- case 1: a DELETE of a raw row (a transaction) reaches them too;
- a load time moved by hand, and a DELETE followed by a run of one mart alone;
- the checkpoint of `warehouse build` takes the raw tables' states its run-operation read,
  unless another run came in between.
After each, the scheduled build equals a full refresh of the same raw rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.generator import generate
from warehouse.loader import load
from warehouse.scheduled import TOKEN_ENV

from .conftest import DbtProject, assert_same_rows
from .test_load_order_properties import NOT_COMPARED, REFRESH, build, reset

pytestmark = pytest.mark.e2e



def _assert_equals_a_full_refresh(project: DbtProject) -> None:
    incremental = project.table_rows(exclude=NOT_COMPARED)
    project.dbt(*REFRESH)
    assert_same_rows(project.table_rows(exclude=NOT_COMPARED), incremental)


def _checkpointed_nps_rows(project: DbtProject) -> int:
    return int(project.query(
        "select raw_rows from staging.load_checkpoints where raw_table = 'nps' and run_id = "
        "(select max(run_id) from staging.load_checkpoints)")[0][0])


def test_loads_by_id_and_changes_outside_loads(dbt_project: DbtProject, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    days = [tmp_path / name for name in ("history", "day1", "day2")]
    generate(days[0], scale=0.05, seed=21)
    generate(days[1], scale=0.01, seed=22)
    generate(days[2], scale=0.01, seed=23)
    reset(dbt_project)
    uri = dbt_project.warehouse.uri()
    load(uri, days[0])
    build(dbt_project, "the history")

    # case 7: a load and a build in a time zone 14 hours ahead of UTC
    monkeypatch.setenv("PGTZ", "Pacific/Kiritimati")
    load(uri, days[1], append=True)
    build(dbt_project, "a build in Pacific/Kiritimati")
    monkeypatch.delenv("PGTZ")

    # case 4: a row written by hand, outside a load, stamped 9 hours ahead; then a day's load
    dbt_project.query(
        "insert into raw_data.nps (id, created, score, _loaded_at) values (987654, "
        "timezone('utc', now()) - interval '1 day', 9, "
        "timezone('utc', now()) + interval '9 hours')")
    load(uri, days[2], append=True)
    build(dbt_project, "a row outside a load and a day's load")
    (day_sessions,) = dbt_project.query(
        "select count(*) from raw_data.user_session_channel where _load_id = "
        "(select max(_load_id) from raw_data.user_session_channel)")[0]
    assert day_sessions > 0
    _assert_equals_a_full_refresh(dbt_project)

    # case 5: an amount updated in place
    (session,) = dbt_project.query(
        "select session_id from analytics.fct_sessions where is_conversion "
        "order by session_id limit 1")[0]
    dbt_project.query("update raw_data.session_transaction set amount = amount + 7 "
                      "where sessionid = %s", (session,))
    build(dbt_project, "an UPDATE of a raw row")
    (amount,) = dbt_project.query("select gross_amount from analytics.fct_sessions "
                                  "where session_id = %s", (session,))[0]
    (raw_amount,) = dbt_project.query("select amount from raw_data.session_transaction "
                                      "where sessionid = %s", (session,))[0]
    assert amount == raw_amount

    # case 1: a transaction deleted
    dbt_project.query("delete from raw_data.session_transaction where sessionid = %s", (session,))
    build(dbt_project, "a DELETE of a raw row")
    assert dbt_project.query("select is_conversion, has_transaction from analytics.fct_sessions "
                             "where session_id = %s", (session,)) == [(False, False)]
    _assert_equals_a_full_refresh(dbt_project)

    # a load time moved by hand (the not-after-load rule reads it): seen as a change
    dbt_project.query("update raw_data.session_timestamp set _loaded_at = timestamp '2019-06-01' "
                      "where sessionid in (select sessionid from raw_data.session_timestamp "
                      "where ts > '2019-11-01' order by sessionid limit 5)")
    moved = build(dbt_project, "a moved load time").selected
    assert "model.elt.base_raw_data__session_timestamp" in moved
    # raw rows deleted, then a run of one mart alone (which rebuilds it in full from the base
    # model not yet rebuilt): the scheduled build after it rebuilds the mart again
    dbt_project.query("delete from raw_data.user_event where user_id = "
                      "(select min(user_id) from raw_data.user_event)")
    dbt_project.dbt("run", "--select", "fct_user_events")
    build(dbt_project, "a DELETE, then a run of one mart")
    _assert_equals_a_full_refresh(dbt_project)
    _the_checkpoint_takes_the_states_warehouse_build_read(dbt_project, monkeypatch)


def _the_checkpoint_takes_the_states_warehouse_build_read(
        dbt_project: DbtProject, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduled build's checkpoint takes the raw tables' counts and checksums its
    run-operation read (kept in read_states under its token) instead of reading every raw row
    again; not when a run came in between (then it reads them); and the builds still equal a
    full refresh."""
    (nps_rows,) = dbt_project.query("select count(*) from raw_data.nps")[0]
    one_run = ("run", "--select", "int_ad_spend_monthly")

    # kept, then marked (one more nps row than there is): the checkpoint takes the mark
    monkeypatch.setenv(TOKEN_ENV, "kept")
    dbt_project.dbt("run-operation", "scheduled_build_state")
    dbt_project.query("update staging.read_states set raw_rows = raw_rows + 1 "
                      "where raw_table = 'nps'")
    dbt_project.dbt(*one_run)
    assert _checkpointed_nps_rows(dbt_project) == nps_rows + 1

    # kept and marked, but another run recorded a checkpoint since: the raw rows are read
    monkeypatch.setenv(TOKEN_ENV, "stale")
    dbt_project.dbt("run-operation", "scheduled_build_state")
    dbt_project.query("update staging.read_states set raw_rows = raw_rows + 1 "
                      "where raw_table = 'nps'")
    monkeypatch.delenv(TOKEN_ENV)
    dbt_project.dbt(*one_run)
    monkeypatch.setenv(TOKEN_ENV, "stale")
    dbt_project.dbt(*one_run)
    assert _checkpointed_nps_rows(dbt_project) == nps_rows
    monkeypatch.delenv(TOKEN_ENV)

    # warehouse build itself: its own token, its checkpoint equal to the raw rows
    (session,) = dbt_project.query("select min(sessionid) from raw_data.session_transaction")[0]
    dbt_project.query("delete from raw_data.session_transaction where sessionid = %s",
                      (session,))
    selected = build(dbt_project, "a DELETE of a raw row").selected
    assert "model.elt.base_raw_data__session_transaction" in selected
    assert _checkpointed_nps_rows(dbt_project) == nps_rows
    assert not build(dbt_project, "nothing new").selected
    _assert_equals_a_full_refresh(dbt_project)
