"""The benchmark runs end to end at scale 0.1 and writes every timing and ratio; its late rows
are spread over the whole history, and one conflicts with a loaded session. (Scale 10 and 100
are `make bench SCALE=N` runs, recorded in bench/RESULTS.md; a scale-1 run here cost CI three
minutes, scale 0.25 two and a half, for no more coverage. A ratio below 0.01 prints with two
significant digits, not as 0.00.)

Timings are measured, not asserted: this test checks that each step ran and was recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.bench import (
    CONFLICT_EVERY,
    LATE_EVERY,
    SECTION,
    Results,
    floor_statements,
    hold_back,
    markdown,
    merge,
)
from warehouse.cli import main
from warehouse.generator import generate
from warehouse.schema import RAW_TABLES

STEPS = ("generate", "load", "floor", "peer", "parse", "full_build", "full_run", "daily_load",
         "daily_build", "late_load", "late_build", "noop_build", "replace_load", "replace_build",
         "long_full_build", "long_daily_load", "long_daily_build")
RATIOS = ("full / floor", "full / peer", "daily / full", "peer / daily", "late / full",
          "no-op / parse", "replace daily / daily", "daily, 14 months / 7 months")


def test_floor_reads_every_column_of_every_raw_table() -> None:
    statements = floor_statements()
    assert len(statements) == len(RAW_TABLES)
    for table, sql in zip(RAW_TABLES, statements, strict=True):
        assert f"raw_data.{table.name}" in sql
        assert all(f"count({column})" in sql for column in table.column_names)


def _rows(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_late_rows_are_held_back_from_every_month_and_conflict_with_loaded_sessions(
        tmp_path: Path) -> None:
    bulk, late = tmp_path / "bulk", tmp_path / "late"
    generate(bulk, scale=0.2)
    before = {path.stem: _rows(path) for path in bulk.glob("*.csv")}
    counts, seen = hold_back(bulk, late), 0
    for name, (header, *rows) in before.items():
        kept, moved = _rows(bulk / f"{name}.csv"), _rows(late / f"{name}.csv")
        assert kept[0] == moved[0] == header
        held = [row for n, row in enumerate(rows) if n % LATE_EVERY == LATE_EVERY // 2]
        conflicts = [row for n, row in enumerate(rows)
                     if name == "user_session_channel" and n % CONFLICT_EVERY == 1]
        assert moved[1:len(held) + 1] == held
        assert sorted(kept[1:] + held) == sorted(rows)  # nothing lost, nothing copied
        assert counts[name] == len(moved) - 1 == len(held) + len(conflicts)
        for old, new in zip(conflicts, moved[len(held) + 1:], strict=True):
            assert old in kept  # a session the bulk load keeps, with another channel
            (user, session, channel), (new_user, new_session, new_channel) = (
                old.split(","), new.split(","))
            assert (new_user, new_session) == (user, session) and new_channel != channel
        seen += len(conflicts)
    assert seen >= 2  # the data set is large enough to hold conflicting copies
    months = {row.split(",")[1][:7] for row in _rows(late / "session_timestamp.csv")[1:]}
    assert months == {f"2019-{m:02d}" for m in range(5, 12)}  # late rows of every age


def test_results_file_keeps_one_section_per_scale() -> None:
    one = markdown(Results(scale=1, seconds={"floor": 1.0, "full_build": 5.0}))
    ten = markdown(Results(scale=10, seconds={"floor": 2.0, "full_build": 50.0}))
    text = merge(merge(merge("", ten, 10), one, 1), one.replace("5.00", "6.00"), 1)
    assert text.count(SECTION) == 2
    assert text.index(f"{SECTION}1\n") < text.index(f"{SECTION}10\n")
    assert "| full / floor | 6.00 |" in text and "| full / floor | 25.00 |" in text
    assert "| full / floor | 5.00 |" not in text  # the older scale-1 run was replaced
    assert "| n/a |" in text  # a ratio whose steps did not run
    tiny = markdown(Results(scale=0.1, seconds={"peer": 0.004, "daily_build": 8.0}))
    assert "| peer / daily | 0.0005 |" in tiny


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("scale", ["0.1"])
def test_bench_runs_every_step(tmp_path: Path, scale: str) -> None:
    out = tmp_path / "RESULTS.md"
    result = CliRunner().invoke(main, ["bench", "--scale", scale, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert f"{SECTION}{scale}\n" in text
    for step in STEPS:
        assert f"| {step} | " in text, step
    for ratio in RATIOS:
        line = next(line for line in text.splitlines() if line.startswith(f"| {ratio} |"))
        assert float(line.split("|")[2]) > 0, line
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip()
            for line in text.splitlines() if line.startswith("| ")}
    sessions = int(rows["user_session_channel"].replace(",", ""))
    assert sessions > 99_000 * float(scale) * 0.95  # everything but the new day
    assert "| full_build | " in text.split("Peak memory")[1]  # sampled during the build
    for step in ("full_build", "daily_build", "late_build", "replace_build", "long_daily_build"):
        assert f"Slowest nodes of {step}" in text, step
    assert "- late_load: " in text
