"""The local warehouse's credentials, tried as an attacker on the same machine would.

Every connection needs the password (SCRAM), the passwords and the profile are readable by
their owner only, the server runs as a user and group of its own, and a data directory from
the days when every connection was trusted is locked down by `warehouse up`, stopped or running.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from click.testing import CliRunner

from warehouse.cli import main
from warehouse.server import LOADER, SUPERUSER, Warehouse, WarehouseError

from .conftest import _unused_port

pytestmark = pytest.mark.e2e

TRUST_HBA = "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    # a port of its own (the kernel's pick), not the default another worker's warehouse
    # (the benchmark's, say) may take between this one's initdb and its start
    monkeypatch.setenv("WAREHOUSE_PORT", str(_unused_port()))
    wh = Warehouse(tmp_path)
    yield wh
    wh.destroy()


def refusal(uri: str) -> str:
    """'connected', or why the server refused the connection."""
    try:
        psycopg2.connect(uri, connect_timeout=10).close()
    except psycopg2.OperationalError as exc:
        return str(exc).strip().splitlines()[-1]
    return "connected"


@pytest.mark.parametrize("user", [SUPERUSER, LOADER, "analytics_users", "nobody"])
@pytest.mark.parametrize("password", ["", "wrong", "postgres"])
def test_a_connection_without_the_password_is_refused(
    warehouse: Warehouse, user: str, password: str
) -> None:
    for host in ("127.0.0.1", "localhost"):
        uri = f"postgresql://{user}:{password}@{host}:{warehouse.port}/warehouse"
        outcome = refusal(uri)
        assert outcome != "connected", uri
        assert "password" in outcome, outcome


def test_every_hba_rule_asks_for_a_scram_password(warehouse: Warehouse) -> None:
    conn = psycopg2.connect(warehouse.uri())
    try:
        with conn, conn.cursor() as cur:
            cur.execute("select type, auth_method, error from pg_hba_file_rules")
            rules = cur.fetchall()
            cur.execute("select rolname from pg_authid where rolcanlogin and "
                        "rolpassword is not null and rolpassword not like 'SCRAM-SHA-256$%'")
            weak = cur.fetchall()
    finally:
        conn.close()
    assert rules and {auth for _, auth, _ in rules} == {"scram-sha-256"}
    assert all(error is None for _, _, error in rules)
    assert weak == []


def test_the_uri_connects_as_it_is_and_psql_just_works(warehouse: Warehouse) -> None:
    assert refusal(warehouse.uri()) == "connected"
    assert refusal(warehouse.loader_uri()) == "connected"
    out = subprocess.run(warehouse.psql_command("-Atc", "select current_user"),
                         capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)
    assert out.stdout.strip() == SUPERUSER


def test_passwords_are_private_files(warehouse: Warehouse) -> None:
    assert warehouse.passwords.stat().st_mode & 0o777 == 0o700
    for user in (SUPERUSER, LOADER):
        path = warehouse.passwords / user
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.stat().st_uid == os.geteuid()
        assert len(warehouse.password(user)) >= 32
    assert warehouse.password(SUPERUSER) != warehouse.password(LOADER)


def test_the_loader_is_no_superuser_and_owns_raw_data(warehouse: Warehouse) -> None:
    conn = psycopg2.connect(warehouse.loader_uri())
    try:
        with conn, conn.cursor() as cur:
            cur.execute("select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls from pg_roles "
                        "where rolname = current_user")
            assert cur.fetchone() == (False, False, False, False)
            cur.execute("select nspowner::regrole::text from pg_namespace "
                        "where nspname = 'raw_data'")
            assert cur.fetchone() == (LOADER,)
            cur.execute("select pg_has_role(current_user, 'pg_execute_server_program', 'usage')")
            assert cur.fetchone() == (False,)
    finally:
        conn.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_the_server_runs_as_its_own_user_and_group(warehouse: Warehouse) -> None:
    pid = int((warehouse.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    status = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    uids = {int(x) for x in status["Uid"].split()}
    gids = {int(x) for x in status["Gid"].split()}
    groups = {int(x) for x in status["Groups"].split()}
    entry = pwd.getpwuid(next(iter(uids)))
    assert len(uids) == 1 and 0 not in uids and entry.pw_name == "embedded_postgres"
    assert gids == {entry.pw_gid} and 0 not in gids
    assert groups <= {entry.pw_gid}


def make_trusting(wh: Warehouse) -> None:
    """Turn a warehouse into what older versions left: trust for all, no password files."""
    (wh.pgdata / "pg_hba.conf").write_text(TRUST_HBA)
    for path in wh.passwords.iterdir():
        path.unlink()
    wh.passwords.rmdir()


def test_up_migrates_a_stopped_trusting_data_directory(fresh: Warehouse) -> None:
    fresh.up()
    fresh.down()
    old_uri = f"postgresql://{SUPERUSER}@127.0.0.1:{fresh.port}/warehouse"
    make_trusting(fresh)
    assert fresh.up() is True
    assert "password" in refusal(old_uri)
    assert refusal(fresh.uri()) == "connected"
    assert refusal(fresh.loader_uri()) == "connected"


def test_up_migrates_a_running_trusting_server(fresh: Warehouse) -> None:
    fresh.up()
    conn = psycopg2.connect(fresh.uri())
    make_trusting(fresh)
    conn.autocommit = True
    with conn.cursor() as cur:  # as an older version ran it: no passwords, trust for all
        cur.execute(f"alter role {SUPERUSER} password null; alter role {LOADER} password null")
        cur.execute("select pg_reload_conf()")
    conn.close()
    old_uri = f"postgresql://{SUPERUSER}@127.0.0.1:{fresh.port}/warehouse"
    assert refusal(old_uri) == "connected"
    assert fresh.up() is False  # already running: migrated in place
    assert "password" in refusal(old_uri)
    assert refusal(fresh.uri()) == "connected"
    assert refusal(fresh.loader_uri()) == "connected"


def test_a_deleted_password_file_while_running_says_what_to_do(fresh: Warehouse) -> None:
    fresh.up()
    (fresh.passwords / SUPERUSER).unlink()
    with pytest.raises(WarehouseError, match="gone while the warehouse runs.*warehouse down"):
        fresh.up()
    assert fresh.down() is True  # down needs no password
    assert fresh.up() is True
    assert refusal(fresh.uri()) == "connected"


def test_bi_login_is_one_command_that_reads_the_marts_only(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_ROOT", str(warehouse.root))
    result = CliRunner().invoke(main, ["bi-login", "metabase"])
    assert result.exit_code == 0, result.output
    uri = result.output.strip()
    assert uri.startswith("postgresql://metabase:") and "@127.0.0.1:" in uri
    conn = psycopg2.connect(uri)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("select rolsuper from pg_roles where rolname = current_user")
            assert cur.fetchone() == (False,)
            cur.execute("select pg_has_role('metabase', 'analytics_users', 'member')")
            assert cur.fetchone() == (True,)
    finally:
        conn.close()
    for bad in ("metabase; drop role postgres", "Metabase", "pg_monitor", "postgres", LOADER):
        result = CliRunner().invoke(main, ["bi-login", bad])
        assert result.exit_code == 1, bad
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert refusal(warehouse.uri()) == "connected"  # postgres is still there


@pytest.mark.parametrize("port", ["abc", "-1", "70000", "12 34"])
def test_a_bad_warehouse_port_is_one_line_for_every_command(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, port: str
) -> None:
    monkeypatch.setenv("WAREHOUSE_ROOT", str(warehouse.root))
    monkeypatch.setenv("WAREHOUSE_PORT", port)
    for args in (["uri"], ["status"], ["up"], ["psql", "-c", "select 1"],
                 ["load", str(warehouse.root)], ["bi-login", "x"], ["ensure-data"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code != 0, (args, result.output)
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
        assert "WAREHOUSE_PORT" in result.output and "not a port number" in result.output


def test_a_corrupt_port_file_is_one_line_and_down_still_stops_the_server(
    fresh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh.up()
    monkeypatch.setenv("WAREHOUSE_ROOT", str(fresh.root))
    monkeypatch.delenv("WAREHOUSE_PORT")  # the port comes from the port file alone
    port = fresh.port_file.read_text()
    fresh.port_file.write_bytes(b"\xff\xfegarbage\n")
    for args in (["uri"], ["status"], ["load", str(fresh.root)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code != 0 and "Traceback" not in result.output, (args, result.output)
        assert str(fresh.port_file) in result.output
    fresh.port_file.unlink()
    (fresh.passwords / SUPERUSER).unlink()  # and the password gone too
    result = CliRunner().invoke(main, ["down"])
    assert result.exit_code == 0 and "stopped" in result.output, result.output
    assert not fresh.is_running()
    fresh.port_file.write_text(port)


def test_a_wrong_password_file_is_one_line(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WAREHOUSE_ROOT", str(warehouse.root))
    (tmp_path / "channel.csv").write_text("channelname\nGoogle\n")  # a load that would work
    path = warehouse.passwords / LOADER
    secret = path.read_text()
    path.write_text("not-the-password\n")
    try:
        result = CliRunner().invoke(main, ["load", "--append", str(tmp_path)])
    finally:
        path.write_text(secret)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "password authentication failed" in result.output


def test_a_deleted_warehouse_dir_is_one_line_and_down_still_stops_its_server(
    fresh: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fresh.up()
    monkeypatch.setenv("WAREHOUSE_ROOT", str(fresh.root))
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    fresh.home.rename(moved)  # as `rm -rf .warehouse` would leave it, but recoverable
    try:
        for args in (["status"], ["up"], ["uri"], ["load", str(tmp_path)], ["psql"]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code != 0 and "Traceback" not in result.output, (args, result)
            assert len(result.output.strip().splitlines()) == 1, (args, result.output)
        assert "still runs" in CliRunner().invoke(main, ["status"]).output
        result = CliRunner().invoke(main, ["down"])
        assert result.exit_code == 0 and "stopped" in result.output, result.output
        assert not fresh.orphaned_servers()
    finally:
        for server in fresh.orphaned_servers():
            server.kill()
        moved.rename(fresh.home)


def test_a_read_only_warehouse_dir_is_one_line_and_down_stops_the_server(
    fresh: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fresh.up()
    monkeypatch.setenv("WAREHOUSE_ROOT", str(fresh.root))
    modes = {path: path.stat().st_mode for path in [fresh.home, *fresh.home.rglob("*")]}
    for path in modes:
        path.chmod(modes[path] & ~0o222)
    try:
        for args in (["status"], ["uri"], ["load", "--append", str(tmp_path)], ["down"]):
            result = CliRunner().invoke(main, args)
            assert "Traceback" not in result.output, (args, result.output)
            assert len(result.output.strip().splitlines()) <= 1, (args, result.output)
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    CliRunner().invoke(main, ["down"])
    assert not fresh.is_running() and not fresh.orphaned_servers()
