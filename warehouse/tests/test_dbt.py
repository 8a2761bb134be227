"""warehouse.dbt: the one profile template and the one way dbt is run from Python."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from warehouse.dbt import (
    Dbt,
    DbtError,
    first_error,
    local_target,
    profiles_yaml,
    redshift_target,
    write_profiles,
)

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
