"""Side-by-side benchmark: the dbt build against the least work possible and a team without dbt.

All timings come from one process and one warehouse, so their ratios compare like with like:

- floor: one aggregate pass over every raw table, the least work any build must do;
- peer: plain `create table as` statements rebuilding the course's reports from raw_data;
- full: `dbt build --full-refresh` (models and tests) and `dbt run --full-refresh` alone;
- daily: append one new day of raw data, then an incremental `dbt build`;
- no-op: `dbt build` again with nothing new, and `dbt parse` alone (dbt's fixed cost).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg2

from warehouse.generator import generate
from warehouse.loader import load
from warehouse.schema import RAW_SCHEMA, RAW_TABLES
from warehouse.server import Warehouse

# What a team without dbt runs: the course's reports as CREATE TABLE AS straight from raw_data.
PEER_SQL: dict[str, str] = {
    "channel_monthly_summary": """
        create table adhoc.peer_channel_monthly_summary as
        select date_trunc('month', st.ts)::date as month, usc.channel,
               count(distinct usc.userid) as unique_users,
               count(distinct case when str.amount > 0 then usc.userid end) as paid_users,
               round(100.0 * count(distinct case when str.amount > 0 then usc.userid end)
                     / count(distinct usc.userid), 2) as conversion_rate,
               coalesce(sum(str.amount), 0) as gross_revenue,
               coalesce(sum(case when not str.refunded then str.amount end), 0) as net_revenue
        from raw_data.user_session_channel as usc
        inner join raw_data.session_timestamp as st on usc.sessionid = st.sessionid
        left join raw_data.session_transaction as str on usc.sessionid = str.sessionid
        group by 1, 2""",
    "user_first_last_channel": """
        create table adhoc.peer_user_first_last_channel as
        select userid,
               max(case when first_rank = 1 then channel end) as first_channel,
               max(case when last_rank = 1 then channel end) as last_channel
        from (
            select usc.userid, usc.channel,
                   row_number() over (partition by usc.userid order by st.ts, st.sessionid)
                       as first_rank,
                   row_number() over (
                       partition by usc.userid order by st.ts desc, st.sessionid desc
                   ) as last_rank
            from raw_data.user_session_channel as usc
            inner join raw_data.session_timestamp as st on usc.sessionid = st.sessionid
        ) as ranked
        group by userid""",
    "nps_monthly": """
        create table adhoc.peer_nps_monthly as
        select date_trunc('month', created)::date as month, count(*) as responses,
               round(100.0 * (sum(case when score >= 9 then 1 else 0 end)
                              - sum(case when score <= 6 then 1 else 0 end)) / count(*), 2) as nps
        from raw_data.nps
        group by 1""",
    "active_users_monthly": """
        create table adhoc.peer_active_users_monthly as
        select date_trunc('month', st.ts)::date as month,
               count(distinct usc.userid) as active_users
        from raw_data.user_session_channel as usc
        inner join raw_data.session_timestamp as st on usc.sessionid = st.sessionid
        group by 1""",
}


@dataclass
class Results:
    """Timings (seconds) and facts of one benchmark run."""

    scale: float
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    slowest: list[tuple[str, float]] = field(default_factory=list)

    def ratio(self, numerator: str, denominator: str) -> float | None:
        if numerator not in self.seconds or not self.seconds.get(denominator):
            return None
        return self.seconds[numerator] / self.seconds[denominator]

    def ratios(self) -> dict[str, float | None]:
        return {
            "full / floor": self.ratio("full_build", "floor"),
            "daily / full": self.ratio("daily_build", "full_build"),
            "daily / peer": self.ratio("daily_build", "peer"),
            "no-op / parse": self.ratio("noop_build", "parse"),
        }


def timed(results: Results, name: str, action: Callable[[], object]) -> None:
    """Run action and record its wall-clock seconds under name."""
    started = time.perf_counter()
    action()
    results.seconds[name] = time.perf_counter() - started
    print(f"  {name:<16} {results.seconds[name]:8.2f} s", flush=True)


def _execute(uri: str, statements: list[str]) -> None:
    conn = psycopg2.connect(uri)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def floor_statements() -> list[str]:
    """One aggregate query per raw table that reads every column of every row."""
    statements = []
    for table in RAW_TABLES:
        touched = " + ".join(f"count({name})" for name in table.column_names)
        statements.append(f"select {touched} from {RAW_SCHEMA}.{table.name}")
    return statements


def peer_statements() -> list[str]:
    drops = [f"drop table if exists adhoc.peer_{name}" for name in PEER_SQL]
    return drops + list(PEER_SQL.values())


class Dbt:
    """The project's dbt CLI pointed at one warehouse, with its own profile and target dir."""

    def __init__(self, project_dir: Path, warehouse: Warehouse, workdir: Path) -> None:
        self.project_dir = project_dir
        self.workdir = workdir
        profiles = workdir / "profiles"
        profiles.mkdir(parents=True, exist_ok=True)
        (profiles / "profiles.yml").write_text(
            "elt:\n  target: local\n  outputs:\n    local:\n      type: postgres\n"
            f"      host: 127.0.0.1\n      port: {warehouse.port}\n      user: postgres\n"
            "      password: ''\n      dbname: warehouse\n      schema: analytics\n"
            "      threads: 4\n"
        )

    def __call__(self, *args: str) -> None:
        argv = [
            str(Path(sys.executable).parent / "dbt"), *args,
            "--project-dir", str(self.project_dir),
            "--profiles-dir", str(self.workdir / "profiles"),
            "--target-path", str(self.workdir / "target"),
            "--log-path", str(self.workdir / "logs"),
        ]
        result = subprocess.run(argv, capture_output=True, text=True, cwd=self.project_dir)
        if result.returncode != 0:
            raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}")

    def slowest_nodes(self, count: int = 8) -> list[tuple[str, float]]:
        """The last command's slowest nodes (from run_results.json): where the time goes."""
        path = self.workdir / "target" / "run_results.json"
        nodes = json.loads(path.read_text(encoding="utf-8"))["results"]
        timings = [(str(node["unique_id"]), float(node["execution_time"])) for node in nodes]
        return sorted(timings, key=lambda item: -item[1])[:count]


def run(project_dir: Path, scale: float, workdir: Path | None = None) -> Results:
    """Benchmark the project at `scale` in a throw-away warehouse."""
    results = Results(scale=scale)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        wh = Warehouse(root)
        os.environ.pop("WAREHOUSE_PORT", None)
        wh.up()
        try:
            data = root / "data"
            timed(results, "generate", lambda: generate(data, scale=scale))
            counts: dict[str, int] = {}
            timed(results, "load", lambda: counts.update(load(wh.uri(), data)))
            results.rows = counts
            _execute(wh.uri(), [f"vacuum analyze {RAW_SCHEMA}.{t.name}" for t in RAW_TABLES])
            dbt = Dbt(project_dir, wh, root / "dbt")
            timed(results, "floor", lambda: _execute(wh.uri(), floor_statements()))
            timed(results, "peer", lambda: _execute(wh.uri(), peer_statements()))
            timed(results, "parse", lambda: dbt("parse", "--no-partial-parse"))
            timed(results, "full_build", lambda: dbt("build", "--full-refresh"))
            results.slowest = dbt.slowest_nodes()
            timed(results, "full_run", lambda: dbt("run", "--full-refresh"))
            _daily(results, wh, dbt, root, scale)
            timed(results, "noop_build", lambda: dbt("build"))
        finally:
            wh.destroy()
    return results


def _daily(results: Results, wh: Warehouse, dbt: Dbt, root: Path, scale: float) -> None:
    """Append one new day of raw data, then build incrementally."""
    day = date(2019, 12, 1)
    new_day = root / "day"
    try:
        # Another seed: new session ids for the same users (ids 1..N), one day after the rest.
        generate(new_day, scale=scale, seed=43, start=day, end=day)
    except (TypeError, ValueError) as exc:
        results.notes.append(f"daily: skipped, the generator cannot continue a data set ({exc})")
        return
    timed(results, "daily_load", lambda: load(wh.uri(), new_day, append=True))
    timed(results, "daily_build", lambda: dbt("build"))


def markdown(results: Results) -> str:
    """The results as the Markdown table written to bench/RESULTS.md."""
    from importlib.metadata import version

    lines = [
        f"# Benchmark results (scale {results.scale:g})",
        "",
        f"Machine: {os.cpu_count()} cores, {_memory_gib():.0f} GiB, {platform.platform()}; "
        f"dbt-core {version('dbt-core')}, dbt-postgres {version('dbt-postgres')}, "
        f"PostgreSQL {_pg_version()}.",
        "",
        "| raw table | rows |",
        "|---|---:|",
        *[f"| {table} | {rows:,} |" for table, rows in results.rows.items()],
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {step} | {seconds:.2f} |" for step, seconds in results.seconds.items()],
        "",
        "| ratio | value |",
        "|---|---:|",
        *[f"| {name} | {value:.2f} |" if value is not None else f"| {name} | n/a |"
          for name, value in results.ratios().items()],
    ]
    if results.slowest:
        lines += ["", "Slowest nodes of the full build:", "", "| node | seconds |", "|---|---:|",
                  *[f"| {node} | {seconds:.2f} |" for node, seconds in results.slowest]]
    if results.notes:
        lines += ["", *[f"- {note}" for note in results.notes]]
    return "\n".join(lines) + "\n"


def _memory_gib() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 0.0
    return pages / 2**30


def _pg_version() -> str:
    from warehouse.server import _binary_major_version

    return _binary_major_version()
