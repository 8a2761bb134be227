"""The COPY loader: replaces raw_data atomically and names file, line and column on errors."""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest

from warehouse.loader import LoadError, load, plan
from warehouse.server import Warehouse

from .conftest import DbtProject

SESSIONS = "userid,sessionid,channel\n1,s1,Google\n2,s2,Naver\n"


def write(directory: Path, files: dict[str, str | bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return directory


def count(project: DbtProject, table: str) -> int:
    return int(project.query(f"select count(*) from raw_data.{table}")[0][0])


def test_load_replaces_every_table_and_empties_tables_without_a_file(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    first = write(
        tmp_path / "a",
        {"user_session_channel.csv": SESSIONS, "channel.csv": "channelname\nGoogle\n"},
    )
    assert load(warehouse.uri(), first)["user_session_channel"] == 2
    second = write(tmp_path / "b", {"channel.csv": "channelname\nGoogle\nNaver\nOrganic\n"})
    counts = load(warehouse.uri(), second)
    assert counts["channel"] == 3
    assert count(dbt_project, "channel") == 3
    assert count(dbt_project, "user_session_channel") == 0


def test_append_adds_rows(warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path) -> None:
    data = write(tmp_path / "d", {"user_session_channel.csv": SESSIONS})
    load(warehouse.uri(), data)
    load(warehouse.uri(), data, append=True)
    assert count(dbt_project, "user_session_channel") == 4


def test_header_columns_may_come_in_any_order(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    data = write(
        tmp_path / "d", {"user_session_channel.csv": "channel,userid,sessionid\nGoogle,7,s7\n"}
    )
    load(warehouse.uri(), data)
    assert dbt_project.query("select userid, channel from raw_data.user_session_channel") == [
        (7, "Google")
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "userid,sessionid,channel\n1,s1,Google\nx,s2,Naver\n",
            r"user_session_channel.csv: line 3, column userid: "
            r"invalid input syntax for type integer",
        ),
        ("userid,sessionid\n1,s1\n", r"line 1: missing column\(s\) channel"),
        ("userid,sessionid,channel,extra\n1,s1,Google,x\n", r"line 1: unknown column\(s\) extra"),
        ("userid,sessionid,channel\n1,s1\n", r"line 2: missing data for column \"channel\""),
        ("userid,sessionid,channel\n1,s1,Google,x\n", r"line 2: extra data after last expected"),
    ],
)
def test_bad_file_is_a_clear_error_and_leaves_raw_data_untouched(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path, content: str, expected: str
) -> None:
    good = write(
        tmp_path / "good",
        {"user_session_channel.csv": SESSIONS, "channel.csv": "channelname\nGoogle\n"},
    )
    load(warehouse.uri(), good)
    bad = write(
        tmp_path / "bad",
        {"user_session_channel.csv": content, "channel.csv": "channelname\nA\nB\nC\n"},
    )
    with pytest.raises(LoadError, match=expected):
        load(warehouse.uri(), bad)
    assert count(dbt_project, "user_session_channel") == 2
    assert count(dbt_project, "channel") == 1


def test_unparseable_timestamp_names_line_and_column(warehouse: Warehouse, tmp_path: Path) -> None:
    data = write(
        tmp_path / "d",
        {"session_timestamp.csv": "sessionid,ts\ns1,2019-05-01 10:00:00\ns2,half past ten\n"},
    )
    with pytest.raises(LoadError, match=r"session_timestamp.csv: line 3, column ts"):
        load(warehouse.uri(), data)


def test_byte_order_mark_and_quoted_newline_load(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    content = b'\xef\xbb\xbfuserid,sessionid,channel\n1,s1,"Goo\ngle"\n'
    load(warehouse.uri(), write(tmp_path / "d", {"user_session_channel.csv": content}))
    assert dbt_project.query("select channel from raw_data.user_session_channel") == [("Goo\ngle",)]


def test_non_utf8_file_is_a_clear_error(warehouse: Warehouse, tmp_path: Path) -> None:
    content = "userid,sessionid,channel\n1,s1,Caf\xe9\n".encode("latin-1")
    with pytest.raises(LoadError, match=r"line 2.*invalid byte sequence for encoding"):
        load(warehouse.uri(), write(tmp_path / "d", {"user_session_channel.csv": content}))


def test_empty_file_empties_the_table(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    load(warehouse.uri(), write(tmp_path / "a", {"channel.csv": "channelname\nGoogle\n"}))
    load(warehouse.uri(), write(tmp_path / "b", {"channel.csv": ""}))
    assert count(dbt_project, "channel") == 0


def test_unknown_table_and_missing_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no raw_data table of that name"):
        plan(write(tmp_path / "d", {"customers.csv": "id\n1\n"}))
    with pytest.raises(LoadError, match="no such directory"):
        plan(tmp_path / "missing")


def _write_large_csv(path: Path, rows: int) -> None:
    """user_session_channel rows, written in chunks so the test itself stays small in memory."""
    chunk = 100_000
    with path.open("w", encoding="utf-8") as handle:
        handle.write("userid,sessionid,channel\n")
        for start in range(0, rows, chunk):
            handle.write("".join(f"{n % 100_000},{n:032x},Google\n"
                                 for n in range(start, min(rows, start + chunk))))


@pytest.mark.e2e
@pytest.mark.slow
def test_a_file_of_several_hundred_megabytes_is_streamed(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    rows = 7_000_000  # about 320 MB
    data = tmp_path / "big"
    data.mkdir()
    _write_large_csv(data / "user_session_channel.csv", rows)
    size = (data / "user_session_channel.csv").stat().st_size
    assert size > 300 * 2**20

    process, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], process.memory_info().rss)

    baseline = process.memory_info().rss
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        counts = load(warehouse.uri(), data)
    finally:
        done.set()
        sampler.join()
    assert counts["user_session_channel"] == rows
    assert count(dbt_project, "user_session_channel") == rows
    grew = peak[0] - baseline
    assert grew < 64 * 2**20, f"the loader's memory grew by {grew / 2**20:.0f} MB for a " \
                              f"{size / 2**20:.0f} MB file"
    load(warehouse.uri(), write(tmp_path / "empty", {}))  # leave raw_data small for others
