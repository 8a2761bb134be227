"""Side-by-side benchmark: the dbt build against the least work possible and a team without dbt.

All timings come from one process and one warehouse, so their ratios compare like with like:

- floor: one aggregate pass over every raw table, the least work any build must do;
- peer: plain `create table as` statements rebuilding the course's reports from raw_data;
- full: `warehouse build --full-refresh` (dbt build of the models and data tests; unit tests,
  which check code against fixed inputs, are left out of production's builds as of the daily
  one) and `dbt run --full-refresh` alone;
- daily: append one new day of raw data, then the scheduled build (`warehouse build`: dbt
  build of what has something new);
- late: append rows held back from the bulk load, spread over the whole history (every 200th
  row of each table, 0.5 %), and conflicting copies of a few old sessions' channel rows, then
  the scheduled build: what a run costs when new rows are old;
- no-op: the scheduled build again with nothing new, and `dbt parse` alone (dbt's fixed cost);
- replace: every raw table replaced by the rows it holds plus one more new day (the nightly full
  refresh of an ETL that exports whole tables), then the scheduled build: a diff by content, so
  it should cost what a daily build costs;
- long history: a second warehouse holding twice the history (14 months, the same rows per
  day), built in full, then one new day appended and the scheduled build: a daily build's cost
  should follow the day, not the history.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psutil
import psycopg2

from warehouse import scheduled
from warehouse.dbt import Dbt, DbtError, write_profiles
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
    slowest: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # step -> nodes
    peak_memory: dict[str, float] = field(default_factory=dict)  # step -> GiB (PSS)
    tuning: dict[str, float] = field(default_factory=dict)  # variant -> full build seconds

    def ratio(self, numerator: str, denominator: str) -> float | None:
        if numerator not in self.seconds or not self.seconds.get(denominator):
            return None
        return self.seconds[numerator] / self.seconds[denominator]

    def ratios(self) -> dict[str, float | None]:
        return {
            "full / floor": self.ratio("full_build", "floor"),
            "full / peer": self.ratio("full_build", "peer"),
            "daily / full": self.ratio("daily_build", "full_build"),
            "peer / daily": self.ratio("peer", "daily_build"),
            "late / full": self.ratio("late_build", "full_build"),
            "no-op / parse": self.ratio("noop_build", "parse"),
            "replace daily / daily": self.ratio("replace_build", "daily_build"),
            "daily, 14 months / 7 months": self.ratio("long_daily_build", "daily_build"),
        }


def timed(results: Results, name: str, action: Callable[[], object],
          memory: MemorySampler | None = None) -> None:
    """Run action and record its wall-clock seconds (and peak memory) under name."""
    if memory is not None:
        memory.step = name
    started = time.perf_counter()
    action()
    results.seconds[name] = time.perf_counter() - started
    if memory is not None:
        memory.step = ""  # one last sample: a step shorter than the sampling interval
        results.peak_memory[name] = max(memory.peaks.get(name, 0.0), memory.sample())
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


class MemorySampler:
    """Samples, twice a second, the proportional set size (PSS: shared memory split between
    the processes sharing it) of the warehouse's server processes plus the running dbt
    command, and keeps the peak per benchmark step."""

    def __init__(self, warehouse: Warehouse, dbt: Dbt) -> None:
        self.warehouse, self.dbt = warehouse, dbt
        self.step = ""
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _roots(self) -> list[int]:
        lock = self.warehouse.pgdata / "postmaster.pid"
        roots = [int(lock.read_text().split()[0])] if lock.exists() else []
        return roots + ([self.dbt.running] if self.dbt.running else [])

    def sample(self) -> float:
        """The warehouse's and the running dbt's memory now, in GiB."""
        total = 0
        for pid in self._roots():
            try:
                root = psutil.Process(pid)
                for process in [root, *root.children(recursive=True)]:
                    total += process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
                continue
        return total / 2**30

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            if self.step:
                used = self.sample()
                self.peaks[self.step] = max(self.peaks.get(self.step, 0.0), used)


# production's full build (`warehouse build --full-refresh`): models, seeds, snapshots and data
# tests, as the scheduled build runs them (no unit tests)
FULL_BUILD = ("build", *scheduled.production_args(("--full-refresh",)))


def scheduled_build(dbt: Dbt) -> None:
    """The scheduled build (`warehouse build`); a failure raises DbtError."""
    outcome = scheduled.run(dbt, (), capture=True, echo=lambda _line: None)
    if outcome.build is not None and not outcome.build.success:
        raise DbtError(outcome.build.error_line())


def slowest_nodes(dbt: Dbt, count: int = 8) -> list[tuple[str, float]]:
    """The last command's slowest nodes (from run_results.json): where the time goes."""
    assert dbt.target_path is not None
    path = dbt.target_path / "run_results.json"
    nodes = json.loads(path.read_text(encoding="utf-8"))["results"]
    timings = [(str(node["unique_id"]), float(node["execution_time"])) for node in nodes]
    return sorted(timings, key=lambda item: -item[1])[:count]


# The benchmark's data: the generated data set up to BULK_END, then one new day, NEW_DAY
# (the data set's last day, about 1/150 of its sessions), appended as the daily step.
NEW_DAY = date(2019, 11, 30)
BULK_END = NEW_DAY - timedelta(1)
# The replace step's new day (the generator continues the data set past November), and the
# long-history warehouse's first day: twice the days of the default data set, 2019-05-01 on.
REPLACE_DAY = NEW_DAY + timedelta(1)
LONG_START = date(2018, 10, 1)
LONG_NEW_DAY = NEW_DAY
# The late step: every LATE_EVERY-th row of each bulk table (0.5 %, of every age, as the
# files run from the first day to the last) is held back from the bulk load and appended after
# the daily step, with conflicting copies (another channel) of every CONFLICT_EVERY-th loaded
# session's channel row: those sessions move from the marts to the quarantine.
LATE_EVERY = 200
CONFLICT_EVERY = 10_000


def hold_back(bulk: Path, late: Path) -> dict[str, int]:
    """Move every LATE_EVERY-th data row of each CSV in `bulk` into the same file in `late`,
    and add conflicting copies of some sessions left in `bulk`; return the late rows per table.

    Streams line by line (the generator writes one row a line), so memory stays flat.
    """
    late.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for path in sorted(bulk.glob("*.csv")):
        kept = path.with_suffix(".kept")
        conflicts: list[list[str]] = []
        with path.open(encoding="utf-8", newline="") as source, \
                kept.open("w", encoding="utf-8", newline="") as stay, \
                (late / path.name).open("w", encoding="utf-8", newline="") as move:
            header = source.readline()
            stay.write(header)
            move.write(header)
            counts[path.stem] = 0
            for n, line in enumerate(source):
                if n % LATE_EVERY == LATE_EVERY // 2:
                    move.write(line)
                    counts[path.stem] += 1
                    continue
                stay.write(line)
                if path.stem == "user_session_channel" and n % CONFLICT_EVERY == 1:
                    userid, sessionid, channel = next(csv.reader([line]))
                    conflicts.append([userid, sessionid,
                                      "Naver" if channel != "Naver" else "Google"])
            csv.writer(move, lineterminator="\n").writerows(conflicts)
            counts[path.stem] += len(conflicts)
        kept.replace(path)
    return counts


def concatenate(parts: list[Path], out: Path) -> Path:
    """One data set holding every row of `parts` (CSV directories with the same tables)."""
    out.mkdir(parents=True)
    for path in sorted(parts[0].glob("*.csv")):
        with (out / path.name).open("w", encoding="utf-8", newline="") as target:
            for n, part in enumerate(parts):
                with (part / path.name).open(encoding="utf-8", newline="") as source:
                    header = source.readline()
                    if n == 0:
                        target.write(header)
                    for line in source:
                        target.write(line)
    return out


def run(project_dir: Path, scale: float, workdir: Path | None = None,
        tuning: bool = False) -> Results:
    """Benchmark the project at `scale` in a throw-away warehouse (and, with `tuning`, the
    full build with each PostgreSQL setting of the warehouse's tuning left out in turn)."""
    results = Results(scale=scale)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        wh = Warehouse(root)
        os.environ.pop("WAREHOUSE_PORT", None)
        wh.up()
        try:
            bulk, day, late = root / "bulk", root / "day", root / "late"
            late_rows: dict[str, int] = {}
            timed(results, "generate", lambda: (generate(bulk, scale=scale, until=BULK_END),
                                                generate(day, scale=scale, since=NEW_DAY,
                                                         until=NEW_DAY),
                                                late_rows.update(hold_back(bulk, late))))
            results.notes.append(
                "late_load: " + ", ".join(f"{t} {n:,}" for t, n in late_rows.items() if n)
                + f" rows (every {LATE_EVERY}th row of the bulk data, any age, and conflicting "
                f"copies of every {CONFLICT_EVERY:,}th session's channel row)")
            counts: dict[str, int] = {}
            timed(results, "load", lambda: counts.update(load(wh.uri(), bulk)))
            results.rows = counts
            _execute(wh.uri(), [f"vacuum analyze {RAW_SCHEMA}.{t.name}" for t in RAW_TABLES])
            work = root / "dbt"
            dbt = Dbt(project_dir, write_profiles(work / "profiles", wh.dbt_target()).parent,
                      target_path=work / "target", log_path=work / "logs")
            with MemorySampler(wh, dbt) as memory:
                timed(results, "floor", lambda: _execute(wh.uri(), floor_statements()))
                timed(results, "peer", lambda: _execute(wh.uri(), peer_statements()), memory)
                timed(results, "parse", lambda: dbt.run("parse", "--no-partial-parse"))
                # dbt run first (after the seeds it reads): its rows are tested by the full
                # build after it, so the daily build's tests named *_in_new_rows read only the
                # new day (the steady state)
                dbt.run("seed")
                timed(results, "full_run", lambda: dbt.run("run", "--full-refresh"), memory)
                timed(results, "full_build", lambda: dbt.run(*FULL_BUILD), memory)
                results.slowest["full_build"] = slowest_nodes(dbt)
                timed(results, "daily_load", lambda: load(wh.uri(), day, append=True))
                timed(results, "daily_build", lambda: scheduled_build(dbt), memory)
                results.slowest["daily_build"] = slowest_nodes(dbt)
                timed(results, "late_load", lambda: load(wh.uri(), late, append=True))
                timed(results, "late_build", lambda: scheduled_build(dbt), memory)
                results.slowest["late_build"] = slowest_nodes(dbt)
                timed(results, "noop_build", lambda: scheduled_build(dbt), memory)
                results.slowest["noop_build"] = slowest_nodes(dbt)
                replaced = root / "replaced"
                generate(root / "next_day", scale=scale, since=REPLACE_DAY, until=REPLACE_DAY)
                concatenate([bulk, day, late, root / "next_day"], replaced)
                timed(results, "replace_load", lambda: load(wh.uri(), replaced))
                timed(results, "replace_build", lambda: scheduled_build(dbt), memory)
                results.slowest["replace_build"] = slowest_nodes(dbt)
            if tuning:
                _tuning(results, wh, dbt)
        finally:
            wh.destroy()
        _long_history(results, project_dir, root, scale)
    return results


def _long_history(results: Results, project_dir: Path, root: Path, scale: float) -> None:
    """The daily build of a warehouse with twice the history: its own warehouse, loaded with
    14 months up to the same new day, built in full, then the new day appended and built."""
    wh = Warehouse(root / "long")
    wh.up()
    try:
        bulk, day = root / "long_bulk", root / "long_day"
        # the generator spreads a scale's sessions over its days: twice the days, twice the scale
        generate(bulk, scale=2 * scale, start=LONG_START, until=BULK_END)
        generate(day, scale=2 * scale, start=LONG_START, since=LONG_NEW_DAY,
                 until=LONG_NEW_DAY)
        load(wh.uri(), bulk)
        work = root / "long_dbt"
        dbt = Dbt(project_dir, write_profiles(work / "profiles", wh.dbt_target()).parent,
                  target_path=work / "target", log_path=work / "logs")
        timed(results, "long_full_build", lambda: dbt.run(*FULL_BUILD))
        timed(results, "long_daily_load", lambda: load(wh.uri(), day, append=True))
        timed(results, "long_daily_build", lambda: scheduled_build(dbt))
        results.slowest["long_daily_build"] = slowest_nodes(dbt)
    finally:
        wh.destroy()


# What each setting of the warehouse's tuning (server.TUNING) is measured against: the
# PostgreSQL default. Session settings go through PGOPTIONS; server ones need a restart.
SESSION_DEFAULTS = {"work_mem": "4MB", "hash_mem_multiplier": "2.0",
                    "max_parallel_workers_per_gather": "0", "synchronous_commit": "on",
                    "jit": "on", "random_page_cost": "4", "effective_cache_size": "4GB"}
SERVER_DEFAULTS = {"shared_buffers": "128MB", "wal_level": "replica", "max_wal_senders": "10",
                   "max_wal_size": "1GB"}


def _tuning(results: Results, wh: Warehouse, dbt: Dbt) -> None:
    """Full builds with all tuning, then with each setting back at PostgreSQL's default."""
    def full() -> float:
        started = time.perf_counter()
        dbt.run("run", "--full-refresh")
        return time.perf_counter() - started

    results.tuning["all tuning"] = full()
    for name, value in SESSION_DEFAULTS.items():
        dbt.env = {"PGOPTIONS": f"-c {name}={value}"}
        results.tuning[f"{name} = {value} (default)"] = full()
    dbt.env = {}
    settings = [("shared_buffers",), ("wal_level", "max_wal_senders"), ("max_wal_size",)]
    for names in settings:
        _execute(wh.uri(), [f"alter system set {n} = '{SERVER_DEFAULTS[n]}'" for n in names])
        wh.down()
        wh.up()
        label = ", ".join(f"{n} = {SERVER_DEFAULTS[n]}" for n in names)
        results.tuning[f"{label} (default)"] = full()
        _execute(wh.uri(), [f"alter system reset {n}" for n in names])
        wh.down()
        wh.up()
    print("  tuning: " + ", ".join(f"{k} {v:.1f} s" for k, v in results.tuning.items()))


def _ratio_text(value: float | None) -> str:
    """Two decimals, or two significant digits below 0.01 (a small scale's peer CTAS takes
    milliseconds: peer / daily is not 0); n/a when a step did not run."""
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value >= 0.01 or value == 0 else f"{value:.2g}"


def markdown(results: Results) -> str:
    """The results as the Markdown table written to bench/RESULTS.md."""
    from importlib.metadata import version

    lines = [
        f"{SECTION}{results.scale:g}",
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
        *[f"| {name} | {_ratio_text(value)} |" for name, value in results.ratios().items()],
    ]
    if results.peak_memory:
        lines += ["", "Peak memory (PSS of the warehouse's processes and dbt together):", "",
                  "| step | GiB |", "|---|---:|",
                  *[f"| {step} | {gib:.2f} |" for step, gib in results.peak_memory.items()]]
    if results.tuning:
        base = results.tuning.get("all tuning", 0.0)
        lines += ["", "PostgreSQL tuning: `dbt run --full-refresh` with every setting of the "
                  "warehouse's tuning, then with one setting at a time back at its default:", "",
                  "| variant | seconds | vs all tuning |", "|---|---:|---:|",
                  *[f"| {variant} | {seconds:.2f} | {seconds / base:.2f}x |"
                    for variant, seconds in results.tuning.items()]]
    for step, nodes in results.slowest.items():
        lines += ["", f"Slowest nodes of {step}:", "", "| node | seconds |", "|---|---:|",
                  *[f"| {node} | {seconds:.2f} |" for node, seconds in nodes]]
    if results.notes:
        lines += ["", *[f"- {note}" for note in results.notes]]
    return "\n".join(lines) + "\n"


SECTION = "## Scale "
HEADER = """# Benchmark results

Written by `make bench SCALE=N` (`warehouse bench`), one section per scale; each section is one
run in one throw-away warehouse, so its timings compare like with like. Steps: `floor` one
aggregate pass over every raw table; `peer` the course's reports as plain `create table as` from
raw_data; `full_build` `warehouse build --full-refresh` (models, snapshots, seeds, data tests:
production's builds leave the unit tests out);
`full_run` `dbt run --full-refresh`; `daily_load` + `daily_build` one new day appended, then
`warehouse build` (dbt build of what has something new); `late_load` + `late_build` rows held
back from the bulk load (every 200th row of each table, spread over the whole history) and
conflicting copies of a few old sessions appended, then `warehouse build`; `noop_build`
`warehouse build` with nothing new; `parse` `dbt parse` alone; `replace_load` +
`replace_build` every table replaced by the rows it holds plus one more new day (a diff by
content), then `warehouse build`; `long_full_build`, `long_daily_load` +
`long_daily_build` a second warehouse with twice the history (from 2018-10-01, the same rows
per day) built in full, then one new day appended and built.
"""


def merge(existing: str, section: str, scale: float) -> str:
    """RESULTS.md with this scale's section replaced (or added), sections ordered by scale."""
    sections: dict[float, str] = {}
    for chunk in existing.split(SECTION)[1:]:
        head = chunk.split("\n", 1)[0].strip()
        try:
            sections[float(head)] = SECTION + chunk.rstrip() + "\n"
        except ValueError:
            continue
    sections[scale] = section.rstrip() + "\n"
    return HEADER + "".join("\n" + sections[key] for key in sorted(sections))


def _memory_gib() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 0.0
    return pages / 2**30


def _pg_version() -> str:
    from warehouse.server import _binary_major_version

    return _binary_major_version()
