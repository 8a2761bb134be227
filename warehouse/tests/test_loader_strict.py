"""Loads refuse what they cannot read: every look-alike of a table's file is an error naming it,
raw_data is left as it was, and the command line says it in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.cli import main
from warehouse.generator import generate
from warehouse.loader import LoadError, load, raw_row_count
from warehouse.server import Warehouse

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def good(warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("good")
    generate(data, scale=0.01, seed=5)
    load(warehouse.loader_uri(), data)
    return data


def copy_with(good: Path, target: Path, name: str, make: str) -> Path:
    """The good data set, with user_event.csv replaced by `make` under `name`."""
    target.mkdir()
    for path in good.glob("*.csv"):
        if path.name != "user_event.csv":
            (target / path.name).write_bytes(path.read_bytes())
    entry = target / name
    if make == "file":
        entry.write_bytes((good / "user_event.csv").read_bytes())
    elif make == "dangling":
        os.symlink(target / "nowhere.csv.missing", entry)
    elif make == "directory":
        entry.mkdir()
    return target


BAD = [
    ("USER_EVENT.CSV", "file", "looks like the file of raw_data.user_event"),
    ("User_Event.csv", "file", "looks like the file of raw_data.user_event"),
    ("user_event.csv.gz", "file", "looks like the file of raw_data.user_event"),
    ("user_event.CSV", "file", "looks like the file of raw_data.user_event"),
    ("user_event.csv", "dangling", "a broken symlink"),
    ("user_event.csv", "directory", "not a regular file"),
    ("user_events.csv", "file", "no raw_data table of that name"),
]


@pytest.mark.parametrize(("name", "make", "message"), BAD, ids=[f"{n}-{m}" for n, m, _ in BAD])
def test_a_look_alike_file_is_an_error_naming_it_and_raw_data_stays(
    warehouse: Warehouse, good: Path, tmp_path: Path, name: str, make: str, message: str
) -> None:
    before = raw_row_count(warehouse.uri())
    data = copy_with(good, tmp_path / "d", name, make)
    with pytest.raises(LoadError, match=message) as caught:
        load(warehouse.loader_uri(), data)
    assert name in str(caught.value)
    assert raw_row_count(warehouse.uri()) == before


def test_the_command_refuses_a_missing_file_unless_told(
    warehouse: Warehouse, good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_ROOT", str(warehouse.root))
    before = raw_row_count(warehouse.uri())
    data = copy_with(good, tmp_path / "d", "unused", "none")
    result = CliRunner().invoke(main, ["load", str(data)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        f"Error: {data / 'user_event.csv'}: missing, and a replacing load would empty "
        "raw_data.user_event (say --empty-missing to empty it)"]
    assert raw_row_count(warehouse.uri()) == before
    assert CliRunner().invoke(main, ["load", "--append", "--wait", "5", str(tmp_path / "d")]
                              ).exit_code == 0  # an append needs no file for every table
    result = CliRunner().invoke(main, ["load", "--empty-missing", str(data)])
    assert result.exit_code == 0, result.output
    load(warehouse.loader_uri(), good)


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_any_line_ending_loads(
    warehouse: Warehouse, good: Path, tmp_path: Path, newline: bytes
) -> None:
    data = copy_with(good, tmp_path / "d", "user_event.csv", "file")
    for path in data.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\n", newline))
    counts = load(warehouse.loader_uri(), data)
    assert counts == load(warehouse.loader_uri(), good)
