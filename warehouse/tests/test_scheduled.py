"""What the scheduled build (`warehouse build`) selects, decided from a state made by hand:
raw.a -> base_a (incremental) -> stg_a (view) -> mart (table) <- stg_b <- base_b <- raw.b,
with a seed the mart reads and a test on the mart. The same rules run against a warehouse in
test_load_order_cases.py, test_load_ids.py and the property test."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from warehouse.dbt import DbtError
from warehouse.scheduled import (
    Build,
    LastResult,
    Node,
    RawTable,
    State,
    check_args,
    check_build_options,
    parse_state,
    production_args,
    project_dir_option,
    select,
    selectors,
    shared_args,
    summary,
)

RAW = {"source.elt.raw_data.a": "raw_data.a", "source.elt.raw_data.b": "raw_data.b"}


def _node(name: str, kind: str, materialized: str, *parents: str, clock: bool = False) -> Node:
    schema = "dbt_test__audit" if kind == "test" else "analytics"
    return Node(id=f"{kind}.elt.{name}", name=name, type=kind, materialized=materialized,
                relation=f"{schema}.{name}", parents=parents, fingerprint=f"code-{name}",
                reads_clock=clock)


NODES = [
    _node("base_a", "model", "incremental", "source.elt.raw_data.a"),
    _node("base_b", "model", "incremental", "source.elt.raw_data.b"),
    _node("stg_a", "model", "view", "model.elt.base_a"),
    _node("stg_b", "model", "view", "model.elt.base_b"),
    _node("groups", "seed", "seed"),
    _node("mart", "model", "table", "model.elt.stg_a", "model.elt.stg_b", "seed.elt.groups"),
    _node("unique_mart_id", "test", "test", "model.elt.mart"),
]


def built_state(**changes: object) -> State:
    """Every node built in run 5 up to load 10, nothing new since."""
    state = State(
        nodes={node.id: node for node in NODES},
        sources=RAW,
        relations=frozenset(node.relation for node in NODES if node.type != "test"),
        builds={node.id: Build(node.fingerprint, 5, 10) for node in NODES if node.type != "test"},
        tests={"unique_mart_id": LastResult("pass", "code-unique_mart_id")},
        raw_tables={"raw_data.a": RawTable(10, False, 10, None),
                    "raw_data.b": RawTable(9, False, 9, None)},
    )
    return replace(state, **changes)  # type: ignore[arg-type]


def names(selected: dict[str, str]) -> set[str]:
    return {node_id.split(".")[-1] for node_id in selected}


def test_nothing_new_selects_nothing() -> None:
    assert select(built_state()) == {}


def test_a_first_build_selects_everything_in_build_order() -> None:
    selected = select(built_state(builds={}, tests={}))
    order = list(selected)
    assert names(selected) == {node.name for node in NODES}
    assert order.index("model.elt.base_a") < order.index("model.elt.stg_a") \
        < order.index("model.elt.mart")
    assert selected["test.elt.unique_mart_id"] == "never ran"


def test_a_load_of_one_table_selects_what_reads_it() -> None:
    raw = {**built_state().raw_tables, "raw_data.a": RawTable(11, False, 11, None)}
    selected = select(built_state(raw_tables=raw))
    assert names(selected) == {"base_a", "stg_a", "mart"}
    assert "load 11" in selected["model.elt.base_a"]
    assert selected["model.elt.mart"] == "stg_a is rebuilt"


def test_a_load_whose_rows_are_gone_is_not_new() -> None:
    # load 12 added rows to b that a later replace removed: the newest rows are of load 10
    raw = {**built_state().raw_tables, "raw_data.b": RawTable(9, False, 12, None)}
    assert select(built_state(raw_tables=raw)) == {}


def test_a_load_processed_by_one_reader_only_selects_the_other() -> None:
    builds = {**built_state().builds, "model.elt.base_b": Build("code-base_b", 6, 11)}
    raw = {**built_state().raw_tables, "raw_data.b": RawTable(11, False, 11, None)}
    state = built_state(builds=builds, raw_tables=raw)
    selected = select(state)
    # base_b processed load 11 in run 6 (a --select run): stg_b and the mart are behind it
    assert names(selected) == {"stg_b", "mart"}
    assert selected["model.elt.stg_b"] == "base_b was rebuilt after it"
    # said, since base_b is not rebuilt now; the mart follows stg_b, which is
    assert summary(state, selected)[1:] == ["  stg_b: base_b was rebuilt after it"]


@pytest.mark.parametrize("table", [RawTable(10, True, 10, None), RawTable(10, False, 10, 6)])
def test_rows_removed_or_changed_select_the_readers(table: RawTable) -> None:
    selected = select(built_state(raw_tables={**built_state().raw_tables, "raw_data.a": table}))
    assert names(selected) == {"base_a", "stg_a", "mart"}
    assert "removed or changed" in selected["model.elt.base_a"]


def test_a_rewrite_seen_before_the_last_build_is_not_new() -> None:
    raw = {**built_state().raw_tables, "raw_data.a": RawTable(10, False, 10, 5)}
    assert select(built_state(raw_tables=raw)) == {}


def test_changed_code_selects_the_node_and_what_reads_it() -> None:
    nodes = {**built_state().nodes}
    nodes["model.elt.stg_b"] = replace(nodes["model.elt.stg_b"], fingerprint="new")
    selected = select(built_state(nodes=nodes))
    assert names(selected) == {"stg_b", "mart"}
    assert selected["model.elt.stg_b"] == "its code, config or vars changed"


def test_a_changed_seed_selects_its_readers() -> None:
    nodes = {**built_state().nodes}
    nodes["seed.elt.groups"] = replace(nodes["seed.elt.groups"], fingerprint="new rows")
    assert names(select(built_state(nodes=nodes))) == {"groups", "mart"}


def test_a_reader_of_a_source_without_a_load_log_is_selected_every_time() -> None:
    nodes = {**built_state().nodes}
    nodes["model.elt.crm"] = _node("crm", "model", "table", "source.elt.crm.accounts")
    state = built_state(nodes=nodes, sources={**RAW, "source.elt.crm.accounts": "crm.accounts"},
                        builds={**built_state().builds, "model.elt.crm": Build("code-crm", 5, 10)},
                        relations=built_state().relations | {"analytics.crm"})
    why = "crm.accounts has no load log: read anew on every build"
    assert select(state) == {"model.elt.crm": why}


def test_a_clock_reader_is_selected_every_time() -> None:
    nodes = {**built_state().nodes}
    nodes["model.elt.mart"] = replace(nodes["model.elt.mart"], reads_clock=True)
    assert select(built_state(nodes=nodes)) == {"model.elt.mart": "it reads the clock"}


@pytest.mark.parametrize("relations, why", [
    ({"analytics.base_a", "analytics.base_b", "analytics.stg_a", "analytics.stg_b",
      "analytics.groups"}, "analytics.mart is missing"),
    ({node.relation for node in NODES} | {"analytics.mart__dbt_backup"},
     "a killed build left analytics.mart__dbt_backup"),
])
def test_a_missing_relation_or_a_killed_builds_leftover_selects_it(relations: set[str],
                                                                   why: str) -> None:
    assert select(built_state(relations=frozenset(relations))) == {"model.elt.mart": why}


@pytest.mark.parametrize("result, why", [
    (LastResult("fail", "code-unique_mart_id"), "its last result was fail"),
    (LastResult("error", "code-unique_mart_id"), "its last result was error"),
    (LastResult("pass", "older"), "its definition changed"),
    (LastResult("killed", "code-unique_mart_id"),
     "its last run ended before its result was recorded"),
    (None, "never ran"),
])
def test_a_test_runs_on_its_own_until_it_passes(result: LastResult | None, why: str) -> None:
    tests = {"unique_mart_id": result} if result is not None else {}
    assert select(built_state(tests=tests)) == {"test.elt.unique_mart_id": why}


def test_a_warning_with_nothing_new_is_not_rerun() -> None:
    warned = LastResult("warn", "code-unique_mart_id")
    assert select(built_state(tests={"unique_mart_id": warned})) == {}


def test_the_summary_names_the_causes_and_the_selectors_the_nodes() -> None:
    raw = {**built_state().raw_tables, "raw_data.a": RawTable(11, False, 11, None)}
    state = built_state(raw_tables=raw)
    selected = select(state)
    lines = summary(state, selected)
    assert lines[0] == ("warehouse build: 3 of 6 models, seeds and snapshots selected, "
                        "3 unchanged and not built")
    assert lines[1:] == ["  base_a: raw_data.a has rows of load 11, it was built up to load 10"]
    assert selectors(state, selected) == ["fqn:base_a", "fqn:mart", "fqn:stg_a"]


def test_many_nodes_selected_for_one_reason_are_one_line() -> None:
    state = built_state(builds={}, tests={})
    lines = summary(state, select(state))
    assert lines[1:] == ["  6 nodes: never built (base_a, base_b, groups, ...)",
                         "  unique_mart_id: never ran"]


def test_the_state_line_is_read_among_dbts_output() -> None:
    raw = {"nodes": {"model.elt.x": {"name": "x", "type": "model", "materialized": "table",
                                     "relation": "analytics.x", "parents": [],
                                     "fingerprint": "f", "reads_clock": False}},
           "sources": {}, "relations": ["analytics.x"],
           "builds": {"model.elt.x": {"fingerprint": "f", "run_id": 3, "loaded_until": None}},
           "tests": {}, "raw_tables": {}}
    state = parse_state("12:00:00  Running with dbt=1.11\nscheduled_build_state: "
                        + json.dumps(raw) + "\n")
    assert state.builds["model.elt.x"] == Build("f", 3, None)
    assert select(state) == {}
    with pytest.raises(DbtError, match="printed no state"):
        parse_state("12:00:00  Encountered an error")
    gone = {**raw, "missing_raw_tables": ["nps", "_loads"]}
    with pytest.raises(DbtError, match="raw_data has no table nps, _loads: load the raw data"):
        parse_state("scheduled_build_state: " + json.dumps(gone))


@pytest.mark.parametrize("args", [("--select", "mart"), ("-s", "mart"), ("--selector=daily",),
                                  ("--target", "prod", "-m", "mart")])
def test_a_selection_is_refused_in_one_line(args: tuple[str, ...]) -> None:
    with pytest.raises(DbtError, match="selects what has something new itself"):
        check_args(args)


def test_the_state_is_read_with_the_builds_target_and_vars() -> None:
    check_args(("--exclude", "test_type:unit", "--full-refresh"))
    assert shared_args(("--target", "prod", "--exclude", "x", "--vars={a: 1}", "--threads", "8",
                        "--profiles-dir", "/p")) == ["--target", "prod", "--vars={a: 1}",
                                                      "--profiles-dir", "/p"]


def test_build_options_are_checked_as_dbt_build_would() -> None:
    check_build_options(["--exclude", "test_type:unit", "--vars", "{a: 1}", "--target", "dev"])
    with pytest.raises(DbtError, match="No such option '--exlcude'. Did you mean '--exclude'"):
        check_build_options(["--exlcude", "x"])
    with pytest.raises(DbtError, match="'--threads': 'many' is not a valid integer"):
        check_build_options(["--threads", "many"])


def test_a_project_dir_given_goes_to_the_runner() -> None:
    assert project_dir_option(["--target", "prod"]) == (None, ["--target", "prod"])
    assert project_dir_option(["--project-dir", "/a", "--exclude", "x", "--project-dir=/b"]) == (
        Path("/b"), ["--exclude", "x"])


def test_production_builds_leave_the_unit_tests_out_unless_resource_types_are_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_RESOURCE_TYPES", raising=False)
    monkeypatch.delenv("DBT_EXCLUDE_RESOURCE_TYPES", raising=False)
    assert production_args(["--target", "prod"]) == [
        "--target", "prod", "--exclude-resource-type", "unit_test"]
    for named in (["--resource-type", "unit_test"], ["--exclude-resource-type=seed"]):
        assert production_args(named) == named
    monkeypatch.setenv("DBT_RESOURCE_TYPES", "model unit_test")
    assert production_args([]) == []
