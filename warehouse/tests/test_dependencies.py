"""Every module the `warehouse` package imports comes from a dependency pyproject.toml declares."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
tomllib = pytest.importorskip("tomllib")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(path: Path) -> set[str]:
    """The top-level modules a source file imports (relative imports left out)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_every_import_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_normalise(re.split(r"[ <>=!~;\[]", spec, maxsplit=1)[0])
                for spec in project["dependencies"]}
    providers = packages_distributions()
    undeclared: dict[str, list[str]] = {}
    for path in sorted((ROOT / "warehouse").glob("*.py")):
        for module in imported_modules(path) - set(sys.stdlib_module_names) - {"warehouse"}:
            distributions = {_normalise(name) for name in providers.get(module, [module])}
            if not distributions & declared:
                undeclared.setdefault(module, []).append(path.name)
    assert undeclared == {}, f"imported but not in pyproject.toml dependencies: {undeclared}"
