"""Tests mean what dbt says. dbt's own `unique`, `not_null`, `accepted_values` and
`relationships` read the whole relation; the tests named `*_in_new_rows` read the rows written
since they last passed (macros/incremental/build_runs.sql), so a failure stays a failure until
a run passes over the rows that failed: a retry, a build with nothing new or an `--empty` build
never hides it.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from warehouse.dbt import Dbt
from warehouse.generator import generate
from warehouse.loader import load

from .conftest import PROJECT_ROOT, DbtProject

pytestmark = pytest.mark.e2e

FAILURE = re.compile(r"Failure in test (\S+)")
UNIQUE_SESSIONS = "unique_in_new_rows_int_sessions_joined_session_id"
REBUILT = ("    where {{ in_changed('session_id', ref('stg_raw_data__changed_sessions'), "
           "'session_id', window) }}\n")


def project_copy(dbt_project: DbtProject, tmp_path: Path) -> tuple[Path, Dbt]:
    """A copy of the project's files (without what a build or an install leaves), to change
    freely, and a dbt runner for it on the test's warehouse."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", ".warehouse", "target", "logs", ".git", "__pycache__", ".*_cache",
        "profiles.yml", "node_modules"))
    return project, Dbt(project, dbt_project.profiles_dir, target_path=tmp_path / "target",
                        log_path=tmp_path / "logs")


def failed(runner: Dbt, *args: str) -> set[str]:
    """Run `dbt <args>`; the names of the tests it reported failing (nothing else may fail)."""
    result = runner.run(*args, check=False)
    failing = set(FAILURE.findall(result.output))
    assert result.success == (not failing), result.output[-4000:]
    return failing


def test_a_failing_test_stays_failing_until_the_rows_are_fixed(dbt_project: DbtProject,
                                                               tmp_path: Path) -> None:
    days = [tmp_path / name for name in ("history", "day1", "day2", "day3")]
    generate(days[0], scale=0.05, seed=5)
    for number, day in enumerate(days[1:], start=1):
        generate(day, scale=0.01, seed=5 + number)
    uri = dbt_project.warehouse.uri()
    load(uri, days[0])
    project, runner = project_copy(dbt_project, tmp_path)
    model = project / "models" / "intermediate" / "int_sessions_joined.sql"
    original = model.read_text()
    assert not failed(runner, "build", "--full-refresh", "--exclude", "test_type:unit")

    # a bug writes the new day's sessions twice into int_sessions_joined: the build fails ...
    twice = "\n{% if is_incremental() %}\nunion all\nselect * from final\n{% endif %}"
    model.write_text(original.replace("select * from final", "select * from final" + twice))
    load(uri, days[1], append=True)
    assert UNIQUE_SESSIONS in failed(runner, "build", "--exclude", "test_type:unit")
    # ... and so does every retry, with nothing new loaded: dbt retry, a plain build, a build
    # with --empty (whose tests read no rows) and a build after it
    assert UNIQUE_SESSIONS in failed(runner, "retry")
    assert UNIQUE_SESSIONS in failed(runner, "build", "--select", "int_sessions_joined")
    failed(runner, "build", "--select", "int_sessions_joined", "--empty")
    assert UNIQUE_SESSIONS in failed(runner, "build", "--select", "int_sessions_joined")
    assert UNIQUE_SESSIONS in failed(runner, "test", "--vars", "{test_scope: full}",
                                     "--select", "int_sessions_joined")

    # fixed code, rebuilt with what read the duplicates: the test passes, and the next
    # build's test reads only new rows
    model.write_text(original)
    assert not failed(runner, "build", "--full-refresh", "--select", "int_sessions_joined+",
                      "--exclude", "test_type:unit")
    assert not failed(runner, "build", "--select", "int_sessions_joined")
    (passed_run,) = dbt_project.query(
        "select run_id from staging.test_results where test_name = %s and status = 'pass'",
        (UNIQUE_SESSIONS,))[0]
    (newest,) = dbt_project.query("select max(_written_by_run) from staging.int_sessions_joined")[0]
    assert newest < passed_run

    # a bug that writes one old session (a key this build did not mean to rebuild) once more
    assert original.count(REBUILT) == 3
    model.write_text(original.replace(REBUILT, REBUILT.rstrip("\n") + (
        " or session_id = (select min(session_id) from"
        " {{ ref('stg_raw_data__user_session_channel') }})\n")))
    # a code change rebuilds the model in full (where the bug writes nothing twice) ...
    assert not failed(runner, "build", "--exclude", "test_type:unit")
    # ... and the next day's incremental build writes the old session again
    load(uri, days[2], append=True)
    assert UNIQUE_SESSIONS in failed(runner, "build", "--exclude", "test_type:unit")
    assert dbt_project.query(
        "select count(*) from (select session_id from staging.int_sessions_joined group by 1 "
        "having count(*) > 1) as duplicated")[0] == (1,)
    model.write_text(original)
    assert not failed(runner, "build", "--full-refresh", "--select", "int_sessions_joined+",
                      "--exclude", "test_type:unit")

    # a row written by hand with an old run's number is outside the new rows: the scoped
    # test passes, the full-scope run (`test_scope: full`, make test-all) finds it
    dbt_project.query("insert into staging.int_sessions_joined select * from "
                      "staging.int_sessions_joined order by session_id limit 1")
    load(uri, days[3], append=True)
    assert UNIQUE_SESSIONS not in failed(runner, "build", "--select", "int_sessions_joined")
    assert UNIQUE_SESSIONS in failed(runner, "test", "--vars", "{test_scope: full}",
                                     "--select", "int_sessions_joined")
    # and once it failed, the scoped test reads the whole table too
    assert UNIQUE_SESSIONS in failed(runner, "test", "--select", "int_sessions_joined")


def test_dbt_tests_read_the_whole_relation(dbt_project: DbtProject, tmp_path: Path) -> None:
    """dbt's `unique` and the reconciliations read every row: a mart edited by hand fails its
    tests (red-team cases 10 and 11), the scheduled build runs the failed tests again until
    they pass, and a plain `dbt build` (which rebuilds every table) repairs the marts."""
    data = tmp_path / "data"
    generate(data, scale=0.05, seed=11)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt("build", "--full-refresh", "--exclude", "test_type:unit")
    before = dbt_project.table_rows(only=("dim_users", "channel_monthly_summary"))

    # rows added through a child table that inherits from the mart
    dbt_project.query("create table analytics.dim_users_extra () inherits (analytics.dim_users); "
                      "insert into analytics.dim_users_extra select * from analytics.dim_users "
                      "limit 3")
    # an old month's revenue changed by hand
    dbt_project.query("update analytics.channel_monthly_summary set net_revenue = "
                      "net_revenue + 1000 where month = (select min(month) from "
                      "analytics.channel_monthly_summary)")
    result = dbt_project.dbt("test", "--exclude", "test_type:unit", check=False)
    assert result.returncode != 0
    assert "FAIL 3 unique_dim_users_user_id" in result.stdout
    reconciliation = "assert_channel_monthly_summary_agrees_with_staging_in_new_rows"
    assert "FAIL" in next(line for line in result.stdout.splitlines()
                          if reconciliation in line and ("FAIL" in line or "PASS" in line))

    # nothing new was loaded, but the failed tests run again, and fail again
    outcome = dbt_project.scheduled_build()
    rerun = {node_id.split(".")[2]: why for node_id, why in outcome.selected.items()}
    assert {"unique_dim_users_user_id", reconciliation} <= set(rerun)
    assert set(rerun.values()) == {"its last result was fail"}
    assert outcome.returncode != 0

    # a plain dbt build rebuilds every table: the marts are repaired, the tests pass
    dbt_project.dbt("build", "--exclude", "test_type:unit")
    assert dbt_project.table_rows(only=("dim_users", "channel_monthly_summary")) == before
    assert not dbt_project.query("select 1 from information_schema.tables "
                                 "where table_name = 'dim_users_extra'")
    assert dbt_project.scheduled_build().selected == {}

    # The reconciliations named *_in_new_rows read only what a build re-decided (the months or
    # sessions of its changed-key models) once they passed the run before: rows changed by
    # hand outside that scope pass them ...
    dbt_project.query(f"update staging.int_sessions_monthly_by_channel set net_revenue = "
                      f"net_revenue + 1000 where month = '{OLD_MONTH}' and channel = 'Google'; "
                      "delete from "
                      "analytics.fct_sessions where session_id = (select min(session_id) from "
                      f"analytics.fct_sessions where session_month = '{OLD_MONTH}')")
    day = tmp_path / "day"
    generate(day, scale=0.05, seed=11, since=NEW_DAY, until=NEW_DAY)
    load(dbt_project.warehouse.uri(), day, append=True)
    dbt_project.scheduled_build()
    assert scoped_results(dbt_project) == {test: "pass" for test in SCOPED}
    # ... a build that loses rows it wrote fails them (PostgreSQL rules drop one new session
    # and one channel of the new month as the build inserts them) ...
    dbt_project.query(
        "create rule lose_a_session as on insert to analytics.fct_sessions where "
        "new.session_id = (select min(t.sessionid) from raw_data.session_timestamp as t "
        "inner join raw_data.user_session_channel as c on t.sessionid = c.sessionid "
        f"where t.ts >= '{NEXT_DAY}') do instead nothing; "
        "create rule lose_a_channel as on insert to staging.int_sessions_monthly_by_channel "
        f"where new.month = '{NEW_DAY:%Y-%m-01}' and new.channel = 'Google' do instead nothing")
    generate(tmp_path / "next", scale=0.05, seed=11, since=NEXT_DAY, until=NEXT_DAY)
    load(dbt_project.warehouse.uri(), tmp_path / "next", append=True)
    assert dbt_project.scheduled_build().returncode != 0
    assert scoped_results(dbt_project) == {test: "fail" for test in SCOPED}
    # ... and the full-scope run finds the old rows changed by hand too
    full = dbt_project.dbt("test", "--vars", "{test_scope: full}", "--select", *SCOPED,
                           check=False)
    assert "FAIL 2 assert_fct_sessions_match_clean_staging_sessions_in_new_rows" in full.stdout
    assert "FAIL 2 assert_channel_monthly_summary_agrees_with_staging_in_new_rows" in full.stdout


OLD_MONTH = "2019-06-01"
NEW_DAY, NEXT_DAY = date(2019, 12, 1), date(2019, 12, 2)
SCOPED = ("assert_channel_monthly_summary_agrees_with_staging_in_new_rows",
          "assert_fct_sessions_match_clean_staging_sessions_in_new_rows")


def scoped_results(project: DbtProject) -> dict[str, str]:
    """The statuses of the scoped reconciliations in the last dbt command."""
    return {r["unique_id"].split(".")[2]: r["status"] for r in project.run_results()
            if r["unique_id"].split(".")[2] in SCOPED}
