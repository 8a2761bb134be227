"""The dashboards in a real browser, and the same figure from dashboard, metric and mart.

On the default data set in a throw-away warehouse, the Streamlit dashboards are served as the
read-only `dashboards` login (a member of analytics_users); headless Chromium (Debian's,
through Playwright) opens every page an exposure's `url` names, waits until each chart has
drawn marks, and reads numbers off the page. "Net revenue by channel for 2019-10 under each
attribution model" must be the same on the marketing page, from `mf query` and in
`channel_attribution_monthly`, for every channel and every model the mart holds. The newer
sections (first-purchase CAC per model, top transformed paths, months to payback) are compared
with SQL on the marts.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from warehouse.dashboards import ensure_reader, streamlit_command
from warehouse.generator import generate
from warehouse.loader import load

from .conftest import PROJECT_ROOT, DbtProject
from .test_semantic_layer import mf_rows

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
MONTH = "2019-10"
MODELS = {"first_touch", "last_touch", "linear", "position_based", "time_decay",
          "last_non_organic", "markov", "shapley"}
PAGES = {"marketing-attribution", "channel-paths", "cac-payback", "nps", "ab-test"}
# Every chart on the page has drawn marks, and Streamlit is not still running the script.
CHARTS_DRAWN = """() => {
    const charts = [...document.querySelectorAll("[data-testid='stVegaLiteChart']")];
    const marks = "svg g[class*='mark-'] path, svg g[class*='mark-'] line";
    return charts.length > 0 && !document.querySelector("[data-testid='stStatusWidget']")
        && charts.every(chart => chart.querySelectorAll(marks).length > 0);
}"""


def exposure_pages() -> dict[str, str]:
    """Exposure name -> the dashboard page (URL path) its url points at."""
    exposures = yaml.safe_load((PROJECT_ROOT / "models/marts/_exposures.yml").read_text())
    return {e["name"]: e["url"].split("/", 3)[3] for e in exposures["exposures"]}


def dashboard_pages() -> list[str]:
    """The URL path of every page dashboards/app.py declares but the overview."""
    from warehouse.static_dashboards import pages as app_pages

    return [spec.slug for spec in app_pages(PROJECT_ROOT / "dashboards") if spec.slug != "index"]


def top_paths(built: DbtProject, transform: str, first: str, last: str,
              limit: int = 15) -> list[tuple[str, int, int]]:
    """The channel-paths page's top transformed paths: path, converting, non-converting."""
    return [(path, int(converting), int(open_)) for path, converting, open_ in built.query(
        "select path, sum(converting_journeys), sum(non_converting_journeys) "
        "from analytics.path_transform_summary_monthly where path_transform = %s "
        "and journey_month between %s and %s group by path "
        "order by sum(converting_journeys) desc, path limit %s",
        (transform, f"{first}-01", f"{last}-01", limit))]


def months_to_payback(built: DbtProject, cohort: str | None) -> dict[str, str]:
    """Channel -> the CAC payback page's months to payback: the first month since the first
    payment with is_paid_back (one cohort), or, over all cohorts, where the cohorts that have
    reached that month have paid back (their net revenue >= their spend); `no spend` without
    spend, `not yet` if never."""
    if cohort is not None:
        rows = built.query(
            "select channel, bool_or(spend > 0), min(months_since_first) filter "
            "(where is_paid_back) from analytics.cac_payback_monthly where cohort_month = %s "
            "and new_paying_users > 0 group by channel", (f"{cohort}-01",))
    else:
        rows = built.query(
            "select channel, bool_or(spend > 0), min(months_since_first) filter (where paid) "
            "from (select channel, months_since_first, sum(spend) as spend, "
            "sum(spend) > 0 and sum(cumulative_net_revenue_per_user * new_paying_users) "
            ">= sum(spend) as paid from analytics.cac_payback_monthly "
            "where new_paying_users > 0 group by channel, months_since_first) as by_month "
            "group by channel")
    return {channel: "no spend" if not spent else "not yet" if month is None else str(month)
            for channel, spent, month in rows}


def column(rows: list[list[str]], name: str) -> dict[str, str]:
    """First cell -> the cell under `name`, from a table() with its header row first."""
    index = rows[0].index(name)
    return {row[0]: row[index] for row in rows[1:]}


@pytest.fixture(scope="module")
def built(dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    if CHROMIUM is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    data = tmp_path_factory.mktemp("default_data")
    generate(data)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt("build", "--full-refresh", "--exclude", "resource_type:test")
    return dbt_project


@pytest.fixture(scope="module")
def server(built: DbtProject) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DASHBOARDS_URI": ensure_reader(built.warehouse)}
    assert "postgres@" not in env["DASHBOARDS_URI"]
    process = subprocess.Popen(streamlit_command(PROJECT_ROOT, port), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def open_page(page: Any, url: str) -> None:
    """Open a dashboard page and wait until every chart on it has drawn at least one mark."""
    page.goto(url)
    page.wait_for_selector("[data-testid='stVegaLiteChart'] svg", timeout=60_000)
    page.wait_for_function(CHARTS_DRAWN, timeout=60_000,
    )
    assert not page.query_selector("[data-testid='stException']"), page.inner_text("body")


def metric(page: Any, label: str) -> float:
    """The value of the st.metric whose label starts with `label` (once it is drawn)."""
    page.wait_for_function("(label) => [...document.querySelectorAll(\"[data-testid='stMetric']\")]"
                           ".some(m => m.innerText.startsWith(label))", arg=label, timeout=60_000)
    for element in page.query_selector_all("[data-testid='stMetric']"):
        if element.inner_text().startswith(label):
            text = element.query_selector("[data-testid='stMetricValue']").inner_text()
            return float(re.sub(r"[^0-9.+-]", "", text.split("..")[0]))
    raise AssertionError(f"no metric {label!r} on the page")


def table(page: Any, index: int = 0) -> list[list[str]]:
    """The cells of the index-th st.table on the page, header row first (once it is drawn)."""
    page.wait_for_function("(i) => document.querySelectorAll(\"[data-testid='stTable'] table\")"
                           ".length > i", arg=index, timeout=60_000)
    return page.evaluate(
        "(i) => [...document.querySelectorAll(\"[data-testid='stTable'] table\")[i].rows]"
        ".map(r => [...r.cells].map(c => c.innerText.trim()))", index)


def test_every_page_renders_its_charts_and_the_marts_numbers(
    built: DbtProject, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    pages = dashboard_pages()
    assert set(pages) == PAGES
    assert set(exposure_pages().values()) == set(pages)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path in pages:
                open_page(page, f"{server}/{path}?month={MONTH}")
                page.screenshot(path=str(tmp_path / f"{path}.png"), full_page=True)

            open_page(page, f"{server}/marketing-attribution?month={MONTH}")
            ((net,),) = built.query("select sum(net_revenue) from analytics.channel_monthly_summary"
                                    " where month = %s", (f"{MONTH}-01",))
            assert metric(page, "Net revenue") == net
            credit = table(page)
            text = page.inner_text("body")
            assert "How the models differ" in text and "channel set" in text, text
            # The CAC of first purchases under every model, as channel_performance_monthly has it.
            first_cac = table(page, 1)
            assert MODELS <= set(first_cac[0]), first_cac[0]
            for model in MODELS:
                on_page = column(first_cac, model)
                expected = dict(built.query(
                    f"select channel, first_purchase_cac_{model} "
                    "from analytics.channel_performance_monthly where month = %s",
                    (f"{MONTH}-01",)))
                assert set(on_page) == set(expected)
                for channel, value in expected.items():
                    if value is None:
                        assert on_page[channel] == "", (model, channel)
                    else:
                        assert float(on_page[channel]) == pytest.approx(value, abs=0.005)
            ((first, repeat),) = built.query(
                "select sum(attributed_conversions) filter (where purchase_type = 'first'), "
                "sum(attributed_conversions) filter (where purchase_type = 'repeat') "
                "from analytics.channel_attribution_by_purchase_monthly "
                "where month = %s and attribution_model = 'last_touch'", (f"{MONTH}-01",))
            assert metric(page, "First purchases") == first
            assert metric(page, "Repeat purchases") == repeat

            open_page(page, f"{server}/cac-payback")
            payback = table(page)
            assert column(payback, "months to payback") == months_to_payback(built, None)
            assert column(payback, "cohorts paid back") == {
                channel: f"{paid} of {cohorts}" if spent else "" for channel, paid, cohorts, spent
                in built.query("select channel, count(*) filter (where paid), count(*), "
                               "bool_or(spent) from (select channel, cohort_month, "
                               "bool_or(is_paid_back) as paid, bool_or(spend > 0) as spent "
                               "from analytics.cac_payback_monthly group by 1, 2) as cohorts "
                               "group by channel")}
            open_page(page, f"{server}/cac-payback?month=2019-05")
            assert column(table(page), "months to payback") == months_to_payback(built, "2019-05")

            open_page(page, f"{server}/nps")
            ((nps,),) = built.query("select nps from analytics.nps_monthly order by month desc "
                                    "limit 1")
            assert metric(page, "NPS") == pytest.approx(float(nps), abs=0.005)

            open_page(page, f"{server}/ab-test")
            ((p_value,),) = built.query("select p_value from analytics.ab_test_summary "
                                        "where variant_id = 'test'")
            assert metric(page, "p-value") == pytest.approx(p_value, abs=5e-5)

            open_page(page, f"{server}/channel-paths?month={MONTH}")
            ((converting,),) = built.query(
                "select sum(converting_journeys) from (select converting_journeys "
                "from analytics.path_summary_monthly where journey_month = %s order by "
                "converting_journeys + non_converting_journeys desc, path limit 15) as top",
                (f"{MONTH}-01",))
            assert metric(page, "Converting journeys") == converting

            # The top transformed paths, over a range of months given in the address.
            open_page(page, f"{server}/channel-paths?month={MONTH}&transform=first_touch"
                            "&from=2019-06&to=2019-10")
            expected_paths = top_paths(built, "first_touch", "2019-06", "2019-10")
            assert metric(page, "Top first_touch paths: converting journeys") == sum(
                converting for _, converting, _ in expected_paths)
            header, *rows = table(page, 1)
            assert header[1:] == ["converting_journeys", "non_converting_journeys",
                                  "net_revenue", "conversion_rate"], header
            assert [(row[0], int(row[1]), int(row[2])) for row in rows] == expected_paths
            for row, (_, converting, open_) in zip(rows, expected_paths, strict=True):
                assert float(row[4].rstrip("%")) == pytest.approx(
                    100 * converting / (converting + open_), abs=0.05)
            open_page(page, f"{server}/channel-paths")  # every month, exposure paths
            ((first_month, last_month),) = built.query(
                "select min(journey_month)::text, max(journey_month)::text "
                "from analytics.path_transform_summary_monthly")
            assert metric(page, "Top exposure paths: converting journeys") == sum(
                converting for _, converting, _ in top_paths(
                    built, "exposure", first_month[:7], last_month[:7]))
        finally:
            browser.close()

    # Dashboard, metric and mart agree on net revenue by channel under each model in 2019-10.
    header, rows = credit[0], credit[1:]
    on_page = {(row[0], model): float(value) for row in rows
               for model, value in zip(header[1:], row[1:], strict=True)}
    in_mart = built.query(
        "select channel, attribution_model, attributed_revenue "
        "from analytics.channel_attribution_monthly where month = %s", (f"{MONTH}-01",))
    models = {model for _, model, _ in in_mart}
    assert "last_touch" in models and models <= set(header)
    from_mf = {(row["channel"], row["attribution__attribution_model"]):
               float(row["attributed_revenue"])
               for row in mf_rows(built, tmp_path, ["attributed_revenue"],
                                  ["metric_time__month", "channel",
                                   "attribution__attribution_model"])
               if row["metric_time__month"].startswith(MONTH)}
    for channel, model, revenue in in_mart:
        assert on_page[(channel, model)] == pytest.approx(float(revenue), abs=0.005)
        assert from_mf[(channel, model)] == pytest.approx(float(revenue), abs=1e-6)

    # CAC payback over all cohorts: the page's CAC (month 0) and net revenue per user at the
    # latest month since are the semantic layer's payback_cac and payback_revenue_per_user.
    payback_mf = {(row["channel"], int(float(row["cac_payback__months_since_first"]))):
                  (float(row["payback_cac"]), float(row["payback_revenue_per_user"]))
                  for row in mf_rows(built, tmp_path, ["payback_cac", "payback_revenue_per_user"],
                                     ["channel", "cac_payback__months_since_first"])}
    cac, latest = column(payback, "CAC"), column(payback, "latest month since first")
    revenue = column(payback, "net revenue per user then")
    assert set(cac) == {channel for channel, _ in payback_mf}
    for channel in cac:
        assert float(cac[channel]) == pytest.approx(payback_mf[(channel, 0)][0], abs=0.005)
        assert float(revenue[channel]) == pytest.approx(
            payback_mf[(channel, int(latest[channel]))][1], abs=0.005)


# The index-th table of a static page: its first header row, then the body's rows.
STATIC_TABLE = """(i) => {
    const table = document.querySelectorAll('.table table')[i];
    const head = [...table.tHead.rows[0].cells].map(c => c.innerText.trim());
    return [head, ...[...table.tBodies[0].rows]
        .map(r => [...r.cells].map(c => c.innerText.trim()))];
}"""
MARKS_DRAWN = """() => [...document.querySelectorAll("figure.chart")].map(chart =>
    chart.querySelectorAll("svg g[class*='mark-'] path, svg g[class*='mark-'] line").length)"""


def test_the_static_site_has_every_page_with_its_charts_and_the_marts_numbers(
    built: DbtProject, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from warehouse.static_dashboards import build

    site = tmp_path / "site"
    uri = ensure_reader(built.warehouse)
    assert "postgres@" not in uri
    written = build(site, uri, PROJECT_ROOT / "dashboards")
    names = {path.name for path in written}
    months = [f"{page}-{MONTH}.html"
              for page in ("marketing-attribution", "channel-paths", "cac-payback")]
    assert {"index.html", *(f"{page}.html" for page in dashboard_pages()),
            *months} <= names, names
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path in written:
                page.goto(path.as_uri())
                assert not page.query_selector(".error"), (path.name, page.inner_text("main"))
                marks = page.evaluate(MARKS_DRAWN)
                assert path.name == "index.html" or marks, f"{path.name}: no chart"
                assert all(marks), f"{path.name}: a chart without marks {marks}"
            page.goto((site / "index.html").as_uri())
            links = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
            assert all(Path(link.removeprefix("file://")).exists() for link in links), links

            page.goto((site / f"marketing-attribution-{MONTH}.html").as_uri())
            net = page.evaluate("""() => [...document.querySelectorAll('.metric')]
                .find(m => m.innerText.startsWith('Net revenue'))
                .querySelector('.value').innerText""")
            header, *rows = page.evaluate(STATIC_TABLE, 0)
            first_cac_header = page.evaluate(STATIC_TABLE, 1)[0]

            page.goto((site / "cac-payback.html").as_uri())
            payback = page.evaluate(STATIC_TABLE, 0)
            page.goto((site / "cac-payback-2019-05.html").as_uri())
            payback_may = page.evaluate(STATIC_TABLE, 0)
        finally:
            browser.close()
    ((total,),) = built.query("select sum(net_revenue) from analytics.channel_monthly_summary "
                              "where month = %s", (f"{MONTH}-01",))
    assert float(net) == float(total)
    assert MODELS <= set(first_cac_header), first_cac_header
    assert column(payback, "months to payback") == months_to_payback(built, None)
    assert column(payback_may, "months to payback") == months_to_payback(built, "2019-05")
    on_page = {(row[0], model): float(value) for row in rows
               for model, value in zip(header[1:], row[1:], strict=True)}
    in_mart = built.query(
        "select channel, attribution_model, attributed_revenue "
        "from analytics.channel_attribution_monthly where month = %s", (f"{MONTH}-01",))
    assert in_mart
    for channel, model, revenue in in_mart:
        assert on_page[(channel, model)] == pytest.approx(float(revenue), abs=0.005)
