"""Slim CI sees a var change (no warehouse needed): dbt 1.11's state:modified does not, so the
models that read a var whose value differs from production's are selected too. (End to end:
test_ci_checks.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from warehouse.slim_ci import build_args, changed_vars, models_reading_changed_vars, var_readers


def test_a_changed_var_selects_the_models_that_read_it_however_deep() -> None:
    manifest = {
        "macros": {
            "macro.elt.lookback": {"macro_sql": "{{ return(var('lookback_days')) }}",
                                   "depends_on": {"macros": []}},
            "macro.elt.seconds": {"macro_sql": "{{ return(lookback() * 86400) }}",
                                  "depends_on": {"macros": ["macro.elt.lookback"]}},
            "macro.elt.other": {"macro_sql": "{{ var(\"half_life\") }}",
                                "depends_on": {"macros": []}},
        },
        "nodes": {
            "model.elt.weights": {"resource_type": "model", "name": "weights", "raw_code": "x",
                                  "depends_on": {"macros": ["macro.elt.seconds"]}},
            "model.elt.direct": {"resource_type": "model", "name": "direct",
                                 "raw_code": "where d <= {{ var( 'lookback_days' ) }}",
                                 "depends_on": {"macros": []}},
            "model.elt.decay": {"resource_type": "model", "name": "decay", "raw_code": "x",
                                "depends_on": {"macros": ["macro.elt.other"]}},
            "model.elt.lookback_days_doc": {"resource_type": "model", "name": "lookback_days_doc",
                                            "raw_code": "-- lookback_days", "depends_on": {}},
            "test.elt.t": {"resource_type": "test", "name": "t",
                           "raw_code": "{{ var('lookback_days') }}", "depends_on": {}},
        },
    }
    assert var_readers(manifest, ["lookback_days"]) == ["direct", "weights"]
    assert var_readers(manifest, ["lookback_days", "half_life"]) == ["decay", "direct", "weights"]
    assert var_readers(manifest, []) == []
    assert changed_vars({"a": 1, "b": [1, 2], "c": 3}, {"a": 1, "b": [1, 3], "d": 4}) == [
        "b", "c", "d"]


def test_slim_ci_adds_the_readers_of_the_vars_production_had_otherwise(tmp_path: Path) -> None:
    state, project = tmp_path / "state", tmp_path / "project"
    state.mkdir()
    (state / "manifest.json").write_text(json.dumps({"macros": {}, "nodes": {
        "model.elt.m": {"resource_type": "model", "name": "m",
                        "raw_code": "{{ var('lookback_days') }}", "depends_on": {}}}}))
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: elt\nvars:\n  lookback_days: 7\n")
    # Without production's dbt_project.yml, nothing can be compared.
    assert models_reading_changed_vars(project, state) == ([], [])
    (state / "dbt_project.yml").write_text("name: elt\nvars:\n  lookback_days: 30\n")
    assert models_reading_changed_vars(project, state) == (["lookback_days"], ["m"])
    assert build_args(state, ["m"])[:4] == ["build", "--select", "state:modified+", "m+"]
    (state / "dbt_project.yml").write_text("name: elt\nvars:\n  lookback_days: 7\n")
    assert models_reading_changed_vars(project, state) == ([], [])
