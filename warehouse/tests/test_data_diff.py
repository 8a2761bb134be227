"""The data diff's pieces that need no warehouse: which marts slim CI changed, and how moved
credit is ranked and shown. (End to end against a warehouse: test_ci_checks.py.)"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from warehouse.data_diff import (
    ChangedMart,
    CreditMove,
    DataDiffError,
    MartDiff,
    Relation,
    changed_marts,
    markdown,
    relative_change,
    run,
)

D = Decimal
GRAIN = ("month", "channel", "attribution_model")
CREDIT = ("attributed_conversions", "attributed_revenue")


def model(name: str, folder: str, schema: str = "analytics", **extra: Any) -> dict[str, Any]:
    return {"resource_type": "model", "name": name, "alias": name, "schema": schema,
            "fqn": ["elt", folder, "x", name], **extra}


def grain_test(attached: str, columns: list[str]) -> dict[str, Any]:
    return {"resource_type": "test", "attached_node": attached,
            "test_metadata": {"name": "unique_combination_of_columns",
                              "kwargs": {"combination_of_columns": columns}}}


def write(directory: Path, name: str, content: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(content))


def test_the_changed_marts_are_those_slim_ci_built_with_productions_relations(
        tmp_path: Path) -> None:
    ci, state = tmp_path / "ci", tmp_path / "state"
    write(ci, "manifest.json", {"nodes": {
        "model.elt.attribution": model("attribution", "marts", "pr_3_analytics"),
        "model.elt.brand_new": model("brand_new", "marts", "pr_3_analytics"),
        "model.elt.int_step": model("int_step", "intermediate", "pr_3_staging"),
        "model.elt.not_built": model("not_built", "marts", "pr_3_analytics"),
        "model.elt.failed": model("failed", "marts", "pr_3_analytics"),
        "test.elt.grain": grain_test("model.elt.attribution", list(GRAIN)),
    }})
    write(ci, "run_results.json", {"results": [
        {"unique_id": uid, "status": status} for uid, status in (
            ("model.elt.attribution", "success"), ("model.elt.brand_new", "success"),
            ("model.elt.int_step", "success"), ("model.elt.failed", "error"),
            ("test.elt.grain", "pass"))]})
    # Without a production manifest, production's schema is the CI schema without its prefix.
    marts, removed = changed_marts(ci, state, "pr_3")
    assert marts == [
        ChangedMart("attribution", Relation("pr_3_analytics", "attribution"),
                    Relation("analytics", "attribution"), GRAIN),
        ChangedMart("brand_new", Relation("pr_3_analytics", "brand_new"),
                    Relation("analytics", "brand_new")),
    ]
    assert removed == []
    # With one, its relation names production's mart; a mart it has that the change lacks is
    # reported as removed.
    write(state, "manifest.json", {"nodes": {
        "model.elt.attribution": model("attribution", "marts", "prod_marts"),
        "model.elt.retired": model("retired", "marts"),
        "model.elt.int_old": model("int_old", "intermediate"),
    }})
    marts, removed = changed_marts(ci, state, "pr_3")
    assert marts[0].before == Relation("prod_marts", "attribution")
    assert marts[1].before == Relation("analytics", "brand_new")
    assert removed == ["retired"]


def test_without_a_slim_build_the_diff_says_so_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataDiffError, match=r"run_results.json not found: run slim CI first"):
        write(tmp_path, "manifest.json", {"nodes": {}})
        changed_marts(tmp_path, tmp_path / "state", "pr_1")


def test_relative_change() -> None:
    assert relative_change(D(4), D(5)) == 0.25
    assert relative_change(D(4), D(2)) == 0.5
    assert relative_change(D(-2), D(-1)) == 0.5
    assert relative_change(D(0), D(0)) == 0
    assert relative_change(D(0), D("0.001")) == math.inf
    assert CreditMove(("k",), (D(10), D(100)), (D(10), D(150))).change == 0.5  # the larger


def attribution(*moves: CreditMove, rows: int = 100) -> MartDiff:
    mart = ChangedMart("channel_attribution_monthly",
                       Relation("pr_1_analytics", "channel_attribution_monthly"),
                       Relation("analytics", "channel_attribution_monthly"), GRAIN)
    return MartDiff(mart, rows_after=rows, rows_before=rows, only_before=len(moves),
                    only_after=len(moves), credit_columns=CREDIT,
                    moves=list(moves))


def row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_moved_credit_is_listed_largest_first_above_the_threshold_and_capped() -> None:
    moves = [
        CreditMove(("2019-05-01", "Google", "linear"), (D(10), D(1000)), (D("10.05"), D(1005))),
        CreditMove(("2019-05-01", "Naver", "linear"), (D(10), D(1000)), (D(12), D(1100))),
        CreditMove(("2019-06-01", "Naver", "markov"), (D(0), D(0)), (D(2), D(90)), "new"),
        CreditMove(("2019-06-01", "Youtube", "markov"), (D(3), D(300)), (D(0), D(0)), "gone"),
        CreditMove(("2019-07-01", "Organic", "first_touch"), (D(4), D(400)), (D(3), D(500))),
        CreditMove(("2019-07-01", "Kakao", "linear"), (D(0), D(0)), (D(1), D(5))),
    ]
    report = markdown([attribution(*moves)], [], schema="pr_1", threshold=1, limit=3)
    header = "| month | channel | attribution_model | attributed_conversions: before → after " \
             "(change) | attributed_revenue: before → after (change) |"
    table = report[report.index(header):].splitlines()[2:]
    # 0.5% is under the threshold; new and from-0 rows are infinite moves, ahead of -100%.
    assert "5 row(s) of (month, channel, attribution_model) moved, largest first; 3 shown, " \
           "2 more not shown (1 more moved by 1% or less)." in report
    assert [row(line) for line in table] == [
        ["2019-06-01", "Naver", "markov", "0.00 → 2.00 (new)", "0.00 → 90.00 (new)"],
        ["2019-07-01", "Kakao", "linear", "0.00 → 1.00 (from 0)", "0.00 → 5.00 (from 0)"],
        ["2019-06-01", "Youtube", "markov", "3.00 → 0.00 (-100.0%)", "300.00 → 0.00 (-100.0%)"],
    ]
    everything = markdown([attribution(*moves)], [], schema="pr_1", threshold=1, limit=10)
    table = everything[everything.index(header):].splitlines()[2:]
    assert [row(line)[1] for line in table] == ["Naver", "Kakao", "Youtube", "Organic", "Naver"]
    assert row(table[-2])[3:] == ["4.00 → 3.00 (-25.0%)", "400.00 → 500.00 (+25.0%)"]
    assert row(table[-1])[3:] == ["10.00 → 12.00 (+20.0%)", "1,000.00 → 1,100.00 (+10.0%)"]
    # The threshold is a flag: at 30% only the infinite and -100% moves remain.
    assert "3 row(s) of (month" in markdown([attribution(*moves)], [], schema="pr_1",
                                            threshold=30, limit=10)


def test_identical_marts_and_nothing_built_say_so() -> None:
    same = attribution(rows=252)
    other = MartDiff(ChangedMart("nps_monthly", Relation("pr_1_analytics", "nps_monthly"),
                                 Relation("analytics", "nps_monthly")), 12, 12)
    report = markdown([same, other], [], schema="pr_1", threshold=1, limit=20)
    assert "2 mart(s) built by this change; **all identical to production** (same row " \
           "counts, no row differs)." in report
    assert "| `channel_attribution_monthly` | 252 | 252 | 0 | 0 |" in report
    assert "No row of (month, channel, attribution_model) moved by more than 1%." in report
    assert "nps_monthly` | 12 | 12 | 0 | 0 |" in report and "### `nps_monthly`" not in report
    assert "Slim CI built no mart" in markdown([], [], schema="pr_1", threshold=1, limit=20)
    assert "> No production manifest" not in report


def test_without_a_production_manifest_the_diff_says_what_it_compared_with(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ci = tmp_path / "ci"
    write(ci, "manifest.json", {"nodes": {}})
    write(ci, "run_results.json", {"results": []})
    monkeypatch.setattr("warehouse.data_diff.diff", lambda uri, marts: [])
    report = run("postgresql://unused", ci, tmp_path / "prod-state", "pr_1")
    assert f"> No production manifest in `{tmp_path / 'prod-state'}`: slim CI built " \
           "everything, and production is taken to be the same relations without the `pr_1_` " \
           "prefix, as they are now." in report
    write(tmp_path / "prod-state", "manifest.json", {"nodes": {}})
    assert "No production manifest" not in run("postgresql://unused", ci,
                                                tmp_path / "prod-state", "pr_1")


def test_new_marts_changed_counts_columns_and_removed_marts_are_reported() -> None:
    new = MartDiff(ChangedMart("brand_new", Relation("pr_1_analytics", "brand_new"),
                               Relation("analytics", "brand_new")), 40, None, only_after=40)
    grown = MartDiff(ChangedMart("dim_users", Relation("pr_1_analytics", "dim_users"),
                                 Relation("analytics", "dim_users")), 50, 48, only_before=3,
                     only_after=5, columns_added=["ltv"], columns_retyped=["age"])
    report = markdown([new, grown], ["retired"], schema="pr_1", threshold=1, limit=20)
    assert "2 mart(s) built by this change; **2 differ from production.**" in report
    assert "| `brand_new` | — | 40 (new) | 0 | 40 |" in report
    assert "| `dim_users` | 48 | 50 (+2) | 3 | 5 |" in report
    assert "`dim_users`: columns added: `ltv`" in report
    assert "`dim_users`: columns with another type: `age`" in report
    assert "Marts in production that this change removes: `retired`" in report
