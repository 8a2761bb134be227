"""What must fire, does: an unknown channel warns (kept in the marts, never quarantined), and the
SCD2 snapshot closes a user's version when a newer `updated_at` arrives, on a plain
incremental build after an appended load.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from warehouse.generator import generate
from warehouse.loader import load

from .conftest import DbtProject

pytestmark = pytest.mark.e2e

BUILD = ("build", "--exclude", "test_type:unit")


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def test_unknown_channel_warns_and_snapshot_closes_a_version(dbt_project: DbtProject,
                                                             tmp_path: Path) -> None:
    data = tmp_path / "bulk"
    generate(data, scale=0.03, seed=5)
    uri = dbt_project.warehouse.uri()
    load(uri, data)
    first = dbt_project.dbt(*BUILD)
    assert "WARN=0" in first.stdout, first.stdout[-2000:]
    user_id, gender = dbt_project.query(
        "select user_id, gender from staging.int_user_attributes_latest order by user_id limit 1"
    )[0]
    # The snapshot keeps history across loads (earlier tests' data included): this test only
    # asks that the newer version closes the current one.
    before = _versions(dbt_project, user_id)
    assert before and before[-1][2] is None, before

    # one append: a session on a channel raw_data.channel does not list, and a newer version
    # of a user's attributes
    day = tmp_path / "append"
    _write(day / "user_session_channel.csv", ["userid", "sessionid", "channel"],
           [[str(user_id), "f" * 32, "MySpace"]])
    _write(day / "session_timestamp.csv", ["sessionid", "ts"],
           [["f" * 32, "2019-11-30 12:00:00"]])
    _write(day / "user_metadata.csv", ["user_id", "age", "gender", "updated_at"],
           [[str(user_id), "90-99", gender or "", "2019-12-01 00:00:00"]])
    load(uri, day, append=True)
    second = dbt_project.dbt(*BUILD, check=False)
    assert second.returncode == 0, second.stdout[-3000:]

    # the warning names the test on the session's channel, and the session is kept as it is
    warned = [line for line in second.stdout.splitlines()
              if "WARN" in line and "relationships" in line]
    assert any("stg_raw_data__user_session_channel_channel" in line for line in warned), warned
    assert dbt_project.query(
        "select channel from analytics.fct_sessions where session_id = %s", ("f" * 32,)) == [
            ("MySpace",)]
    assert dbt_project.query(
        "select count(*) from analytics.raw_data_quarantine where record_key = %s",
        ("f" * 32,)) == [(0,)]

    # the snapshot closed the old version at the new updated_at and opened the new one
    current_age, current_from, _ = before[-1]
    assert _versions(dbt_project, user_id) == [
        *before[:-1],
        (current_age, current_from, "2019-12-01 00:00:00"),
        ("90-99", "2019-12-01 00:00:00", None),
    ]


def _versions(project: DbtProject, user_id: int) -> list[tuple[object, ...]]:
    return project.query(
        "select age, cast(dbt_valid_from as text), cast(dbt_valid_to as text) "
        "from snapshots.scd_user_metadata where user_id = %s order by dbt_valid_from",
        (user_id,))
