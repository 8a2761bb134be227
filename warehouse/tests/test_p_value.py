"""The p-value macro against Python's math.erfc over a range of z (Redshift has no erf).

`normal_two_sided_p_value(z)` is compiled by dbt (`dbt compile --inline`) and evaluated by the
warehouse on z from -40 to 40 in steps of 0.01 plus the edges of its branches; every value must
be within 1e-7 of erfc(|z| / sqrt 2), absolute and (where the p-value exceeds 1e-12) relative.
"""

from __future__ import annotations

import math

import pytest

from .conftest import DbtProject

pytestmark = pytest.mark.e2e

Z_VALUES = [i / 100 for i in range(-4000, 4001)] + [7.0710678, 7.0710679, 36.999, 37.001, 1e6]


@pytest.fixture(scope="module")
def p_value_sql(dbt_project: DbtProject) -> str:
    """The macro's SQL expression of a column `z`."""
    compiled = dbt_project.dbt(
        "--quiet", "compile", "--inline", "select {{ normal_two_sided_p_value('z') }} as p_value"
    ).stdout.strip()
    assert compiled.startswith("select ") and compiled.endswith(" as p_value"), compiled
    return compiled.removeprefix("select ").removesuffix(" as p_value")


def test_p_value_macro_matches_erfc(dbt_project: DbtProject, p_value_sql: str) -> None:
    rows = dbt_project.query(
        f"select z, {p_value_sql} from unnest(%s::double precision[]) as t (z)", (Z_VALUES,)
    )
    assert len(rows) == len(Z_VALUES)
    worst_abs, worst_rel = 0.0, 0.0
    for z, p_value in rows:
        expected = math.erfc(abs(z) / math.sqrt(2))
        worst_abs = max(worst_abs, abs(p_value - expected))
        if expected > 1e-12:
            worst_rel = max(worst_rel, abs(p_value - expected) / expected)
    assert worst_abs < 1e-7, f"worst absolute error {worst_abs}"
    assert worst_rel < 1e-7, f"worst relative error {worst_rel}"


def test_p_value_is_one_at_zero_and_null_for_null(
    dbt_project: DbtProject, p_value_sql: str
) -> None:
    rows = dbt_project.query(
        f"select z, {p_value_sql} from (values (0.0::double precision), (null)) as t (z)"
    )
    assert sorted(rows, key=lambda row: row[0] is None) == [(0.0, 1.0), (None, None)]
