"""Slim CI: build only what a change touches, into its own schemas, deferring to production.

With a production manifest in `state_dir`, runs
`dbt build --select state:modified+ --defer --state <state_dir>` on a `ci` target whose schema
prefixes every dbt schema (e.g. pr_123_analytics), so unchanged parents are read from
production and nothing collides with it. Without one, falls back to a full build.

dbt 1.11's `state:modified` does not see a var's value change in dbt_project.yml (the manifest
does not hold the vars), so a new default for `attribution_lookback_days` would build nothing.
When `state_dir` also holds production's dbt_project.yml, the models that read a var whose value
differs (in their SQL or in a macro they call, however deep) are selected too, with their
children.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from warehouse.dbt import Dbt, local_target, write_profiles

PROJECT_FILE = "dbt_project.yml"


def build_args(state_dir: Path, also: Sequence[str] = ()) -> list[str]:
    """The dbt arguments: slim when a production manifest exists (state:modified+ and the
    models named in `also`, with their children), else a full build."""
    if (state_dir / "manifest.json").exists():
        selection = ["state:modified+", *(f"{name}+" for name in also)]
        return ["build", "--select", *selection, "--defer", "--state", str(state_dir)]
    return ["build"]


def project_vars(project_file: Path) -> dict[str, Any]:
    """The vars a dbt_project.yml declares (its top-level `vars:`)."""
    loaded = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    found = loaded.get("vars") or {}
    return dict(found) if isinstance(found, Mapping) else {}


def changed_vars(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The vars added, removed or given another value, sorted."""
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def var_readers(manifest: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The models and snapshots that read any of these vars, in their own code or in a macro
    they call (however deep), sorted by name."""
    wanted = list(names)
    if not wanted:
        return []
    alternatives = "|".join(map(re.escape, wanted))
    reads = re.compile(rf"""\bvar\(\s*['"](?:{alternatives})['"]""")
    macros: Mapping[str, Any] = manifest.get("macros", {})
    calls = {uid: set(macro.get("depends_on", {}).get("macros", []))
             for uid, macro in macros.items()}
    reading = {uid for uid, macro in macros.items() if reads.search(macro.get("macro_sql") or "")}
    while more := {uid for uid, called in calls.items() if uid not in reading and called & reading}:
        reading |= more  # the macros that call one that reads them, up to the top
    return sorted(
        str(node["name"]) for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") in ("model", "snapshot") and (
            reads.search(node.get("raw_code") or "")
            or reading & set(node.get("depends_on", {}).get("macros", []))))

def models_reading_changed_vars(project_dir: Path, state_dir: Path) -> tuple[list[str], list[str]]:
    """The vars whose value differs from production's (state_dir/dbt_project.yml) and the models
    that read them (per production's manifest); nothing when either file is missing."""
    production, manifest = state_dir / PROJECT_FILE, state_dir / "manifest.json"
    if not (production.exists() and manifest.exists()):
        return [], []
    names = changed_vars(project_vars(production), project_vars(project_dir / PROJECT_FILE))
    readers = var_readers(json.loads(manifest.read_text(encoding="utf-8")), names)
    return names, readers


def run(project_dir: Path, state_dir: Path, schema: str, port: int,
        target_path: Path | None = None, host: str = "127.0.0.1", password: str = "") -> None:
    """Run the slim (or full) CI build, dbt's output on the terminal; a failure raises
    warehouse.dbt.DbtError."""
    state_dir = state_dir.resolve()
    names, readers = models_reading_changed_vars(project_dir, state_dir)
    args = build_args(state_dir, readers)
    mode = "slim: state:modified+" if len(args) > 1 else "full build (no production manifest)"
    if names and len(args) > 1:
        mode += f", and the {len(readers)} models reading the changed vars {', '.join(names)}"
    print(f"slim-ci: {mode}, schemas prefixed '{schema}_'", flush=True)
    with tempfile.TemporaryDirectory() as profiles:
        write_profiles(Path(profiles), local_target(port, name="ci", schema=schema, host=host,
                                                    password=password))
        Dbt(project_dir, Path(profiles), target_path=target_path).run(
            *args, "--target", "ci", capture=False
        )
