"""Slim CI: build only what a change touches, into its own schemas, deferring to production.

With a production manifest in `state_dir`, runs
`dbt build --select state:modified+ --defer --state <state_dir>` on a `ci` target whose schema
prefixes every dbt schema (e.g. pr_123_analytics), so unchanged parents are read from
production and nothing collides with it. Without one, falls back to a full build.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from warehouse.dbt import Dbt, local_target, write_profiles


def build_args(state_dir: Path) -> list[str]:
    """The dbt arguments: slim when a production manifest exists, else a full build."""
    if (state_dir / "manifest.json").exists():
        return ["build", "--select", "state:modified+", "--defer", "--state", str(state_dir)]
    return ["build"]


def run(project_dir: Path, state_dir: Path, schema: str, port: int,
        target_path: Path | None = None, host: str = "127.0.0.1", password: str = "") -> None:
    """Run the slim (or full) CI build, dbt's output on the terminal; a failure raises
    warehouse.dbt.DbtError."""
    args = build_args(state_dir.resolve())
    mode = "slim: state:modified+" if len(args) > 1 else "full build (no production manifest)"
    print(f"slim-ci: {mode}, schemas prefixed '{schema}_'", flush=True)
    with tempfile.TemporaryDirectory() as profiles:
        write_profiles(Path(profiles), local_target(port, name="ci", schema=schema, host=host,
                                                    password=password))
        Dbt(project_dir, Path(profiles), target_path=target_path).run(
            *args, "--target", "ci", capture=False
        )
