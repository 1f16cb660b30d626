"""The package type-checks under mypy's strict mode, as configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]


def test_package_passes_mypy_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache"), "rustlette"],
        capture_output=True,
        text=True,
        cwd=_ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
