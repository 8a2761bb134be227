"""warehouse.dbt: the one profile template and the one way dbt is run from Python."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
import yaml

from warehouse.dbt import (
    FORK_SERVER_ENV,
    Dbt,
    DbtError,
    first_error,
    local_state,
    local_target,
    profiles_yaml,
    redshift_target,
    write_profiles,
)
from warehouse.server import Warehouse

ROOT = Path(__file__).resolve().parents[2]

# What dbt 1.11 prints when a model fails (trimmed), ANSI colours and timestamps included.
FAILED_BUILD = """\
\x1b[0m09:10:01  Running with dbt=1.11.16
\x1b[0m09:10:05  1 of 2 START sql table model analytics.fct_sessions .......... [RUN]
\x1b[0m09:10:05  1 of 2 ERROR creating sql table model analytics.fct_sessions [\x1b[31mERROR\x1b[0m]
\x1b[0m09:10:06  Finished running 2 table models in 0 hours 0 minutes and 1.00 seconds (1.00s).
\x1b[0m09:10:06  \x1b[31mCompleted with 1 error, 0 partial successes, and 0 warnings:\x1b[0m
\x1b[0m09:10:06
\x1b[0m09:10:06    Database Error in model fct_sessions (models/marts/marketing/fct_sessions.sql)
  relation "staging.stg_raw_data__nps" does not exist
  LINE 12: from "warehouse"."staging"."stg_raw_data__nps"
\x1b[0m09:10:06
\x1b[0m09:10:06  Done. PASS=1 WARN=0 ERROR=1 SKIP=0 NO-OP=0 TOTAL=2
"""


def test_one_template_takes_each_targets_user_password_and_schema() -> None:
    dev = local_target(5433, name="dev", user="alice", password="p'a:ss #1", schema="dbt_alice")
    text = profiles_yaml(dev, redshift_target("prod"), header="# a header\n")
    assert text.startswith("# a header\n")
    profile = yaml.safe_load(text)["elt"]
    assert profile["target"] == "dev"
    assert profile["outputs"]["dev"] == {
        "type": "postgres", "host": "127.0.0.1", "port": 5433, "user": "alice",
        "password": "p'a:ss #1", "dbname": "warehouse", "schema": "dbt_alice", "threads": 4,
    }
    prod = profile["outputs"]["prod"]
    assert (prod["type"], prod["schema"], prod["host"]) == ("redshift", "analytics",
                                                            "redshift.invalid")
    assert yaml.safe_load(profiles_yaml(dev, redshift_target("ci"), default="ci"))[
        "elt"]["target"] == "ci"
    with pytest.raises(ValueError):
        profiles_yaml()


def test_first_error_is_one_line_with_heading_and_detail() -> None:
    assert first_error(FAILED_BUILD) == (
        "Database Error in model fct_sessions (models/marts/marketing/fct_sessions.sql): "
        'relation "staging.stg_raw_data__nps" does not exist'
    )
    assert first_error("Running with dbt=1.11.16\nDone. PASS=3 WARN=0 ERROR=0\n") == ""


@pytest.mark.e2e
def test_a_failed_dbt_command_raises_one_line(tmp_path: Path) -> None:
    profiles = write_profiles(tmp_path / "profiles", local_target(1)).parent
    dbt = Dbt(ROOT, profiles, target_path=tmp_path / "target", log_path=tmp_path / "logs")
    with pytest.raises(DbtError) as failure:
        dbt.run("--quiet", "parse", "--target", "nope")
    message = str(failure.value)
    assert message.startswith("dbt parse failed (exit 2): Runtime Error: The profile 'elt' "
                              "does not have a target named 'nope'"), message
    assert "\n" not in message
    result = dbt.run("--quiet", "parse", "--target", "nope", check=False)
    assert not result.success and "target named 'nope'" in result.output


@pytest.mark.parametrize("args", [("--quiet", "ls", "--select", "fct_sessions",
                                   "--resource-type", "model"),
                                  ("--quiet", "parse", "--target", "nope")], ids=["ok", "error"])
def test_a_forked_dbt_command_says_and_exits_as_a_new_process_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    profiles = write_profiles(tmp_path / "profiles", local_target(1)).parent
    dbt = Dbt(ROOT, profiles, target_path=tmp_path / "target", log_path=tmp_path / "logs",
              env={"DBT_PARTIAL_PARSE": "false"})
    monkeypatch.delenv(FORK_SERVER_ENV, raising=False)
    new = dbt.run(*args, check=False)
    monkeypatch.setenv(FORK_SERVER_ENV, "1")
    forked = dbt.run(*args, check=False)
    def said(output: str) -> str:  # without dbt's clock
        return re.sub(r"\d\d:\d\d:\d\d(\.\d+)?", "", output)

    assert (forked.returncode, said(forked.output)) == (new.returncode, said(new.output))
    assert forked.output.strip()


@pytest.mark.e2e
def test_a_parse_cache_keeps_a_manifest_per_vars(tmp_path: Path) -> None:
    """With a parse cache, a command after one with other vars (or in a new target dir)
    starts from the manifest its own vars last parsed: no full reparse."""
    profiles = write_profiles(tmp_path / "profiles", local_target(1)).parent
    cache = tmp_path / "cache"
    dbt = Dbt(ROOT, profiles, target_path=tmp_path / "target", log_path=tmp_path / "logs",
              parse_cache=cache)
    reparsed = "Unable to do partial parsing"
    plain = ("parse", "--log-level", "debug")
    assert reparsed in dbt.run(*plain).output  # nothing saved yet
    assert reparsed in dbt.run(*plain, "--vars", "{test_scope: full}").output
    assert reparsed not in dbt.run(*plain).output
    assert reparsed not in dbt.run(*plain, "--vars", "{test_scope: full}").output
    assert len(list(cache.glob("*.msgpack"))) == 2
    elsewhere = Dbt(ROOT, profiles, target_path=tmp_path / "other", log_path=tmp_path / "logs",
                    parse_cache=cache)
    assert reparsed not in elsewhere.run(*plain).output
    # what dbt cannot read (a write cut short) is parsed anew, and the cache mended
    for kept in cache.glob("*.msgpack"):
        kept.write_bytes(b"not a manifest")
    result = dbt.run(*plain)
    assert result.success and "Failed to load parsed file from disk" in result.output
    assert reparsed not in dbt.run(*plain).output


def test_a_named_state_wins_over_the_local_one(tmp_path: Path) -> None:
    (tmp_path / ".warehouse" / "state").mkdir(parents=True)
    (tmp_path / ".warehouse" / "state" / "manifest.json").write_text("{}")
    build = ["build", "--target", "dev", "--defer"]
    assert local_state(build, {}, tmp_path) == tmp_path / ".warehouse" / "state"
    assert local_state(["ls", "-s", "state:modified"], {}, tmp_path) == (
        tmp_path / ".warehouse" / "state")
    for args, environ in (([*build, "--state", "prod"], {}), ([*build, "--defer-state=p"], {}),
                          (build, {"DBT_STATE": "prod"}), (build, {"DBT_DEFER_STATE": "p"}),
                          (["build", "--target", "dev"], {})):
        assert local_state(args, environ, tmp_path) is None, (args, environ)
    elsewhere = tmp_path / "elsewhere"
    assert local_state([*build, "--project-dir", ".."], {}, elsewhere) == (
        tmp_path / ".warehouse" / "state")
    with pytest.raises(DbtError, match="has none: run 'make build'"):
        local_state(build, {}, elsewhere)
    assert local_state(["run", "--vars", "{note: 'state: x'}"], {}, elsewhere) is None


@pytest.mark.e2e
def test_the_venvs_dbt_defers_without_the_activate_script(tmp_path: Path,
                                                          warehouse: Warehouse) -> None:
    """`.venv/bin/dbt build --target dev --defer` from the project root, no DBT_STATE set."""
    (tmp_path / "dbt_project.yml").write_text(
        "name: mini\nversion: '1.0'\nconfig-version: 2\nprofile: elt\n"
        "models: {mini: {+materialized: table}}\n")
    models = tmp_path / "models"
    models.mkdir()
    (models / "upstream.sql").write_text("select 1 as x")
    (models / "downstream.sql").write_text("select x + 1 as y from {{ ref('upstream') }}")
    write_profiles(tmp_path, warehouse.dbt_target(name="prod", schema="mini_prod"),
                   warehouse.dbt_target(name="dev", schema="mini_dev"))
    env = {name: value for name, value in os.environ.items()
           if name not in ("DBT_STATE", "DBT_DEFER_STATE", "DBT_PROJECT_DIR")}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"

    def dbt(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(Path(sys.executable).parent / "dbt"), *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)

    deferred = ("build", "--target", "dev", "--select", "downstream", "--defer")
    missing = dbt(*deferred)
    assert missing.returncode == 1 and missing.stdout == "", missing
    assert missing.stderr.count("\n") == 1 and "run 'make build'" in missing.stderr, missing
    production = dbt("build", "--target", "prod")
    assert production.returncode == 0, production.stdout[-3000:]
    (tmp_path / ".warehouse" / "state").mkdir(parents=True)
    shutil.copy(tmp_path / "target" / "manifest.json", tmp_path / ".warehouse" / "state")
    development = dbt(*deferred)
    assert development.returncode == 0, development.stdout
    with psycopg2.connect(warehouse.uri()) as conn, conn.cursor() as cur:
        cur.execute("select y from mini_dev.downstream")
        assert cur.fetchall() == [(2,)]
        cur.execute("select to_regclass('mini_dev.upstream')")  # read from mini_prod
        assert cur.fetchall() == [(None,)]
        cur.execute("drop schema mini_dev cascade; drop schema mini_prod cascade")
