"""The semantic layer: MetricFlow's configs validate, and every metric equals the marts' figure.

On the default data set built in a throw-away warehouse, `mf validate-configs` passes and three
`mf query` runs (every metric by month; net revenue and conversion by channel and month, the
query in docs/semantic-layer.md; attribution by channel, month and model) are compared with the
same figures read from the marts with SQL. Nothing lists the attribution models: the test takes
whichever models `channel_attribution_monthly` holds.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from warehouse.generator import generate
from warehouse.loader import load

from .conftest import DBT_ENV, PROJECT_ROOT, DbtProject

pytestmark = pytest.mark.e2e

MF = str(Path(sys.executable).parent / "mf")
TOLERANCE = 1e-6
# Every metric of the semantic layer; the test fails if one is added without being checked here.
MONTHLY_SQL = {
    "sessions": "select session_month, count(*) from analytics.fct_sessions group by 1",
    "unique_users": "select month, active_users from analytics.active_users_monthly",
    "active_users": "select month, active_users from analytics.active_users_monthly",
    "new_users": "select month, new_users from analytics.active_users_monthly",
    "returning_users": "select month, returning_users from analytics.active_users_monthly",
    "paid_users": "select session_month, count(distinct user_id) from analytics.fct_sessions "
    "where is_paid group by 1",
    "conversion_rate": "select session_month, 1.0 * count(distinct case when is_paid then "
    "user_id end) / count(distinct user_id) from analytics.fct_sessions group by 1",
    "gross_revenue": "select month, sum(gross_revenue) from analytics.channel_monthly_summary "
    "group by 1",
    "net_revenue": "select month, sum(net_revenue) from analytics.channel_monthly_summary "
    "group by 1",
    "conversions": "select session_month, count(*) from analytics.fct_sessions "
    "where is_conversion group by 1",
    "attributed_revenue": "select month, sum(attributed_revenue) "
    "from analytics.channel_attribution_monthly group by 1",
    "attributed_conversions": "select month, sum(attributed_conversions) "
    "from analytics.channel_attribution_monthly group by 1",
    "attribution_spend_total": "select month, sum(spend) from analytics.channel_roas_monthly "
    "group by 1",
    "roas": "select month, sum(attributed_revenue) / nullif(sum(spend), 0) "
    "from analytics.channel_roas_monthly group by 1",
    "spend": "select month, sum(spend) from analytics.channel_performance_monthly group by 1",
    "impressions": "select month, sum(impressions) from analytics.channel_performance_monthly "
    "group by 1",
    "clicks": "select month, sum(clicks) from analytics.channel_performance_monthly group by 1",
    "ctr": "select month, 1.0 * sum(clicks) / nullif(sum(impressions), 0) "
    "from analytics.channel_performance_monthly group by 1",
    "new_paying_users": "select month, sum(new_paying_users) "
    "from analytics.channel_performance_monthly group by 1",
    "cac": "select month, sum(spend) / nullif(sum(new_paying_users), 0) "
    "from analytics.channel_performance_monthly group by 1",
    "last_touch_revenue": "select month, sum(last_touch_revenue) "
    "from analytics.channel_performance_monthly group by 1",
    "last_touch_roas": "select month, sum(last_touch_revenue) / nullif(sum(spend), 0) "
    "from analytics.channel_performance_monthly group by 1",
    "first_purchase_conversions": "select month, sum(first_purchase_conversions) "
    "from analytics.channel_roas_monthly group by 1",
    "first_purchase_cac": "select month, sum(spend) / nullif(sum(first_purchase_conversions), 0) "
    "from analytics.channel_roas_monthly group by 1",
    "purchase_attributed_conversions": "select month, sum(attributed_conversions) "
    "from analytics.channel_attribution_by_purchase_monthly group by 1",
    "purchase_attributed_revenue": "select month, sum(attributed_revenue) "
    "from analytics.channel_attribution_by_purchase_monthly group by 1",
    "path_converting_journeys": "select journey_month, sum(converting_journeys) "
    "from analytics.path_transform_summary_monthly group by 1",
    "path_journeys": "select journey_month, sum(converting_journeys + non_converting_journeys) "
    "from analytics.path_transform_summary_monthly group by 1",
    "path_conversion_rate": "select journey_month, 1.0 * sum(converting_journeys) "
    "/ sum(converting_journeys + non_converting_journeys) "
    "from analytics.path_transform_summary_monthly group by 1",
    "payback_spend_total": "select cohort_month, sum(spend) from analytics.cac_payback_monthly "
    "group by 1",
    "payback_users_total": "select cohort_month, sum(new_paying_users) "
    "from analytics.cac_payback_monthly group by 1",
    "payback_cac": "select cohort_month, sum(spend) / sum(new_paying_users) "
    "from analytics.cac_payback_monthly group by 1",
    "payback_cumulative_revenue_total": "select cohort_month, "
    "sum(cumulative_net_revenue_per_user * new_paying_users) "
    "from analytics.cac_payback_monthly group by 1",
    "payback_revenue_per_user": "select cohort_month, "
    "sum(cumulative_net_revenue_per_user * new_paying_users) / sum(new_paying_users) "
    "from analytics.cac_payback_monthly group by 1",
    "nps": "select month, nps from analytics.nps_monthly",
    "nps_responses": "select month, responses from analytics.nps_monthly",
    "nps_promoters": "select month, promoters from analytics.nps_monthly",
    "nps_detractors": "select month, detractors from analytics.nps_monthly",
    "ab_users": "select date_trunc('month', event_date)::date, count(distinct user_id) "
    "from analytics.fct_user_events where variant_id is not null group by 1",
    "ab_purchasers": "select date_trunc('month', event_date)::date, count(distinct user_id) "
    "from analytics.fct_user_events where variant_id is not null and purchased > 0 group by 1",
    "ab_conversion_rate": "select date_trunc('month', event_date)::date, "
    "1.0 * count(distinct case when purchased > 0 then user_id end) / count(distinct user_id) "
    "from analytics.fct_user_events where variant_id is not null group by 1",
}
# The marts round these; the metrics do not.
ROUNDED = {"nps": 0.005}


@pytest.fixture(scope="module")
def built(dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    data = tmp_path_factory.mktemp("default_data")
    generate(data)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt("build", "--full-refresh", "--exclude", "resource_type:test")
    return dbt_project


def mf(project: DbtProject, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `mf <args>` on the project and the throw-away warehouse; fail with its output."""
    env = {**DBT_ENV, "DBT_PROFILES_DIR": str(project.profiles_dir),
           "DBT_TARGET_PATH": str(project.workdir / "target"),
           "DBT_LOG_PATH": str(project.workdir / "logs")}
    result = subprocess.run([MF, *args], capture_output=True, text=True, env=env,
                            cwd=PROJECT_ROOT)
    if result.returncode != 0:
        pytest.fail(f"mf {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr}")
    return result


def mf_rows(project: DbtProject, tmp_path: Path, metrics: list[str],
            group_by: list[str]) -> Iterator[dict[str, str]]:
    out = tmp_path / "out.csv"
    mf(project, "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by),
       "--csv", str(out), "--quiet")
    with out.open(newline="") as handle:
        yield from csv.DictReader(handle)


def number(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def assert_close(found: float | None, expected: float | None, what: str, tol: float) -> None:
    if expected is None or found is None:
        assert found == expected, what
    else:
        assert abs(found - expected) <= tol * max(1.0, abs(expected)), (
            f"{what}: {found} != {expected}")


def test_validate_configs(built: DbtProject) -> None:
    result = mf(built, "validate-configs")
    assert "Successfully validated the semantics" in result.stdout


def test_every_metric_by_month_equals_the_marts(built: DbtProject, tmp_path: Path) -> None:
    listed = mf(built, "list", "metrics").stdout
    defined = {line.split("•")[1].split(":")[0].strip()
               for line in listed.splitlines() if "•" in line}
    assert defined == set(MONTHLY_SQL), "a metric is not checked against the marts"
    rows = list(mf_rows(built, tmp_path, sorted(MONTHLY_SQL), ["metric_time__month"]))
    assert rows
    by_month = {row["metric_time__month"][:10]: row for row in rows}
    checked = 0
    for metric, sql in MONTHLY_SQL.items():
        expected = {str(month): number(value) for month, value in built.query(sql)}
        assert expected, metric
        for month, value in expected.items():
            assert month in by_month, f"{metric}: no metric row for {month}"
            assert_close(number(by_month[month][metric]), value, f"{metric} {month}",
                         ROUNDED.get(metric, TOLERANCE))
            checked += 1
    assert checked > 100


def test_net_revenue_by_channel_and_month_equals_the_summary(
    built: DbtProject, tmp_path: Path
) -> None:
    metrics = ["net_revenue", "gross_revenue", "unique_users", "paid_users", "conversion_rate"]
    found = {(row["metric_time__month"][:10], row["channel"]): row
             for row in mf_rows(built, tmp_path, metrics, ["metric_time__month", "channel"])}
    expected = built.query(
        "select month::text, channel, net_revenue, gross_revenue, unique_users, paid_users, "
        "conversion_rate from analytics.channel_monthly_summary")
    assert len(found) == len(expected) > 0
    for month, channel, net, gross, users, paid, rate in expected:
        row = found[(month, channel)]
        assert number(row["net_revenue"]) == net
        assert number(row["gross_revenue"]) == gross
        assert number(row["unique_users"]) == users
        assert number(row["paid_users"]) == paid
        # the summary has a percentage rounded to 2 places
        assert_close(100 * (number(row["conversion_rate"]) or 0), float(rate), "rate", 0.005)


def test_attribution_by_model_equals_the_attribution_mart(
    built: DbtProject, tmp_path: Path
) -> None:
    found = {(row["metric_time__month"][:10], row["channel"],
              row["attribution__attribution_model"]): row
             for row in mf_rows(built, tmp_path,
                                ["attributed_revenue", "attributed_conversions", "roas"],
                                ["metric_time__month", "channel",
                                 "attribution__attribution_model"])}
    credited = built.query(
        "select month::text, channel, attribution_model, attributed_revenue, "
        "attributed_conversions from analytics.channel_attribution_monthly")
    models = {model for _, _, model, _, _ in credited}
    assert {"first_touch", "last_touch", "linear"} <= models
    assert {key[2] for key in found} == models
    for month, channel, model, revenue, conversions in credited:
        row = found[(month, channel, model)]
        assert_close(number(row["attributed_revenue"]), float(revenue), "revenue", TOLERANCE)
        assert_close(number(row["attributed_conversions"]), float(conversions), "conv", TOLERANCE)
    first = {(row["metric_time__month"][:10], row["channel"],
              row["attribution__attribution_model"]): row
             for row in mf_rows(built, tmp_path, ["first_purchase_cac"],
                                ["metric_time__month", "channel",
                                 "attribution__attribution_model"])}
    for month, channel, model, roas, cac in built.query(
        "select month::text, channel, attribution_model, roas, first_purchase_cac"
        " from analytics.channel_roas_monthly"
    ):
        assert_close(number(found[(month, channel, model)]["roas"]),
                     None if roas is None else float(roas), "roas", TOLERANCE)
        assert_close(number(first[(month, channel, model)]["first_purchase_cac"]),
                     None if cac is None else float(cac), "first_purchase_cac", TOLERANCE)
    last_touch = dict(built.query(
        "select month::text || channel, roas from analytics.channel_performance_monthly"))
    for (month, channel, model), row in found.items():
        if model == "last_touch":
            value = last_touch[month + channel]
            assert_close(number(row["roas"]), None if value is None else float(value),
                         "last-touch roas", TOLERANCE)


