"""The `warehouse` command's user-facing behaviour (no server needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from warehouse.cli import main
from warehouse.profile import HEADER as PROFILE_HEADER


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WAREHOUSE_ROOT", raising=False)
    monkeypatch.setenv("WAREHOUSE_PORT", "55555")
    passwords = tmp_path / ".warehouse" / "passwords"
    passwords.mkdir(parents=True)
    (passwords / "postgres").write_text("s3cret-_x\n")
    return tmp_path


def test_uri_is_a_loopback_libpq_uri_with_the_password(project: Path) -> None:
    result = CliRunner().invoke(main, ["uri"])
    assert result.exit_code == 0
    assert result.output.strip() == "postgresql://postgres:s3cret-_x@127.0.0.1:55555/warehouse"


def test_uri_without_a_password_file_says_how_to_get_one(project: Path) -> None:
    (project / ".warehouse" / "passwords" / "postgres").unlink()
    result = CliRunner().invoke(main, ["uri"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {project / '.warehouse' / 'passwords' / 'postgres'}: no password for postgres "
        "(run 'warehouse up')"]


def test_profile_is_written_for_the_local_target_and_hand_edits_are_kept(project: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["profile"]).exit_code == 0
    text = (project / "profiles.yml").read_text()
    assert "target: local" in text and "port: 55555" in text
    assert 'password: s3cret-_x' in text
    assert (project / "profiles.yml").stat().st_mode & 0o777 == 0o600
    (project / "profiles.yml").write_text("my: own\n")
    result = runner.invoke(main, ["profile"])
    assert "edited by hand" in result.output
    assert (project / "profiles.yml").read_text() == "my: own\n"
    assert PROFILE_HEADER.startswith("# Written by")


def test_commands_that_need_the_server_say_so_without_a_traceback(project: Path) -> None:
    for args in (["load", str(project)], ["psql"], ["ensure-data"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, args
        assert "not running" in result.output
        assert "Traceback" not in result.output


def test_status_without_a_warehouse(project: Path) -> None:
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 3
    assert "no warehouse yet" in result.output


def test_generate_rejects_a_scale_that_is_not_a_positive_number(project: Path) -> None:
    for scale in ("0", "-1", "nan", "inf", "-inf", "half"):
        one_line_error(CliRunner().invoke(main, ["generate", "--out", "x", "--scale", scale]),
                       "--scale", repr(scale))
    assert not (project / "x").exists()


def test_generate_cuts_a_slice_by_date(project: Path) -> None:
    runner = CliRunner()
    args = ["generate", "--out", "day", "--scale", "0.05", "--start", "2019-12-01",
            "--end", "2019-12-01"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    stamps = (project / "day" / "session_timestamp.csv").read_text().splitlines()[1:]
    assert stamps and all(",2019-12-01 " in line for line in stamps)
    for bad, message in ((["--dirty", "--end", "2019-11-01"], "leave out --start and --end"),
                         (["--start", "2019-11-02", "--end", "2019-11-01"], "before --start"),
                         (["--start", "yesterday"], "%Y-%m-%d")):
        result = runner.invoke(main, ["generate", "--out", "x", *bad])
        assert result.exit_code == 2 and message in result.output, result.output


def test_every_command_turns_a_users_mistake_into_one_line() -> None:
    from warehouse.cli import user_errors

    wrapped = user_errors(lambda: None).__code__
    for name, command in main.commands.items():
        assert command.callback is not None and command.callback.__code__ is wrapped, name


def one_line_error(result: Any, *expected: str) -> None:
    """Exit 1 (2: a usage error) with one `Error: ...` line naming each expected text."""
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), result.exception
    [error] = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    for text in expected:
        assert text in error, result.output


def test_careless_users_get_one_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    (project / "a_file").write_text("")
    one_line_error(runner.invoke(main, ["generate", "--out", "a_file", "--scale", "0.01"]),
                   "a_file")
    (project / "profiles.yml").mkdir()
    one_line_error(runner.invoke(main, ["profile"]), "profiles.yml")
    for scale in ("-1", "nan"):
        one_line_error(runner.invoke(main, ["bench", "--scale", scale]), "not a positive number")
    for command in ("slim-ci", "data-diff"):
        one_line_error(runner.invoke(main, [command, "--state", "x", "--schema", "pr_1"]),
                       "not running")
    (project / "profiles.yml").rmdir()
    monkeypatch.setenv("WAREHOUSE_PORT", "five")
    for args in (["uri"], ["profile"]):
        one_line_error(runner.invoke(main, args), "WAREHOUSE_PORT", "not a port number")


@pytest.mark.e2e
def test_dbt_failing_in_redshift_check_and_bench_is_one_line(project: Path) -> None:
    (project / "dbt_project.yml").write_text("name: broken\nprofile: elt\nmodels: [\n")
    runner = CliRunner()
    # redshift-check needs the local build's catalog, so without a running warehouse it stops
    # first on that, in one line too
    result = runner.invoke(main, ["redshift-check"])
    one_line_error(result)
    result = runner.invoke(main, ["bench", "--scale", "0.01", "--out", "r.md"])
    one_line_error(result, "dbt parse failed")
    assert not (project / "r.md").exists()
