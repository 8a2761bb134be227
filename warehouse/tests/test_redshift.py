"""Redshift readiness: the unsupported-construct scanner, and the project compiled for Redshift."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.redshift import compile_for_redshift, lint_compiled, scan, scan_sql

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("select distinct on (a) a from t", "DISTINCT ON"),
        ("select count(*) filter (where a > 1) from t", "FILTER (WHERE ...)"),
        ("select string_agg(a, ',') from t", "string_agg"),
        ("select array_agg(a) from t", "array_agg"),
        ("select * from generate_series(1, 3)", "generate_series"),
        ("select a::jsonb from t", "jsonb"),
        ("insert into t values (1) on conflict do nothing", "ON CONFLICT"),
        ("select a is distinct from b from t", "IS DISTINCT FROM"),
        ("select * from t cross join lateral (select 1) as x", "LATERAL"),
        (
            "select sum(a) over (partition by b order by c) from t",
            "a window aggregate with ORDER BY and no explicit frame",
        ),
    ],
)
def test_scanner_finds_each_unsupported_construct(sql: str, construct: str) -> None:
    assert [finding.construct for finding in scan_sql(sql)] == [construct]


@pytest.mark.parametrize(
    "sql",
    [
        "select sum(a) over (partition by b order by c"
        " rows between unbounded preceding and current row) from t",
        "select row_number() over (partition by b order by c) from t",
        "select count(*) over (partition by b) from t",
        "-- string_agg in a comment is fine\nselect 1",
        "select listagg(a, ',') within group (order by a) from t",
    ],
)
def test_scanner_accepts_portable_sql(sql: str) -> None:
    assert scan_sql(sql) == []


def test_scanner_reports_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "m.sql").write_text("select 1\nfrom t\nwhere a is not distinct from b\n")
    [finding] = scan(tmp_path)
    assert str(finding) == f"{tmp_path / 'm.sql'}:3: IS DISTINCT FROM is not supported by Redshift"


@pytest.mark.e2e
def test_every_node_compiles_for_redshift_and_lints_clean(tmp_path: Path) -> None:
    compiled = compile_for_redshift(ROOT, tmp_path / "target")
    models = list((compiled / "elt" / "models").rglob("*.sql"))
    assert len(models) > 20
    assert scan(compiled) == []
    status, report = lint_compiled(compiled, ROOT / ".sqlfluff")
    assert status == 0, report
