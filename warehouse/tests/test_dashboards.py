"""The dashboards in a real browser, and the same figure from dashboard, metric and mart.

On the default data set in a throw-away warehouse, the Streamlit dashboards are served as the
read-only `dashboards` login (a member of analytics_users); headless Chromium (Debian's,
through Playwright) opens every page an exposure's `url` names, waits until each chart has
drawn marks, and reads numbers off the page. "Net revenue by channel for 2019-10 under each
attribution model" must be the same on the marketing page, from `mf query` and in
`channel_attribution_monthly`, for every channel and every model the mart holds.
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
    """The value of the st.metric whose label starts with `label`."""
    for element in page.query_selector_all("[data-testid='stMetric']"):
        if element.inner_text().startswith(label):
            text = element.query_selector("[data-testid='stMetricValue']").inner_text()
            return float(re.sub(r"[^0-9.+-]", "", text.split("..")[0]))
    raise AssertionError(f"no metric {label!r} on the page")


def table(page: Any, index: int = 0) -> list[list[str]]:
    """The cells of the index-th st.table on the page, header row first."""
    return page.evaluate(
        "(i) => [...document.querySelectorAll(\"[data-testid='stTable'] table\")[i].rows]"
        ".map(r => [...r.cells].map(c => c.innerText.trim()))", index)


def test_every_page_renders_its_charts_and_the_marts_numbers(
    built: DbtProject, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    pages = exposure_pages()
    assert set(pages.values()) == {"marketing-attribution", "channel-paths", "nps", "ab-test"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path in pages.values():
                open_page(page, f"{server}/{path}?month={MONTH}")
                page.screenshot(path=str(tmp_path / f"{path}.png"), full_page=True)

            open_page(page, f"{server}/marketing-attribution?month={MONTH}")
            ((net,),) = built.query("select sum(net_revenue) from analytics.channel_monthly_summary"
                                    " where month = %s", (f"{MONTH}-01",))
            assert metric(page, "Net revenue") == net
            credit = table(page)

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
    months = [f"{page}-{MONTH}.html" for page in ("marketing-attribution", "channel-paths")]
    assert {"index.html", *(f"{page}.html" for page in exposure_pages().values()),
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
            header, *rows = page.evaluate("""() => {
                const table = document.querySelector('.table table');
                const head = [...table.tHead.rows[0].cells].map(c => c.innerText.trim());
                return [head, ...[...table.tBodies[0].rows]
                    .map(r => [...r.cells].map(c => c.innerText.trim()))];
            }""")
        finally:
            browser.close()
    ((total,),) = built.query("select sum(net_revenue) from analytics.channel_monthly_summary "
                              "where month = %s", (f"{MONTH}-01",))
    assert float(net) == float(total)
    on_page = {(row[0], model): float(value) for row in rows
               for model, value in zip(header[1:], row[1:], strict=True)}
    in_mart = built.query(
        "select channel, attribution_model, attributed_revenue "
        "from analytics.channel_attribution_monthly where month = %s", (f"{MONTH}-01",))
    assert in_mart
    for channel, model, revenue in in_mart:
        assert on_page[(channel, model)] == pytest.approx(float(revenue), abs=0.005)
