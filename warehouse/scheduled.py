"""The scheduled build, `warehouse build`: dbt builds what has something new, nothing else.

dbt's own materializations build every node they are given; skipping what has nothing new is
selection, as dbt's state-aware orchestration does it (a node not selected costs nothing).
One run-operation (`scheduled_build_state`, macros/incremental/node_builds.sql) reports the
project's nodes and edges, when each was last built (staging.node_builds, written in the
node's own transaction) and what its code was then, the tests' last results, and per raw
table its newest loads and rewrites. `select` decides from that, in Python, and the build is
`dbt build --select <those nodes>`. A model, seed or snapshot is selected when:

- it was never built, or its code, config or results vars changed since its last build;
- it reads the clock (current_date, now(), ...), or a source outside raw_data (no load log
  says when its rows change);
- its relation is missing, or a killed build left its `__dbt_tmp` / `__dbt_backup` copy;
- a raw table it reads got rows in a load it has not processed, or its history was
  rewritten (rows removed or changed outside a load) since its build;
- something it reads is selected, or was rebuilt after it (a `--select` run).

A data test runs with the nodes it tests (dbt's indirect selection), and on its own when it
never ran, its definition changed, its last result was a failure, an error or a skip, or its
last run ended before its result was recorded (so a retry never hides a failure). Unit
tests are left out, as dbt Labs advises for production: their inputs are fixed in the YAML, so
they check the code, not the day's data; `dbt build`, `dbt test`, the pull-request job and
`make data-tests-full` run them (naming resource types in the options turns this off). Plain
`dbt build` stays what dbt documents: everything.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from warehouse.dbt import Dbt, DbtError, DbtResult, first_error, prepare

STATE_PREFIX = "scheduled_build_state: "
BUILT = ("model", "seed", "snapshot")
# dbt options the run-operation needs too (where to connect, with which vars, where to write)
SHARED_OPTIONS = ("--target", "-t", "--profiles-dir", "--profile", "--vars", "--target-path",
                  "--log-path", "--project-dir")
# flags the parse needs too (the build reuses its manifest)
PARSE_FLAGS = ("--partial-parse", "--no-partial-parse")
CHILD = "warehouse.scheduled"  # the module that runs a scheduled build in one dbt process
# Names this scheduled build to its macros: the raw tables' states its run-operation reads are
# kept under it for its build's checkpoint, which then does not read every raw row again
# (macros/incremental: keep_read_states, scheduled_states).
TOKEN_ENV = "WAREHOUSE_BUILD_TOKEN"
SELECTING_OPTIONS = ("--select", "-s", "--models", "-m", "--selector", "--inline")
# Unit tests check code against fixed inputs: production's builds leave them out (the module's
# docstring), unless the options name the resource types themselves.
UNIT_TESTS_LEFT_OUT = ("--exclude-resource-type", "unit_test")
RESOURCE_TYPE_OPTIONS = ("--resource-type", "--resource-types", "--exclude-resource-type",
                         "--exclude-resource-types")
# "killed": the test started in a run that never recorded its result
GROUPED = 5  # more nodes than this selected for one reason are said in one line
RERUN_STATUSES = ("fail", "error", "skipped", "runtime error", "killed")


@dataclass(frozen=True)
class Node:
    """A model, seed, snapshot or data test of the project."""

    id: str
    name: str
    type: str
    materialized: str
    relation: str  # schema.alias, lower case
    parents: tuple[str, ...]
    fingerprint: str
    reads_clock: bool


@dataclass(frozen=True)
class Build:
    """A node's last build: its code fingerprint, run and the load id processed up to."""

    fingerprint: str
    run_id: int
    loaded_until: int | None


@dataclass(frozen=True)
class RawTable:
    """A raw table now: its newest load id, whether its history was rewritten since the last
    run (rewritten_now) or at which run last (rewritten_run), and its newest load that added
    rows."""

    newest: int | None
    rewritten_now: bool
    changed_load: int | None
    rewritten_run: int | None


@dataclass(frozen=True)
class LastResult:
    status: str
    fingerprint: str | None


@dataclass(frozen=True)
class State:
    nodes: Mapping[str, Node]
    sources: Mapping[str, str]  # source id -> raw_data.<table>
    relations: frozenset[str]
    builds: Mapping[str, Build]
    tests: Mapping[str, LastResult]  # by test name (alias)
    raw_tables: Mapping[str, RawTable]


def parse_state(output: str) -> State:
    """The state the run-operation printed (one line among dbt's output)."""
    line = next((line for line in output.splitlines() if line.startswith(STATE_PREFIX)), None)
    if line is None:
        raise DbtError("dbt run-operation scheduled_build_state printed no state")
    raw: dict[str, Any] = json.loads(line[len(STATE_PREFIX):])
    missing = raw.get("missing_raw_tables") or []
    if missing:
        raise DbtError(f"raw_data has no table {', '.join(missing)}: load the raw data first "
                       "(warehouse load DIR, or the load_raw_data_from_s3 operation)")
    nodes = {node_id: Node(id=node_id, name=node["name"], type=node["type"],
                           materialized=node["materialized"], relation=node["relation"],
                           parents=tuple(node["parents"]), fingerprint=node["fingerprint"],
                           reads_clock=bool(node["reads_clock"]))
             for node_id, node in raw["nodes"].items()}
    return State(
        nodes=nodes,
        sources=dict(raw["sources"]),
        relations=frozenset(raw["relations"]),
        builds={node_id: Build(b["fingerprint"], int(b["run_id"]), b["loaded_until"])
                for node_id, b in raw["builds"].items()},
        tests={name: LastResult(t["status"], t["fingerprint"]) for name, t in raw["tests"].items()},
        raw_tables={name: RawTable(t["newest"], bool(t["rewritten_now"]), t["changed_load"],
                                   t["rewritten_run"])
                    for name, t in raw["raw_tables"].items()},
    )


def select(state: State) -> dict[str, str]:
    """The nodes to build, each with why (in build order); tests only where they must run
    on their own (the tests of selected nodes come with them)."""
    cutoff = max((t.newest for t in state.raw_tables.values() if t.newest is not None), default=0)
    built = {node_id: node for node_id, node in state.nodes.items() if node.type in BUILT}
    graph = {node_id: [p for p in node.parents if p in built] for node_id, node in built.items()}
    selected: dict[str, str] = {}
    for node_id in TopologicalSorter(graph).static_order():
        reason = _why(built[node_id], state, selected, cutoff)
        if reason is not None:
            selected[node_id] = reason
    for node in state.nodes.values():
        if node.type == "test":
            reason = _why_test(node, state.tests.get(node.relation.rsplit(".", 1)[-1]))
            if reason is not None:
                selected[node.id] = reason
    return selected


def _why(node: Node, state: State, selected: Mapping[str, str], cutoff: int) -> str | None:
    build = state.builds.get(node.id)
    if build is None:
        return "never built"
    if build.fingerprint != node.fingerprint:
        return "its code, config or vars changed"
    if node.reads_clock:
        return "it reads the clock"
    if node.materialized != "ephemeral":
        if node.relation not in state.relations:
            return f"{node.relation} is missing"
        for suffix in ("__dbt_tmp", "__dbt_backup"):
            if node.relation + suffix in state.relations:
                return f"a killed build left {node.relation}{suffix}"
    processed = build.loaded_until if build.loaded_until is not None else -1
    for parent in node.parents:
        if parent in state.sources:
            reason = _why_raw(state.sources[parent], state.raw_tables.get(state.sources[parent]),
                              build, processed, cutoff)
            if reason is not None:
                return reason
        elif parent in selected:
            return f"{_name(state, parent)} is rebuilt"
        elif parent in state.builds and state.builds[parent].run_id > build.run_id:
            return f"{_name(state, parent)} was rebuilt after it"
    return None


def _why_raw(name: str, table: RawTable | None, build: Build, processed: int,
             cutoff: int) -> str | None:
    if table is None:
        # a source outside raw_data (or one whose table is missing): no load log says when
        # its rows changed, so what reads it is built every time
        return f"{name} has no load log: read anew on every build"
    if table.rewritten_now:
        return f"rows of {name} were removed or changed since the last run"
    if table.rewritten_run is not None and table.rewritten_run > build.run_id:
        return f"rows of {name} were removed or changed since it was built"
    if table.changed_load is not None and processed < min(table.changed_load, cutoff):
        return f"{name} has rows of load {table.changed_load}, it was built up to load {processed}"
    return None


def _why_test(node: Node, result: LastResult | None) -> str | None:
    if result is None:
        return "never ran"
    if result.status == "killed":
        return "its last run ended before its result was recorded"
    if result.status in RERUN_STATUSES:
        return f"its last result was {result.status}"
    if result.fingerprint != node.fingerprint:
        return "its definition changed"
    return None


def _name(state: State, node_id: str) -> str:
    node = state.nodes.get(node_id)
    return node.name if node is not None else node_id


def summary(state: State, selected: Mapping[str, str]) -> list[str]:
    """What the build will do, for the log: counts, and every node selected for its own
    reason (not merely because something it reads is rebuilt now; one whose parent was rebuilt
    after it, by an earlier `--select` run, is said)."""
    built = [node for node in state.nodes.values() if node.type in BUILT]
    chosen = [node for node in built if node.id in selected]
    tests = [node_id for node_id in selected if state.nodes[node_id].type == "test"]
    rerun = f"; {len(tests)} test{'s' * (len(tests) != 1)} rerun on their own" if tests else ""
    lines = [f"warehouse build: {len(chosen)} of {len(built)} models, seeds and snapshots "
             f"selected, {len(built) - len(chosen)} unchanged and not built{rerun}"]
    by_reason: dict[str, list[str]] = {}
    for node_id, reason in selected.items():
        if not reason.endswith(" is rebuilt"):
            by_reason.setdefault(reason, []).append(_name(state, node_id))
    for reason, names in by_reason.items():
        if len(names) > GROUPED:  # a first build, --empty, a changed var: one line
            lines.append(f"  {len(names)} nodes: {reason} ({', '.join(names[:3])}, ...)")
        else:
            lines += [f"  {name}: {reason}" for name in names]
    return lines


def check_args(args: Sequence[str]) -> None:
    """A scheduled build chooses its own nodes: a selection is a plain `dbt build`'s job."""
    for arg in args:
        if arg.split("=", 1)[0] in SELECTING_OPTIONS:
            raise DbtError(f"warehouse build selects what has something new itself; for {arg} "
                           "run dbt build (it builds exactly what you select)")


def check_build_options(args: Sequence[str]) -> None:
    """`args` as dbt build would parse them: a misspelled option or a bad value stops the run
    with dbt's own line, also when nothing is selected and dbt build never runs."""
    if not args:
        return
    import click  # dbt's CLI, imported only here: a second or two
    from dbt.cli.main import cli

    try:
        cli.commands["build"].make_context("build", list(args))
    except click.ClickException as error:
        raise DbtError(f"dbt build {' '.join(args)}: {error.format_message()}") from None


def production_args(args: Sequence[str]) -> list[str]:
    """`args` for the scheduled build's `dbt build`: unit tests left out, unless `args` (or
    dbt's environment variables for them) name the resource types to build."""
    named = any(arg.split("=", 1)[0] in RESOURCE_TYPE_OPTIONS for arg in args) or any(
        os.environ.get(name) for name in ("DBT_RESOURCE_TYPES", "DBT_EXCLUDE_RESOURCE_TYPES"))
    return list(args) if named else [*args, *UNIT_TESTS_LEFT_OUT]


def project_dir_option(args: Sequence[str]) -> tuple[Path | None, list[str]]:
    """The project directory `--project-dir` names in `args` (the last one, as dbt takes it),
    and the other options: the runner passes it to every dbt command it starts."""
    project: Path | None = None
    rest: list[str] = []
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
        elif arg == "--project-dir" and index + 1 < len(args):
            project, skip = Path(args[index + 1]), True
        elif arg.startswith("--project-dir="):
            project = Path(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return project, rest


def shared_args(args: Sequence[str]) -> list[str]:
    """The options of `args` that the state run-operation needs too, with their values."""
    found: list[str] = []
    for index, arg in enumerate(args):
        flag = arg.split("=", 1)[0]
        if flag in SHARED_OPTIONS:
            found.append(arg)
            if "=" not in arg and index + 1 < len(args):
                found.append(args[index + 1])
    return found


def selectors(state: State, selected: Mapping[str, str]) -> list[str]:
    """dbt's --select arguments for the selected nodes (by name, the last part of the fqn)."""
    return sorted(f"fqn:{state.nodes[node_id].name}" for node_id in selected)


@dataclass(frozen=True)
class Outcome:
    """A scheduled build: what it selected and why, what it said, and dbt's build (None when
    nothing was built)."""

    selected: Mapping[str, str]
    lines: list[str]
    build: DbtResult | None

    @property
    def returncode(self) -> int:
        return self.build.returncode if self.build is not None else 0


def run(dbt: Dbt, args: Sequence[str], *, explain: bool = False, capture: bool = False,
        echo: Callable[[str], Any] = print) -> Outcome:
    """`warehouse build [dbt options]`: read the state, say what is selected and why, then
    `dbt build --select` it (everything, with --full-refresh). With `explain`, only say.

    One dbt process does it all (`python -m warehouse.scheduled`: `child_main`). It parses the
    project once and runs the state run-operation and the build on that manifest: a second dbt
    process cost another start and parse, about 2.5 s a build. What it selected and said comes
    back in a report file it writes before the build starts."""
    check_args(args)
    if "--full-refresh" in args:
        lines = ["warehouse build: --full-refresh rebuilds every node"]
        echo(lines[0])
        build = None if explain else dbt.run("build", *production_args(args), capture=capture,
                                             check=False)
        return Outcome({}, lines, build)
    with tempfile.TemporaryDirectory(prefix="warehouse-build-") as tmp:
        report = Path(tmp) / "report.json"
        flags = [f"--report={report}", *([] if capture else ["--echo"]),
                 *(["--explain"] if explain else [])]
        result = dbt.run(*flags, "--", *args, capture=capture, check=False, module=CHILD)
        done: dict[str, Any] | None = (json.loads(report.read_text(encoding="utf-8"))
                                       if report.exists() else None)
    if done is None:  # the process ended before it decided (killed, or dbt itself broke)
        reason = first_error(result.output)
        raise DbtError(f"warehouse build ended (exit {result.returncode}) before it had read "
                       "the state" + (f": {reason}" if reason else ""))
    if "error" in done:
        raise DbtError(str(done["error"]))
    selected, lines = dict(done["selected"]), list(done["lines"])
    if capture:
        for line in lines:
            echo(line)
    build = DbtResult(("build", *done["select"], *production_args(args)), result.returncode,
                      result.output) if done["build"] else None
    return Outcome(selected, lines, build)


def child_main(argv: Sequence[str]) -> int:
    """`python -m warehouse.scheduled --report=FILE [--echo] [--explain] -- DBT_ARGS`: the
    scheduled build in one dbt process. It parses once, runs the state run-operation on that
    manifest, selects, and writes FILE (what it selected and why, whether it builds; or the
    error, one line); prints the lines with --echo; then runs `dbt build --select` on the same
    manifest. Its exit code is dbt's."""
    split = list(argv).index("--")
    options, dbt_args = list(argv[:split]), list(argv[split + 1:])
    report = Path(next(o for o in options if o.startswith("--report="))[len("--report="):])
    os.environ[TOKEN_ENV] = uuid.uuid4().hex
    try:
        prepare(dbt_args)
        from dbt.cli.main import dbtRunner
        from dbt.contracts.graph.manifest import Manifest

        shared = shared_args(dbt_args)
        parsed = dbtRunner().invoke(
            ["--quiet", "parse", *shared, *(arg for arg in dbt_args if arg in PARSE_FLAGS)])
        if not parsed.success or not isinstance(parsed.result, Manifest):
            raise DbtError(f"dbt parse failed: {_exception_line(parsed.exception)}")
        runner = dbtRunner(manifest=parsed.result)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            state_run = runner.invoke(["--quiet", "run-operation", "scheduled_build_state",
                                       *shared])
        if not state_run.success:
            sys.stdout.write(output.getvalue())
            raise DbtError("dbt run-operation scheduled_build_state failed: "
                           + (first_error(output.getvalue())
                              or _exception_line(state_run.exception)))
        state = parse_state(output.getvalue())
        selected = select(state)
        lines = summary(state, selected)
        if not selected:
            check_build_options(dbt_args)
            lines.append("warehouse build: nothing new to build")
    except DbtError as error:
        report.write_text(json.dumps({"error": str(error)}), encoding="utf-8")
        return 2
    builds = bool(selected) and "--explain" not in options
    chosen = ["--select", *selectors(state, selected)] if selected else []
    report.write_text(json.dumps({"selected": selected, "lines": lines, "build": builds,
                                  "select": chosen}), encoding="utf-8")
    if "--echo" in options:
        print("\n".join(lines), flush=True)
    if not builds:
        return 0
    result = runner.invoke(["build", *chosen, *production_args(dbt_args)])
    return 0 if result.success else 1 if result.exception is None else 2


def _exception_line(exception: BaseException | None) -> str:
    return " ".join(str(exception).split())[:500] if exception is not None else "see its output"


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m warehouse.scheduled ...`: `child_main`, its result the exit code."""
    sys.exit(child_main(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
