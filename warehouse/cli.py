"""The `warehouse` command: run the local warehouse, make and load raw data."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg2

from warehouse.data_diff import DataDiffError
from warehouse.dbt import DbtError
from warehouse.loader import (
    DEFAULT_WAIT_SECONDS,
    LoadError,
    load,
    load_with_changes,
    raw_row_count,
)
from warehouse.schema import RAW_TABLES
from warehouse.server import Warehouse, WarehouseError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DATA = Path(".warehouse") / "data" / "default"
ANALYSTS = "analytics_users"  # the first of the dbt var access_roles: who reads the marts


class PositiveNumber(click.ParamType[float]):
    """A finite number above zero: `nan`, `inf` and `0` are a usage error, not a traceback."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number) or number <= 0:
            self.fail(f"{value!r} is not a positive number", param, ctx)
        return number


SCALE = PositiveNumber()


def project_root() -> Path:
    """The dbt project directory: $WAREHOUSE_ROOT, else the nearest parent with dbt_project.yml."""
    env = os.environ.get("WAREHOUSE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dbt_project.yml").exists():
            return candidate
    return here


def _warehouse() -> Warehouse:
    return Warehouse(project_root())


def user_errors(func: F) -> F:
    """Print errors a user can cause as one line and exit 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (WarehouseError, LoadError, DbtError, DataDiffError) as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a path the user gave: missing, not writable, a directory...
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None
        except psycopg2.Error as exc:  # the server refused us (password, a stopped server...)
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise click.ClickException(f"the warehouse: {detail}") from None

    return wrapper  # type: ignore[return-value]


def _require_running(wh: Warehouse) -> None:
    if not wh.is_running():
        raise WarehouseError("the warehouse is not running: start it with 'warehouse up'")


@click.group()
@click.version_option(package_name="elt-warehouse")
def main() -> None:
    """The local warehouse: an embedded PostgreSQL in .warehouse/ of the dbt project."""


@main.command()
@user_errors
def up() -> None:
    """Create (first time) and start the warehouse."""
    wh = _warehouse()
    started = wh.up()
    click.echo(f"warehouse {'started' if started else 'already running'}: {wh.uri()}")


@main.command()
@user_errors
def down() -> None:
    """Stop the warehouse (data is kept)."""
    stopped = _warehouse().down()
    click.echo("warehouse stopped" if stopped else "warehouse was not running")


@main.command()
@user_errors
def status() -> None:
    """Say whether the warehouse runs, where, and how much raw data it holds."""
    wh = _warehouse()
    if orphans := wh.orphaned_servers():
        click.echo(f"a server started on {wh.pgdata} still runs (pid "
                   f"{', '.join(str(server.pid) for server in orphans)}), but its data directory "
                   "is gone: 'warehouse down' stops it")
        sys.exit(3)
    if not wh.is_initialised():
        click.echo(f"no warehouse yet in {wh.home}: run 'warehouse up'")
        sys.exit(3)
    if not wh.is_running():
        click.echo(f"stopped (PostgreSQL {wh.server_version()}, data in {wh.pgdata})")
        sys.exit(3)
    rows = raw_row_count(wh.uri())
    click.echo(f"running: {wh.uri()} (PostgreSQL {wh.server_version()}, {rows} raw rows)")


@main.command()
@user_errors
def uri() -> None:
    """Print the libpq URI of the warehouse, password included (for psql, scripts)."""
    click.echo(_warehouse().uri())


@main.command("bi-login")
@click.argument("name")
@user_errors
def bi_login(name: str) -> None:
    """Create a login NAME for a BI tool: reads the marts and snapshots, nothing else.

    Prints its URI (password included; also kept in .warehouse/passwords/NAME). Run again to
    give the login a new password."""
    wh = _warehouse()
    _require_running(wh)
    click.echo(wh.create_login(name, member_of=ANALYSTS))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def psql(args: tuple[str, ...]) -> None:
    """Open psql on the warehouse (extra arguments go to psql)."""
    wh = _warehouse()
    _require_running(wh)
    argv = wh.psql_command(*args)
    os.execv(argv[0], argv)


@main.command()
@user_errors
def destroy() -> None:
    """Stop the warehouse and delete its data directory."""
    wh = _warehouse()
    wh.destroy()
    click.echo(f"deleted {wh.home}")


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Directory for the <table>.csv files.")
@click.option("--scale", type=SCALE, default=1.0, show_default=True,
              help="Multiplies users and sessions.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--dirty", is_flag=True, help="Inject every kind of bad row; see manifest.json.")
@click.option("--plant-anomalies", is_flag=True,
              help="Plant two incidents for channel_metric_anomalies to flag (Naver's spend x10 "
                   "on the last day, Google's transactions lost 3 days before); see "
                   "manifest.json.")
@click.option("--start", "since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only rows dated on or after this day (YYYY-MM-DD).")
@click.option("--end", "until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only rows dated on or before this day; after 2019-11-30 the data set "
                   "continues day by day.")
@user_errors
def generate(out_dir: Path, scale: float, seed: int, dirty: bool, plant_anomalies: bool,
             since: datetime | None, until: datetime | None) -> None:
    """Write a deterministic raw data set, one <table>.csv per raw table.

    With --start/--end only a slice of it: consecutive slices never share a row, so the
    daily load cycle is `generate --end D`, then `generate --start D+1 --end D+1` and
    `warehouse load --append` for each next day.
    """
    from warehouse.generator import generate as run_generate

    if dirty and (since or until):
        raise click.UsageError("--dirty writes a whole data set; leave out --start and --end")
    if since and until and until < since:
        raise click.BadParameter("must not be before --start", param_hint="--end")
    started = time.perf_counter()
    manifest = run_generate(out_dir, scale=scale, seed=seed, dirty=dirty,
                            since=since.date() if since else None,
                            until=until.date() if until else None,
                            plant_anomalies=plant_anomalies)
    total = sum(manifest.rows.values())
    click.echo(f"wrote {total} rows to {out_dir} in {time.perf_counter() - started:.1f}s")


@main.command("load")
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--append", is_flag=True, help="Add the rows instead of replacing the tables.")
@click.option("--wait", "wait_seconds", type=click.FloatRange(min=0), default=DEFAULT_WAIT_SECONDS,
              show_default=True, metavar="SECONDS",
              help="How long to wait for a running dbt build to end before giving up.")
@click.option("--empty-missing", is_flag=True,
              help="Empty the tables whose <table>.csv is missing (otherwise refused).")
@click.option("--table", "tables", multiple=True, metavar="TABLE",
              type=click.Choice([table.name for table in RAW_TABLES]),
              help="Load only this table (repeatable); the others stay as they are.")
@user_errors
def load_command(data_dir: Path, append: bool, wait_seconds: float, empty_missing: bool,
                 tables: tuple[str, ...]) -> None:
    """Replace every raw_data table with DATA_DIR/<table>.csv (one transaction, COPY).

    A replace is a diff: rows the table already holds stay as they were loaded; only the rows
    it lacks are added, and those the file no longer has are removed. Never during a dbt
    build: a load waits for a running build to end (up to --wait seconds), and builds that
    start meanwhile wait for the load."""
    wh = _warehouse()
    _require_running(wh)
    started = time.perf_counter()
    load_id, changes = load_with_changes(wh.loader_uri(), data_dir, append=append,
                                         wait_seconds=wait_seconds, empty_missing=empty_missing,
                                         tables=tables or None)
    detail = ", ".join(f"{table} {change.copied}" for table, change in changes.items())
    elapsed = time.perf_counter() - started
    click.echo(f"load {load_id}: {sum(c.copied for c in changes.values())} rows read in "
               f"{elapsed:.1f}s: {detail}")
    added = sum(change.added for change in changes.values())
    removed = sum(change.removed for change in changes.values())
    changed = ", ".join(f"{table} +{change.added} -{change.removed}"
                        for table, change in changes.items() if change.added or change.removed)
    click.echo(f"raw_data: {added} rows added, {removed} removed"
               + (f" ({changed})" if changed else " (nothing changed)"))
    if removed:
        click.echo("rows were removed: the next `dbt build` rebuilds in full what reads "
                   "the tables they were in")


@main.command("ensure-data")
@user_errors
def ensure_data() -> None:
    """Load the default generated data set, but only when raw_data is empty."""
    wh = _warehouse()
    _require_running(wh)
    from warehouse.generator import generate as run_generate

    if raw_row_count(wh.uri()) > 0:
        click.echo("raw_data already holds data: left as it is")
        return
    data_dir = wh.root / DEFAULT_DATA
    run_generate(data_dir)
    counts = load(wh.loader_uri(), data_dir)
    click.echo(f"loaded the default data set: {sum(counts.values())} rows from {data_dir}")


@main.command()
@click.option("--scale", type=SCALE, default=1.0, show_default=True)
@click.option("--out", "out_file", type=click.Path(path_type=Path),
              default=Path("bench/RESULTS.md"), show_default=True)
@click.option("--tuning", is_flag=True,
              help="Also time the full build with each PostgreSQL setting at its default.")
@user_errors
def bench(scale: float, out_file: Path, tuning: bool) -> None:
    """Time floor, peer, full, daily and no-op builds side by side; write a Markdown table."""
    from warehouse.bench import markdown, merge, run

    root = project_root()
    click.echo(f"benchmark at scale {scale:g} in a throw-away warehouse")
    results = run(root, scale, tuning=tuning)
    target = root / out_file
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(merge(old, markdown(results), scale), encoding="utf-8")
    for name, value in results.ratios().items():
        click.echo(f"  {name:<14} {'n/a' if value is None else f'{value:.2f}'}")
    click.echo(f"wrote {target} (scale {scale:g})")


SLIM_CI_TARGET = Path("target") / "slim-ci"


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--explain", is_flag=True, help="Only say what would be built, and why.")
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def build(explain: bool, dbt_args: tuple[str, ...]) -> None:
    """The scheduled build: dbt build of what has something new (new loads, changed code, a
    failed test, a model reading the clock), nothing else. DBT_ARGS go to dbt (--target prod,
    --vars ..., --exclude ..., --full-refresh)."""
    from warehouse.dbt import Dbt
    from warehouse.scheduled import project_dir_option
    from warehouse.scheduled import run as run_scheduled

    project, rest = project_dir_option(dbt_args)
    outcome = run_scheduled(Dbt(project or project_root(), None), rest, explain=explain,
                            echo=click.echo)
    if outcome.returncode:
        sys.exit(outcome.returncode)


@main.command("slim-ci")
@click.option("--state", "state_dir", type=click.Path(path_type=Path), required=True,
              help="Directory holding the production manifest.json (and dbt_project.yml).")
@click.option("--schema", required=True, help="Prefix of this change's schemas, e.g. pr_123.")
@click.option("--port", type=int, default=None, help="Warehouse port (default: this project's).")
@click.option("--target-path", type=click.Path(path_type=Path), default=SLIM_CI_TARGET,
              show_default=True, help="Where the build's artifacts go (data-diff reads them).")
@user_errors
def slim_ci(state_dir: Path, schema: str, port: int | None, target_path: Path) -> None:
    """Build what changed (state:modified+) into SCHEMA_* schemas, deferring to production."""
    from warehouse.slim_ci import run as run_slim_ci

    root = project_root()
    wh = Warehouse(root)
    if port is None:
        _require_running(wh)
        port = wh.port
    run_slim_ci(root, state_dir, schema, port, target_path=root / target_path,
                password=wh.password())


@main.command("data-diff")
@click.option("--state", "state_dir", type=click.Path(path_type=Path), required=True,
              help="Directory holding the production manifest.json (names production's marts).")
@click.option("--schema", required=True, help="Prefix of the slim build's schemas, e.g. pr_123.")
@click.option("--target-path", type=click.Path(path_type=Path), default=SLIM_CI_TARGET,
              show_default=True, help="The slim build's artifacts (warehouse slim-ci).")
@click.option("--threshold", type=float, default=1.0, show_default=True,
              help="List attribution credit that moved by more than this many percent.")
@click.option("--limit", type=int, default=20, show_default=True,
              help="At most this many moved rows per mart.")
@click.option("--summary-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              envvar="GITHUB_STEP_SUMMARY",
              help="Also append the Markdown here (default: $GITHUB_STEP_SUMMARY, if set).")
@user_errors
def data_diff(state_dir: Path, schema: str, target_path: Path, threshold: float, limit: int,
              summary_file: Path | None) -> None:
    """Compare the marts slim CI built (SCHEMA_*) with production's: row counts, and the
    attribution credit that moved; prints Markdown."""
    from warehouse.data_diff import run as run_data_diff

    root = project_root()
    wh = _warehouse()
    _require_running(wh)
    report = run_data_diff(wh.uri(), root / target_path, state_dir, schema,
                           threshold=threshold, limit=limit)
    click.echo(report, nl=False)
    if summary_file is not None:
        with summary_file.open("a", encoding="utf-8") as summary:
            summary.write(report)


@main.command("redshift-check")
@click.option("--target-path", type=click.Path(path_type=Path), default=Path("target/redshift"),
              show_default=True, help="Where the dry runs' artifacts and statements go.")
@user_errors
def redshift_check(target_path: Path) -> None:
    """Dry-run dbt build (prod and ci, first and incremental) and the run-operations through
    the Redshift adapter with a recording driver; check every statement it would send."""
    from warehouse.redshift import access_roles, check, dry_run, local_catalog

    root = project_root()
    wh = _warehouse()
    _require_running(wh)
    started = time.perf_counter()
    work = (root / target_path).resolve()
    catalog = local_catalog(root, work / "local", wh.dbt_target())
    result = dry_run(root, work, catalog)
    findings = result.failures + check(result.statements, access_roles(root))
    report = work / "findings.txt"
    report.write_text("".join(f"{finding}\n" for finding in findings), encoding="utf-8")
    for finding in findings:
        click.echo(str(finding), err=True)
    runs = ", ".join(f"{run} {seconds:.0f}s" for run, seconds in result.seconds.items())
    summary = (f"{len(result.statements)} statements from {len(result.seconds)} dry runs "
               f"({runs}), {time.perf_counter() - started:.0f}s in all")
    if findings:
        raise click.ClickException(f"redshift: {len(findings)} findings (listed above and in "
                                   f"{report}); {summary}")
    click.echo(f"redshift: no findings; {summary}")


@main.command()
@click.option("--port", type=int, default=8501, show_default=True,
              help="Port on 127.0.0.1 to serve the dashboards on.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Instead of serving them, write the dashboards to DIR as a static site.")
@user_errors
def dashboards(port: int, out_dir: Path | None) -> None:
    """Serve the dashboards (Streamlit), logged in as a member of analytics_users; or, with
    --out, write every page (each month of it) to a static site."""
    from warehouse.dashboards import ensure_reader, streamlit_command

    wh = _warehouse()
    _require_running(wh)
    if out_dir is not None:
        from warehouse.static_dashboards import build

        started = time.perf_counter()
        written = build(out_dir, ensure_reader(wh), wh.root / "dashboards")
        click.echo(f"dashboards: {len(written)} pages in {time.perf_counter() - started:.1f}s, "
                   f"open {(out_dir / 'index.html').resolve()}")
        return
    os.environ["DASHBOARDS_URI"] = ensure_reader(wh)
    click.echo(f"dashboards: http://127.0.0.1:{port} (as {os.environ['DASHBOARDS_URI']})")
    argv = streamlit_command(wh.root, port)
    os.execv(argv[0], argv)


@main.command()
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True,
              help="Send the flags of the newest DAYS days the mart scored.")
@click.option("--uri", envvar="WAREHOUSE_URI", default=None, metavar="URI",
              help="libpq URI of the warehouse to read (default: this project's own; "
                   "$WAREHOUSE_URI).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, metavar="SECONDS", help="How long to wait for the webhook.")
@user_errors
def alert(days: int, uri: str | None, timeout: float) -> None:
    """Send the newest flagged channel metrics (analytics.channel_metric_anomalies) to Slack.

    POSTs one message to the incoming webhook in $ALERT_WEBHOOK_URL when anything is flagged;
    without the variable, prints the message instead. Nothing flagged: sends nothing."""
    from warehouse.alerts import WEBHOOK_ENV, AlertError, newest_anomalies, post, slack_message

    if uri is None:
        wh = _warehouse()
        _require_running(wh)
        uri = wh.uri()
    anomalies = newest_anomalies(uri, days)
    if not anomalies:
        click.echo(f"nothing flagged (the newest {days} day(s) of channel_metric_anomalies)")
        return
    message = slack_message(anomalies)
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        click.echo(json.dumps(message, indent=2))
        click.echo(f"{WEBHOOK_ENV} is unset: the message above ({len(anomalies)} flagged) "
                   "was not sent", err=True)
        return
    try:
        post(url, message, timeout=timeout)
    except AlertError as exc:
        raise click.ClickException(f"alert not sent: {exc}") from None
    click.echo(f"alert sent: {message['text']}")


@main.command()
@user_errors
def profile() -> None:
    """Write profiles.yml (targets local and dev) next to dbt_project.yml; keep hand edits."""
    from warehouse.profile import write

    wh = _warehouse()
    outcome = write(wh.root / "profiles.yml", wh.port, password=wh.password())
    if outcome.changed or "edited" in outcome.message:
        click.echo(outcome.message)


if __name__ == "__main__":
    main()
