"""Code changes reach the data, and nothing goes stale (red-team cases 8 and 9): after a change
to an incremental model's SQL, a plain `dbt build` leaves every mart as a `--full-refresh` of
the changed project would; a model that reads the clock is rebuilt on every run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.dbt import Dbt
from warehouse.generator import generate
from warehouse.loader import load

from .conftest import DbtProject, assert_same_rows
from .test_load_order_properties import NOT_COMPARED
from .test_test_meaning import project_copy

pytestmark = pytest.mark.e2e

# The reconciliation recounts paying users from staging by the contract's rule (amount > 0):
# the changed rule below disagrees with it, as it should.
BUILD = ("build", "--exclude", "test_type:unit",
         "assert_channel_monthly_summary_agrees_with_staging")
PAID = "gross_amount > 0 as is_paid"


def loaded_copy(dbt_project: DbtProject, tmp_path: Path, *, scale: float,
                seed: int) -> tuple[Path, Dbt]:
    """A generated data set loaded into the test's warehouse, and a copy of the project."""
    data = tmp_path / "data"
    generate(data, scale=scale, seed=seed)
    load(dbt_project.warehouse.uri(), data)
    return project_copy(dbt_project, tmp_path)


def test_a_logic_change_rebuilds_the_model_and_what_reads_it(dbt_project: DbtProject,
                                                             tmp_path: Path) -> None:
    project, runner = loaded_copy(dbt_project, tmp_path, scale=0.05, seed=17)
    runner.run(*BUILD, "--full-refresh")
    before = dbt_project.table_rows(exclude=NOT_COMPARED)

    # conversions only from 100 up: an incremental model's logic, three layers below the marts
    model = project / "models" / "intermediate" / "int_sessions_joined.sql"
    text = model.read_text()
    assert text.count(PAID) == 1 and text.count("gross_amount > 0 and not is_refunded") == 1
    model.write_text(text.replace(PAID, "gross_amount >= 100 as is_paid").replace(
        "gross_amount > 0 and not is_refunded", "gross_amount >= 100 and not is_refunded"))
    result = runner.run(*BUILD, check=False)
    assert result.success, result.output[-3000:]
    after = dbt_project.table_rows(exclude=NOT_COMPARED)
    assert after["fct_sessions"] != before["fct_sessions"]
    runner.run(*BUILD, "--full-refresh")
    assert_same_rows(dbt_project.table_rows(exclude=NOT_COMPARED), after)


def test_a_model_reading_the_clock_is_rebuilt_every_run(dbt_project: DbtProject,
                                                        tmp_path: Path) -> None:
    project, runner = loaded_copy(dbt_project, tmp_path, scale=0.01, seed=19)
    (project / "models" / "marts" / "build_day.sql").write_text(
        "{{ config(contract={'enforced': false}) }}\n"
        "select cast(current_date as date) as built_on, count(*) as channels\n"
        "from {{ ref('dim_channels') }}\n")
    runner.run("build", "--select", "+build_day", "--exclude", "resource_type:test",
               "resource_type:unit_test")
    for _ in range(2):
        result = runner.run("run", "--select", "build_day")
        line = next(line for line in result.output.splitlines()
                    if "model analytics.build_day" in line and " OK " in line)
        assert "NO-OP" not in line, line
    # a table over the same inputs that does not read the clock is kept
    result = runner.run("run", "--select", "dim_channels")
    assert "NO-OP (inputs unchanged)" in next(
        line for line in result.output.splitlines() if "model analytics.dim_channels" in line
        and " OK " in line)
