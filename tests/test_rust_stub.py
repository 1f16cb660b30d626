"""The hand-written stub `rustlette/_rust.pyi` against the built extension."""

from __future__ import annotations

import subprocess
import sys


def test_stub_matches_built_extension() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "rustlette._rust"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
