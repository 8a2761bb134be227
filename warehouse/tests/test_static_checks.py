"""The Python tooling stays typed and tidy: mypy (strict) and ruff over the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)


def test_mypy_strict_passes() -> None:
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout


def test_ruff_passes() -> None:
    result = run(str(BIN / "ruff"), "check", "warehouse", "dags")
    assert result.returncode == 0, result.stdout
