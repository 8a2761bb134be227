"""Schema names per the contract: exact on `local` and `prod`, prefixed on any other target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROFILES = """\
elt:
  target: local
  outputs:
    local: &pg
      type: postgres
      host: 127.0.0.1
      port: 1
      user: nobody
      password: ""
      dbname: warehouse
      schema: analytics
      threads: 1
    dev:
      <<: *pg
      schema: dbt_alice
    ci:
      <<: *pg
      schema: pr_123
    prod:
      type: redshift
      host: redshift.invalid
      port: 5439
      user: nobody
      password: unused
      dbname: dev
      schema: analytics
      threads: 1
"""


def schemas_for(target: str, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "profiles.yml").write_text(PROFILES)
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "parse",
            "--target",
            target,
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(tmp_path),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    return {
        node["name"]: node["schema"]
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot")
    }


@pytest.mark.parametrize("target", ["local", "prod"])
def test_local_and_prod_use_the_exact_schema_names(target: str, tmp_path: Path) -> None:
    schemas = schemas_for(target, tmp_path)
    assert schemas["stg_raw_data__nps"] == "staging"
    assert schemas["int_sessions_joined"] == "staging"
    assert schemas["fct_sessions"] == "analytics"
    assert schemas["raw_data_quarantine"] == "analytics"


@pytest.mark.parametrize(("target", "prefix"), [("dev", "dbt_alice"), ("ci", "pr_123")])
def test_other_targets_prefix_every_schema(target: str, prefix: str, tmp_path: Path) -> None:
    schemas = schemas_for(target, tmp_path)
    assert schemas["stg_raw_data__nps"] == f"{prefix}_staging"
    assert schemas["fct_sessions"] == f"{prefix}_analytics"
    assert all(schema.startswith(prefix + "_") for schema in schemas.values())
