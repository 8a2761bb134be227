"""The docs site in a real browser: headless Chromium (Debian's) driven by Playwright.

It opens the static docs (`dbt docs generate --static`), checks the project tree lists the
marts, then opens the full-screen lineage of channel_attribution_monthly and checks that it
reaches back to the raw_data sources and forward to the dashboard exposure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import DbtProject

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MARTS = [
    "fct_sessions",
    "dim_users",
    "dim_channels",
    "channel_monthly_summary",
    "channel_attribution_monthly",
    "channel_performance_monthly",
    "nps_monthly",
    "active_users_monthly",
    "fct_user_events",
    "variant_user_daily",
    "ab_test_summary",
]
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def docs_page(dbt_project: DbtProject) -> Path:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":  # CI installs it: a missing browser is a failure
            pytest.fail("chromium not installed in CI: the workflow must install it")
        pytest.skip("chromium not installed: apt-get install chromium")
    dbt_project.dbt("docs", "generate", "--static", "--empty-catalog")
    return dbt_project.workdir / "target" / "static_index.html"


def test_docs_list_the_marts_and_lineage_reaches_sources_and_exposure(
    docs_page: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{docs_page.as_uri()}#!/model/model.elt.channel_attribution_monthly")
            page.wait_for_selector("text=channel_attribution_monthly")
            listed = page.evaluate(
                "() => Object.values(angular.element(document.body).injector().get('project')"
                ".project.nodes).filter(n => n.resource_type === 'model').map(n => n.name)"
            )
            assert sorted(set(MARTS) - set(listed)) == []
            for mart in MARTS:  # each mart has its own page, titled with its name
                page.goto(f"{docs_page.as_uri()}#!/model/model.elt.{mart}")
                page.wait_for_selector(f"h1 >> text={mart}")
            page.goto(f"{docs_page.as_uri()}#!/model/model.elt.channel_attribution_monthly")
            page.wait_for_selector("h1 >> text=channel_attribution_monthly")

            page.click("[title='View Lineage Graph']")
            page.click("[ng-click='showExpanded()']")
            page.wait_for_function(
                "() => angular.element(document.body).injector().get('graph')"
                ".graph.elements.length > 10"
            )
            nodes = page.evaluate(
                "() => angular.element(document.body).injector().get('graph').graph.elements"
                ".filter(e => !e.data.source).map(e => e.data.unique_id || e.data.id)"
            )
            page.screenshot(path=str(tmp_path / "lineage.png"))
        finally:
            browser.close()
    assert "model.elt.channel_attribution_monthly" in nodes
    assert {
        "source.elt.raw_data.user_session_channel",
        "source.elt.raw_data.session_timestamp",
        "source.elt.raw_data.session_transaction",
    } <= set(nodes)
    assert "exposure.elt.marketing_attribution_dashboard" in nodes
