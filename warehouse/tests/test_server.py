"""The embedded server's lifecycle and its failure modes: clear messages, data never corrupted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg2
import pytest

from warehouse.loader import load
from warehouse.server import Warehouse, WarehouseError

from .conftest import _unused_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    # a port of its own (the kernel's pick), not the default another worker's warehouse
    # (the benchmark's, say) may take between this one's initdb and its start
    monkeypatch.setenv("WAREHOUSE_PORT", str(_unused_port()))
    wh = Warehouse(tmp_path)
    yield wh
    wh.destroy()


def postmaster_pid(wh: Warehouse) -> int:
    return int((wh.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def crash(wh: Warehouse) -> None:
    """SIGKILL the server and every backend at once, as a power cut would.

    Killing only the postmaster is not a crash: a backend in the middle of a COPY notices its
    parent's death only at its next wait, so it can finish and commit the load.
    """
    server = psutil.Process(postmaster_pid(wh))
    for process in [server, *server.children(recursive=True)]:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def scalar(wh: Warehouse, sql: str) -> object:
    conn = psycopg2.connect(wh.uri())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
            return row[0] if row else None
    finally:
        conn.close()


def test_up_and_down_are_idempotent(fresh: Warehouse) -> None:
    assert fresh.up() is True
    assert fresh.up() is False
    assert fresh.is_running()
    assert scalar(fresh, "select current_setting('listen_addresses')") == "127.0.0.1"
    assert fresh.down() is True
    assert fresh.down() is False
    assert fresh.up() is True


def test_a_taken_port_is_a_clear_error(fresh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        monkeypatch.setenv("WAREHOUSE_PORT", str(port))
        with pytest.raises(WarehouseError, match=f"port {port} .* taken .* WAREHOUSE_PORT"):
            fresh.up()
    assert fresh.up() is True  # the port is free again: it starts


def test_a_data_directory_of_another_version_is_refused_untouched(fresh: Warehouse) -> None:
    fresh.up()
    fresh.down()
    version_file = fresh.pgdata / "PG_VERSION"
    version_file.write_text("12\n")
    before = sorted(p.name for p in fresh.pgdata.iterdir())
    with pytest.raises(WarehouseError, match="created by PostgreSQL 12.*warehouse destroy"):
        fresh.up()
    assert sorted(p.name for p in fresh.pgdata.iterdir()) == before


def test_a_stale_lock_after_a_crash_is_recovered(fresh: Warehouse) -> None:
    fresh.up()
    os.kill(postmaster_pid(fresh), signal.SIGKILL)
    time.sleep(1)
    assert fresh.up() is True
    assert scalar(fresh, "select 1") == 1


def test_a_stale_lock_naming_another_program_says_what_to_do(fresh: Warehouse) -> None:
    fresh.up()
    pid = postmaster_pid(fresh)
    fresh.down()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        lock = fresh.pgdata / "postmaster.pid"
        lock.write_text(f"{sleeper.pid}\n{fresh.pgdata}\n")
        with pytest.raises(WarehouseError, match="stale lock .* delete that file"):
            fresh.up()
        lock.unlink()
        assert fresh.up() is True
    finally:
        sleeper.kill()
    assert pid > 0


def test_killing_the_server_during_a_load_keeps_the_old_data(
    fresh: Warehouse, tmp_path: Path
) -> None:
    fresh.up()
    old = tmp_path / "old"
    old.mkdir()
    (old / "channel.csv").write_text("channelname\nGoogle\nNaver\n")
    load(fresh.uri(), old)
    big = tmp_path / "big"
    big.mkdir()
    with (big / "user_session_channel.csv").open("w") as out:
        out.write("userid,sessionid,channel\n")
        for i in range(3_000_000):
            out.write(f"{i},{i:032x},Google\n")
    (big / "channel.csv").write_text("channelname\nYoutube\n")
    loader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from warehouse.loader import load; "
            "load(sys.argv[1], Path(sys.argv[2]))",
            fresh.uri(),
            str(big),
        ],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not scalar(
        fresh,
        # the file goes into the load's staging table (a temporary table) first
        "select count(*) from pg_stat_progress_copy where tuples_processed > 0",
    ):
        assert loader.poll() is None, "the load finished before the server could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    crash(fresh)
    loader.wait(timeout=60)
    assert loader.returncode != 0
    time.sleep(1)
    fresh.up()
    assert scalar(fresh, "select count(*) from raw_data.user_session_channel") == 0
    assert (
        scalar(
            fresh, "select string_agg(channelname, ',' order by channelname) from raw_data.channel"
        )
        == "Google,Naver"
    )
