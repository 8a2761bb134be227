"""A data or unit test over unchanged inputs reports its earlier pass instead of running again
(macros/incremental/test_passes.sql), and runs whenever anything it reads may have changed:
rows written by dbt, rows edited by hand, its own SQL, or a full-scope run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from warehouse.generator import generate
from warehouse.loader import load

from .conftest import DbtProject

pytestmark = pytest.mark.e2e

REUSED = re.compile(r"Reusing the pass of ((?:unit_)?test\.\S+):")
DIM_CHANNELS_UNIQUE = "test.elt.unique_dim_channels_channel."
CHANNEL_UNIQUE = "test.elt.unique_stg_raw_data__channel_channel_name."
FCT_SESSIONS = "_fct_sessions_"
MARKOV_UNIT = "unit_test.elt.int_markov_removal_effects_monthly.markov_removal_effects_of_published"


def named(names: set[str], part: str) -> set[str]:
    return {name for name in names if part in name}


def reused(project: DbtProject, *args: str, check: bool = True) -> tuple[set[str], bool]:
    """Run `dbt <args>`; the unique ids of the tests whose pass it reused, and whether it passed."""
    log = project.workdir / "logs" / "dbt.log"
    log.unlink(missing_ok=True)
    result = project.dbt(*args, check=check)
    return set(REUSED.findall(log.read_text())), result.returncode == 0


def test_passes_are_reused_only_over_unchanged_inputs(dbt_project: DbtProject,
                                                      tmp_path: Path) -> None:
    data, extra = tmp_path / "data", tmp_path / "extra"
    generate(data, scale=0.05, seed=5)
    generate(extra, scale=0.01, seed=6)
    load(dbt_project.warehouse.uri(), data)
    first, _ = reused(dbt_project, "build", "--full-refresh", "--exclude", "test_type:unit")
    assert not first  # --full-refresh runs every test (and records the passes)

    # a build of the same rows: every model is kept, and the tests over models pass unrun
    again, _ = reused(dbt_project, "build", "--exclude", "test_type:unit")
    assert named(again, DIM_CHANNELS_UNIQUE) and named(again, FCT_SESSIONS)
    assert named(again, CHANNEL_UNIQUE)  # a test on a view

    # a duplicate written by hand into a mart: its grain test runs, and fails
    dbt_project.query("insert into analytics.dim_channels select * from analytics.dim_channels "
                      "limit 1")
    edited, passed = reused(dbt_project, "test", "--select", "dim_channels", check=False)
    assert not passed and not named(edited, DIM_CHANNELS_UNIQUE)
    # the failure is not remembered: removed again, the test runs (and passes) again
    dbt_project.query("delete from analytics.dim_channels where ctid in (select max(ctid) from "
                      "analytics.dim_channels group by channel having count(*) > 1)")
    fixed, passed = reused(dbt_project, "test", "--select", "dim_channels")
    assert passed and not named(fixed, DIM_CHANNELS_UNIQUE)
    kept, _ = reused(dbt_project, "test", "--select", "dim_channels")
    assert named(kept, DIM_CHANNELS_UNIQUE)

    # a view replaced by hand (create or replace keeps its oid): its tests run, and fail
    (schema,) = dbt_project.query("select table_schema from information_schema.views "
                                  "where table_name = 'stg_raw_data__channel'")[0]
    view = f"{schema}.stg_raw_data__channel"
    (definition,) = dbt_project.query("select pg_get_viewdef(%s::regclass)", (view,))[0]
    body = definition.strip().rstrip(";")
    dbt_project.query(f"create or replace view {view} as select * from ({body}) as once "
                      f"union all select * from ({body}) as twice")
    replaced, passed = reused(dbt_project, "test", "--select", "stg_raw_data__channel",
                              check=False)
    assert not passed and not named(replaced, CHANNEL_UNIQUE)
    dbt_project.dbt("run", "--full-refresh", "--select", "stg_raw_data__channel")

    # a full-scope run of the tests reuses nothing
    full, _ = reused(dbt_project, "test", "--exclude", "test_type:unit",
                     "--vars", "{test_scope: full}")
    assert not full
    # a full scope's tests are other SQL than the scoped ones; a plain build still reuses
    after_full, _ = reused(dbt_project, "build", "--exclude", "test_type:unit")
    assert named(after_full, FCT_SESSIONS)

    # new raw rows: the tests over what they reach run again, the others pass unrun
    load(dbt_project.warehouse.uri(), extra, append=True)
    appended, _ = reused(dbt_project, "build", "--exclude", "test_type:unit")
    assert not named(appended, FCT_SESSIONS) and len(appended) < len(again)
    # the build after it has nothing new: its tests' scopes (what the append rebuilt) are
    # empty, but what they read is as the append's tests passed over it, so those passes are
    # reused (the scope is not part of the key, the models' tokens are)
    quiet, _ = reused(dbt_project, "build", "--exclude", "test_type:unit")
    assert named(again, FCT_SESSIONS) <= named(quiet, FCT_SESSIONS)
    assert named(quiet, "test.elt.unique_fct_sessions_session_id.")
    assert len(quiet) >= len(again)

    # vars a test does not read leave its key as it was
    same, _ = reused(dbt_project, "test", "--select", "dim_channels",
                     "--vars", "{test_passes_probe: 1}")
    assert named(same, DIM_CHANNELS_UNIQUE)

    # unit tests: a pass is reused while their SQL (the model's, over the fixtures, with the
    # vars it reads) and expected rows are the same
    units = {name for name in json.loads(
        (dbt_project.workdir / "target" / "manifest.json").read_text())["unit_tests"]}
    reused(dbt_project, "test", "--select", "test_type:unit")
    unit_again, _ = reused(dbt_project, "test", "--select", "test_type:unit")
    assert named(unit_again, "unit_test.") == units
    # a var the Markov solver reads changes its unit test's SQL: it runs, and fails, each time
    for _ in range(2):
        markov, passed = reused(dbt_project, "test", "--select", "test_type:unit",
                                "--vars", "{markov_max_channels: 1}", check=False)
        assert not passed and not named(markov, MARKOV_UNIT)
        assert named(markov, "unit_test.") == {name for name in units if MARKOV_UNIT not in name}
    full_units, _ = reused(dbt_project, "test", "--select", "test_type:unit",
                           "--vars", "{test_scope: full}")
    assert not full_units
