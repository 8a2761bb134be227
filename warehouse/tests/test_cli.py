"""The `warehouse` command's user-facing behaviour (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.cli import PROFILE, main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WAREHOUSE_ROOT", raising=False)
    monkeypatch.setenv("WAREHOUSE_PORT", "55555")
    return tmp_path


def test_uri_is_a_loopback_libpq_uri(project: Path) -> None:
    result = CliRunner().invoke(main, ["uri"])
    assert result.exit_code == 0
    assert result.output.strip() == "postgresql://postgres@127.0.0.1:55555/warehouse"


def test_profile_is_written_for_the_local_target_and_hand_edits_are_kept(project: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["profile"]).exit_code == 0
    text = (project / "profiles.yml").read_text()
    assert "target: local" in text and "port: 55555" in text
    (project / "profiles.yml").write_text("my: own\n")
    result = runner.invoke(main, ["profile"])
    assert "edited by hand" in result.output
    assert (project / "profiles.yml").read_text() == "my: own\n"
    assert PROFILE.startswith("# Written by")


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


def test_generate_rejects_a_non_positive_scale(project: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "--out", "x", "--scale", "0"])
    assert result.exit_code == 2
    assert "must be positive" in result.output


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
