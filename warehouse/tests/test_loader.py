"""The COPY loader: replaces raw_data atomically and names file, line and column on errors."""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest

from warehouse.loader import LoadError, TableLoad, load, load_with_changes, plan
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


def test_a_replace_is_a_diff_by_content(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    """Rows the table holds keep their load; copies are counted (two in the file, two kept);
    a NULL differs from every string; only the difference is added or removed, and logged."""
    empty = write(tmp_path / "empty", {"user_session_channel.csv": "userid,sessionid,channel\n"})
    load(warehouse.uri(), empty, tables=["user_session_channel"])
    rows = "userid,sessionid,channel\n1,s1,Google\n1,s1,Google\n2,s2,\n3,s3,Naver\n"
    first = write(tmp_path / "a", {"user_session_channel.csv": rows})
    load_id, _ = load_with_changes(warehouse.uri(), first, tables=["user_session_channel"])
    same, changes = load_with_changes(warehouse.uri(), first, tables=["user_session_channel"])
    assert same == load_id + 1 and changes == {"user_session_channel": TableLoad(4, 0, 0)}
    assert dbt_project.query("select distinct _load_id from raw_data.user_session_channel") == [
        (load_id,)]

    # one copy of s1 gone, s2's NULL channel now the text 'null', s4 new
    changed = write(tmp_path / "b", {"user_session_channel.csv": (
        "userid,sessionid,channel\n1,s1,Google\n2,s2,null\n3,s3,Naver\n4,s4,Organic\n")})
    last, changes = load_with_changes(warehouse.uri(), changed, tables=["user_session_channel"])
    assert changes == {"user_session_channel": TableLoad(4, 2, 2)}
    assert sorted(dbt_project.query(
        "select sessionid, channel, _load_id = %s from raw_data.user_session_channel",
        (last,))) == [("s1", "Google", False), ("s2", "null", True), ("s3", "Naver", False),
                      ("s4", "Organic", True)]
    assert dbt_project.query(
        "select load_mode, rows_added, rows_removed from raw_data._loads "
        "where load_id = %s and raw_table = 'user_session_channel'", (last,)) == [
        ("replace", 2, 2)]


def test_a_files_load_columns_are_ignored(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    """An export that kept `_loaded_at` and `_load_id` (`\\copy ... to csv header`): the
    loader sets both, whatever the file says (a date in the past, or the future)."""
    load(warehouse.uri(), write(tmp_path / "empty", {"channel.csv": "channelname\n"}),
         tables=["channel"])
    data = write(tmp_path / "d", {"channel.csv": (
        "channelname,_loaded_at,_load_id\nGoogle,2001-01-01 00:00:00,7\n"
        "Naver,2999-01-01 00:00:00,\n")})
    load_id, _ = load_with_changes(warehouse.uri(), data, tables=["channel"])
    assert dbt_project.query(
        "select count(*), min(_loaded_at) > timezone('utc', now()) - interval '1 hour', "
        "max(_loaded_at) <= timezone('utc', now()), min(_load_id), max(_load_id) "
        "from raw_data.channel") == [(2, True, True, load_id, load_id)]


def test_only_the_tables_named_are_loaded(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    data = write(tmp_path / "d", {"user_session_channel.csv": SESSIONS,
                                  "channel.csv": "channelname\nGoogle\n"})
    load(warehouse.uri(), data)
    only = write(tmp_path / "e", {"channel.csv": "channelname\nNaver\n"})
    assert load(warehouse.uri(), only, tables=["channel"]) == {"channel": 1}
    assert count(dbt_project, "user_session_channel") == 2
    with pytest.raises(LoadError, match="no raw_data table named orders"):
        load(warehouse.uri(), only, tables=["orders"])


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
def test_a_file_of_over_a_hundred_megabytes_is_streamed(
    warehouse: Warehouse, dbt_project: DbtProject, tmp_path: Path
) -> None:
    # About 115 MB: almost twice the memory the loader may grow by (64 MB), so a loader that
    # held the file, or its rows as Python objects, would fail. (It was 320 MB: 111 s of CI
    # for the same proof.)
    rows = 2_500_000
    data = tmp_path / "big"
    data.mkdir()
    _write_large_csv(data / "user_session_channel.csv", rows)
    size = (data / "user_session_channel.csv").stat().st_size
    assert size > 100 * 2**20

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
