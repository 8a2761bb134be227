"""Redshift readiness without a cluster: compile with the Redshift adapter and check the SQL.

`compile_for_redshift` runs `dbt compile` against a `redshift` target whose host is never
contacted: `RedshiftAdapter.get_relation` is patched to answer "a table exists", so
incremental models compile their incremental branch with Redshift's own macros. `scan` then
rejects constructs Redshift lacks in the compiled SQL.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from warehouse.dbt import STANDIN_ENV, Dbt, redshift_target, write_profiles

# Constructs PostgreSQL has and Redshift does not (checked on compiled SQL, comments removed).
FORBIDDEN: dict[str, re.Pattern[str]] = {
    "DISTINCT ON": re.compile(r"\bdistinct\s+on\s*\(", re.I),
    "FILTER (WHERE ...)": re.compile(r"\bfilter\s*\(\s*where\b", re.I),
    "string_agg": re.compile(r"\bstring_agg\s*\(", re.I),
    "array_agg": re.compile(r"\barray_agg\s*\(", re.I),
    "generate_series": re.compile(r"\bgenerate_series\s*\(", re.I),
    "jsonb": re.compile(r"\bjsonb\b", re.I),
    "ON CONFLICT": re.compile(r"\bon\s+conflict\b", re.I),
    "IS DISTINCT FROM": re.compile(r"\bis\s+(not\s+)?distinct\s+from\b", re.I),
    "LATERAL": re.compile(r"\blateral\b", re.I),
}
_WINDOW_AGGREGATE = re.compile(
    r"\b(sum|avg|count|min|max|stddev|stddev_samp|stddev_pop|variance|var_samp|var_pop"
    r"|listagg|median)\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*over\s*\(",
    re.I,
)
_FRAME = re.compile(r"\b(rows|range)\s+(between|unbounded|current)\b", re.I)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


@dataclass(frozen=True)
class Finding:
    """One construct Redshift cannot run, in one compiled file."""

    path: Path
    line: int
    construct: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.construct} is not supported by Redshift"


def install_standin(workdir: Path) -> None:
    """In the dbt child process (warehouse.dbt): answer every relation lookup with "a table
    exists", so incremental models compile their incremental branch; nothing is connected."""
    from dbt.adapters.contracts.relation import RelationType
    from dbt.adapters.redshift.impl import RedshiftAdapter
    from dbt.adapters.redshift.relation import RedshiftRelation

    def get_relation(self: Any, database: str, schema: str, identifier: str) -> Any:
        return RedshiftRelation.create(
            database=database, schema=schema, identifier=identifier, type=RelationType.Table
        )

    mock.patch.object(RedshiftAdapter, "get_relation", get_relation).start()


def compile_for_redshift(project_dir: Path, target_path: Path) -> Path:
    """Compile every node with the Redshift adapter; returns the compiled SQL directory."""
    with tempfile.TemporaryDirectory() as profiles_dir:
        write_profiles(Path(profiles_dir), redshift_target("redshift"))
        dbt = Dbt(project_dir, Path(profiles_dir), target_path=target_path,
                  log_path=target_path / "logs", env={STANDIN_ENV: str(target_path)})
        dbt.run("--no-populate-cache", "--quiet", "compile", "--no-introspect")
    return target_path / "compiled"


def scan(compiled_dir: Path) -> list[Finding]:
    """Every construct Redshift lacks in the compiled SQL under compiled_dir."""
    findings: list[Finding] = []
    for path in sorted(compiled_dir.rglob("*.sql")):
        findings.extend(scan_sql(path.read_text(), path))
    return findings


def scan_sql(sql: str, path: Path = Path("<sql>")) -> list[Finding]:
    """The constructs Redshift lacks in one SQL text."""
    text = _COMMENTS.sub(lambda m: "\n" * m.group(0).count("\n"), sql)
    findings = [
        Finding(path, _line(text, match.start()), construct)
        for construct, pattern in FORBIDDEN.items()
        for match in pattern.finditer(text)
    ]
    for match in _WINDOW_AGGREGATE.finditer(text):
        window = _parenthesised(text, match.end() - 1)
        if re.search(r"\border\s+by\b", window, re.I) and not _FRAME.search(window):
            findings.append(Finding(
                path, _line(text, match.start()),
                "a window aggregate with ORDER BY and no explicit frame",
            ))
    return findings


def _parenthesised(text: str, open_at: int) -> str:
    depth = 0
    for index in range(open_at, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at : index + 1]
    return text[open_at:]


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# Rules left out on compiled SQL: layout is the compiler's whitespace, capitalisation is what the
# adapter's macros render (e.g. VARCHAR), RF06 is dbt's quoting of relation names, RF02 fires
# inside dbt's own generic tests, ST06 is column order (style only).
# The source files are linted with every house rule by `make lint`.
COMPILED_EXCLUDED_RULES = "layout,capitalisation,RF06,RF02,ST06"


def lint_compiled(compiled_dir: Path, config: Path | None = None) -> tuple[int, str]:
    """Lint compiled SQL with sqlfluff's redshift dialect; returns (exit code, report).

    `config` is the project's .sqlfluff (its rule settings apply; its templater does not).
    """
    import subprocess
    import sys

    argv = [
        str(Path(sys.executable).parent / "sqlfluff"), "lint", str(compiled_dir),
        "--dialect", "redshift", "--templater", "raw", "--processes", "2",
        "--exclude-rules", COMPILED_EXCLUDED_RULES, "--disable-progress-bar", "--nofail",
        *(["--config", str(config)] if config else []),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=compiled_dir)
    report = "\n".join(
        line for line in result.stdout.splitlines() if line.startswith(("==", "L:", "  "))
    )
    return (1 if report else 0), report
