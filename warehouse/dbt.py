"""One way to run dbt from Python: write a profiles.yml from one template, run the dbt CLI.

Every part of the `warehouse` command (and the tests) that needs dbt goes through here:

- `Target` is one output of the profile `elt`; `local_target` and `redshift_target` make the
  two kinds the project uses, with user, password and schema as parameters;
  `profiles_yaml` / `write_profiles` render any set of them through one template.
- `Dbt` runs `dbt <args>` on the project in a child process (`python -m warehouse.dbt`,
  which is dbt's own CLI). A child process, not dbt's in-process `dbtRunner`: dbt keeps
  global state (flags, adapters, logging) between invocations in one process, a child can be
  killed mid-build (the fault tests do), its memory measured on its own (the benchmark does),
  and given its own environment (a tuning variant's `PGOPTIONS`). With FORK_SERVER_ENV set
  (the tests set it) a captured command's child is forked from a process that has imported
  dbt already, not started anew: the same child, less its 1.5 to 2 s of imports. The
  scheduled build's child (`warehouse.scheduled`) uses `dbtRunner` inside itself, to parse
  once for its run-operation and its build.
- A failed dbt command is a `DbtError` whose message is one line: the first error dbt
  reported, for the command line to print without a traceback.

`warehouse redshift-check` runs dbt the same way; the child then installs a recording
stand-in for the Redshift driver before dbt starts (see `warehouse.redshift`), named by the
environment variable in `STANDIN_ENV`.

The venv's `dbt` command is `main` below too (pyproject.toml's `[project.scripts]`), so that
`.venv/bin/dbt build --target dev --defer` finds the local production manifest that
`make build` keeps in `.warehouse/state` without the activate script's `DBT_STATE`
(`local_state`).
"""

from __future__ import annotations

import hashlib
import importlib
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROFILE_NAME = "elt"  # `profile:` in dbt_project.yml
STANDIN_ENV = "WAREHOUSE_REDSHIFT_STANDIN"
# Set (to anything), `Dbt.run` forks its captured dbt commands from a process that imported
# dbt once (`Dbt._forked`) instead of starting a new Python for each: the tests set it, as
# they run some 250 dbt commands.
FORK_SERVER_ENV = "WAREHOUSE_DBT_FORK_SERVER"
# Where `make build` keeps the local warehouse's manifest, under the project directory: what
# `--defer` and `state:` selectors compare with when no state is named.
LOCAL_STATE = Path(".warehouse") / "state"


@dataclass(frozen=True)
class Target:
    """One dbt target (an output of the profile): where dbt connects and which schema it uses."""

    name: str
    type: str
    host: str
    port: int
    user: str
    password: str
    dbname: str
    schema: str
    threads: int = 4
    options: Mapping[str, Any] = field(default_factory=dict)  # adapter-specific settings

    def output(self) -> dict[str, Any]:
        """The target as profiles.yml holds it."""
        return {
            "type": self.type, "host": self.host, "port": self.port, "user": self.user,
            "password": self.password, "dbname": self.dbname, "schema": self.schema,
            "threads": self.threads, **self.options,
        }


def local_target(port: int, *, name: str = "local", schema: str = "analytics",
                 user: str = "postgres", password: str = "", host: str = "127.0.0.1",
                 threads: int = 4) -> Target:
    """A target on a local PostgreSQL (the embedded warehouse unless told otherwise)."""
    return Target(name=name, type="postgres", host=host, port=port, user=user,
                  password=password, dbname="warehouse", schema=schema, threads=threads)


def redshift_target(name: str, *, schema: str = "analytics", user: str = "dbt",
                    password: str = "never-used", host: str = "redshift.invalid",
                    dbname: str = "dev", threads: int = 4) -> Target:
    """A Redshift target; by default one whose host does not exist (for checks without a
    cluster), with the settings of profiles.yml.example's Redshift targets."""
    return Target(name=name, type="redshift", host=host, port=5439, user=user,
                  password=password, dbname=dbname, schema=schema, threads=threads,
                  options={"sslmode": "require", "ra3_node": True, "connect_timeout": 1,
                           "retries": 0})


def profiles_yaml(*targets: Target, default: str | None = None, header: str = "") -> str:
    """profiles.yml with the profile `elt` and these targets (the first is the default)."""
    if not targets:
        raise ValueError("a profile needs at least one target")
    profile = {PROFILE_NAME: {
        "target": default or targets[0].name,
        "outputs": {target.name: target.output() for target in targets},
    }}
    return header + str(yaml.safe_dump(profile, sort_keys=False, default_flow_style=False))


def write_profiles(directory: Path, *targets: Target, default: str | None = None) -> Path:
    """Write directory/profiles.yml with these targets; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "profiles.yml"
    path.write_text(profiles_yaml(*targets, default=default), encoding="utf-8")
    return path


class DbtError(Exception):
    """A dbt command failed; the message is one line saying which and why."""


@dataclass(frozen=True)
class DbtResult:
    """What one dbt command did: its exit code and (when captured) its output."""

    args: tuple[str, ...]
    returncode: int
    output: str

    @property
    def success(self) -> bool:
        return self.returncode == 0

    def error_line(self) -> str:
        """One line for the user: the command and the first error dbt reported."""
        command = f"dbt {subcommand(self.args)}"
        reason = first_error(self.output)
        return f"{command} failed (exit {self.returncode})" + (f": {reason}" if reason else "")


_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_TIMESTAMP = re.compile(r"^\s*\d\d:\d\d:\d\d(\.\d+)?\s+")
_ERROR_HEAD = re.compile(r"(Error|Failure)\b")


def first_error(output: str) -> str:
    """The first error in dbt's output as one line, heading and detail ('' when none)."""
    lines = [_TIMESTAMP.sub("", line).strip() for line in _COLOUR.sub("", output).splitlines()]
    lines = [line for line in lines if line]
    start = 0
    # After dbt's summary line; "Encountered an error while running operation: <heading>"
    # carries the heading itself.
    for marker, skip in (("Completed with", 1), ("Encountered an error", 0)):
        start = max(start, next((n + skip for n, line in enumerate(lines) if marker in line), 0))
    for index in range(start, len(lines)):
        if _ERROR_HEAD.search(lines[index]):
            heading, detail = lines[index], lines[index + 1:index + 2]
            return ": ".join([heading.rstrip(":"), *detail])[:500]
    return ""


def subcommand(args: Sequence[str]) -> str:
    """The dbt subcommand in an argument list (`build` in `--quiet build --select x`)."""
    return next((arg for arg in args if not arg.startswith("-")), "")


@dataclass
class Dbt:
    """The project's dbt CLI with one profiles directory (and its own target and log dirs)."""

    project_dir: Path
    profiles_dir: Path | None  # None: dbt's own search (the project directory, ~/.dbt)
    target_path: Path | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment
    running: int | None = None  # the pid of the dbt command in progress
    parse_cache: Path | None = None  # partial-parse manifests kept per vars, target, profile

    def argv(self, *args: str, module: str = "warehouse.dbt") -> list[str]:
        """The command line of `dbt <args>` on this project, profiles and directories (or of
        another module taking dbt's arguments, e.g. the scheduled build's)."""
        return [sys.executable, "-m", module, *self.arguments(*args)]

    def arguments(self, *args: str) -> list[str]:
        """args with this project, profiles and directories: what follows `-m <module>`."""
        arguments = [*args, "--project-dir", str(self.project_dir)]
        if self.profiles_dir is not None:
            arguments += ["--profiles-dir", str(self.profiles_dir)]
        if self.target_path is not None:
            arguments += ["--target-path", str(self.target_path)]
        if self.log_path is not None:
            arguments += ["--log-path", str(self.log_path)]
        return arguments

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **self.env,
                **(extra or {})}

    def _parse_key(self, args: Sequence[str]) -> Path | None:
        """Where parse_cache keeps the partial-parse manifest for args (None: not kept):
        what dbt checks before it reuses one (the vars, target and profile, the profile's
        connection) and the project it parsed."""
        if self.parse_cache is None or self.target_path is None \
                or "--no-partial-parse" in args:
            return None
        profiles = self.profiles_dir / "profiles.yml" if self.profiles_dir is not None else None
        parts = [str(self.project_dir.resolve()), _option(args, "--vars") or "",
                 _option(args, "--target") or _option(args, "-t") or "",
                 _option(args, "--profile") or "",
                 profiles.read_text(encoding="utf-8") if profiles and profiles.is_file() else ""]
        key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]
        return self.parse_cache / f"{key}.msgpack"

    def run(self, *args: str, capture: bool = True, check: bool = True,
            module: str = "warehouse.dbt") -> DbtResult:
        """Run `dbt <args>`; with `check`, a failure raises DbtError (one line).

        With `capture` the output is collected (and returned), otherwise it goes to the
        terminal as dbt prints it.
        """
        cached = self._parse_key(args)
        written = self.target_path / "partial_parse.msgpack" if self.target_path else None
        before = _mtime(written)
        extra = ({"DBT_PARTIAL_PARSE_FILE_PATH": str(cached)}
                 if cached is not None and cached.is_file() else {})
        if capture and os.environ.get(FORK_SERVER_ENV):
            returncode, output = self._forked(self.arguments(*args), module, extra)
        else:
            returncode, output = self._started(self.argv(*args, module=module), capture, extra)
        if cached is not None and written is not None and _mtime(written) is not None \
                and (_mtime(written) != before or not cached.is_file()):
            # the manifest this command parsed (or found unchanged): kept for the next command
            # with its key (one dbt finds it cannot reuse, it parses anew, as without a cache)
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(written, partial)
            partial.replace(cached)
        result = DbtResult(tuple(args), returncode, output)
        if check and not result.success:
            raise DbtError(result.error_line() if capture
                           else result.error_line() + "; dbt's output is above")
        return result

    def _started(self, argv: list[str], capture: bool,
                 extra: Mapping[str, str] | None = None) -> tuple[int, str]:
        """argv in a new process; its exit code and (with capture) its output."""
        pipe = subprocess.PIPE if capture else None
        with subprocess.Popen(argv, stdout=pipe,
                              stderr=subprocess.STDOUT if capture else None, text=True,
                              cwd=self.project_dir, env=self.environment(extra)) as process:
            self.running = process.pid
            try:
                output, _ = process.communicate()
            finally:
                self.running = None
        return process.returncode, output or ""

    def _forked(self, args: list[str], module: str,
                extra: Mapping[str, str] | None = None) -> tuple[int, str]:
        """`python -m module args`, forked from a process that has imported dbt already (the
        fork server, one per process that runs dbt): what `run` does with FORK_SERVER_ENV set,
        without the 1.5 to 2 s a new Python takes to import dbt."""
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["dbt.cli.main", "dbt.adapters.postgres",
                                        "warehouse.scheduled", "warehouse.dbt_warmup"])
        with tempfile.NamedTemporaryFile(prefix="dbt-output-", suffix=".log") as out:
            child = context.Process(target=_run_module, args=(
                module, args, str(self.project_dir), self.environment(extra), out.name))
            child.start()
            self.running = child.pid
            try:
                child.join()
            finally:
                self.running = None
            output = Path(out.name).read_text(encoding="utf-8", errors="replace")
        return (child.exitcode if child.exitcode is not None else -1), output


def _run_module(module: str, args: list[str], cwd: str, env: dict[str, str],
                output: str) -> None:
    """In a forked child: `python -m module args` in cwd with exactly env, its output (and
    errors) written to the file output."""
    handle = os.open(output, os.O_WRONLY | os.O_TRUNC)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [module, *args]
    importlib.import_module(module).main(args)  # what `python -m module` runs


def _mtime(path: Path | None) -> int | None:
    """path's modification time in nanoseconds (None when there is no such file)."""
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except FileNotFoundError:
        return None


def _option(args: Sequence[str], name: str) -> str | None:
    """The value of `name VALUE` or `name=VALUE` in args (the last one), else None."""
    value = None
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return value


def local_state(args: Sequence[str], environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The state directory dbt should be given, or None to leave dbt's arguments as they are.

    When the arguments defer (`--defer`) or select by state (`state:modified`) but name no
    state (`--state`, `--defer-state`, `DBT_STATE`, `DBT_DEFER_STATE`), it is the project's
    `.warehouse/state`, where `make build` keeps the local production manifest. If that holds
    no manifest, deferring is a DbtError saying how to get one (instead of dbt's "--state or
    --defer-state are required for deferral"); otherwise dbt is left to say what it lacks (an
    argument merely mentioning `state:`, a var's value, needs no state).
    """
    defers = "--defer" in args
    named = any(_option(args, flag) is not None for flag in ("--state", "--defer-state"))
    if (not defers and not any("state:" in arg for arg in args)) or named \
            or environ.get("DBT_STATE") or environ.get("DBT_DEFER_STATE"):
        return None
    project = _option(args, "--project-dir") or environ.get("DBT_PROJECT_DIR") or "."
    state = (cwd / project / LOCAL_STATE).resolve()
    if (state / "manifest.json").is_file():
        return state
    if defers:
        raise DbtError(f"--defer compares with the local production manifest, and {state} has "
                       "none: run 'make build' (it keeps one there) or name one with --state DIR")
    return None


def prepare(args: Sequence[str]) -> None:
    """What this process needs before dbt starts: the Redshift stand-in when the environment
    names one, and the local production state (`local_state`) when the arguments need one and
    name none. A DbtError (one line) when deferring finds no state."""
    state = local_state(args, os.environ, Path.cwd())
    if state is not None:
        os.environ["DBT_STATE"] = str(state)
    standin = os.environ.get(STANDIN_ENV)
    if standin:
        from warehouse.redshift import install_standin

        install_standin(Path(standin))


def main(argv: Sequence[str] | None = None) -> None:
    """`dbt <args>` and `python -m warehouse.dbt <args>`: dbt's CLI, after `prepare`."""
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        prepare(args)
    except DbtError as exc:
        sys.exit(f"dbt: {exc}")
    from dbt.cli.main import cli

    cli(args=args, prog_name="dbt")


if __name__ == "__main__":
    main()
