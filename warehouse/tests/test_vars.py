"""Invalid attribution and incremental vars stop dbt at compile time with a clear message."""

from __future__ import annotations

import pytest

from .conftest import DbtProject

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ("{attribution_lookback_days: -1}", "attribution_lookback_days must be"),
        ("{attribution_lookback_days: abc}", "attribution_lookback_days must be"),
        ("{attribution_half_life_days: 0}", "attribution_half_life_days must be"),
        ("{attribution_half_life_days: -2}", "attribution_half_life_days must be"),
    ],
)
def test_invalid_attribution_vars_fail_compile(
    dbt_project: DbtProject, variables: str, message: str
) -> None:
    result = dbt_project.dbt(
        "compile", "--select", "int_touchpoints_weighted", "--vars", variables, check=False
    )
    assert result.returncode != 0
    assert message in result.stdout


def test_valid_vars_compile(dbt_project: DbtProject) -> None:
    result = dbt_project.dbt(
        "compile",
        "--select",
        "int_touchpoints_weighted",
        "--vars",
        "{attribution_lookback_days: 14, attribution_half_life_days: 3.5}",
    )
    assert result.returncode == 0


@pytest.mark.parametrize("value", ["all", "1", "none"])
def test_invalid_test_scope_fails_compile(dbt_project: DbtProject, value: str) -> None:
    result = dbt_project.dbt(
        "compile", "--select", "unique_in_new_rows_fct_sessions_session_id",
        "--vars", f"{{test_scope: {value}}}", check=False,
    )
    assert result.returncode != 0
    assert "var test_scope must be 'new_rows'" in result.stdout


@pytest.mark.parametrize(
    "value", ["'0.05; drop table analytics.fct_sessions'", "true", "2"])
def test_invalid_quality_threshold_fails_compile(dbt_project: DbtProject, value: str) -> None:
    result = dbt_project.dbt("compile", "--select", "assert_raw_data_quality_rates_have_not_jumped",
                             "--vars", f"{{quality_rate_jump_threshold: {value}}}", check=False)
    assert result.returncode != 0
    assert "var quality_rate_jump_threshold must be a number from 0 to 1" in result.stdout


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ("{access_roles: ['analytics_users; create role injected superuser']}",
         "var access_roles: 'analytics_users; create role injected superuser' is not a role name"),
        ("{access_roles: 'analytics_users'}", "var access_roles must be a list of role names"),
        ("{manage_access_roles: 'yes'}", "var manage_access_roles must be true or false"),
    ],
)
def test_invalid_access_roles_stop_the_run_and_inject_nothing(
    dbt_project: DbtProject, variables: str, message: str
) -> None:
    result = dbt_project.dbt("seed", "--select", "channel_groups", "--vars", variables,
                             check=False)
    assert result.returncode != 0
    assert message in result.stdout
    assert dbt_project.query(
        "select rolname from pg_roles where rolname in ('injected', 'pg_injected')") == []
    # stopped before the run lock was taken: the next run does not wait for this one
    if dbt_project.query("select to_regclass('warehouse_control.dbt_runs')")[0][0] is not None:
        assert dbt_project.query("select count(*) from warehouse_control.dbt_runs") == [(0,)]
