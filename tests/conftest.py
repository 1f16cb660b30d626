from __future__ import annotations

import os

import pytest
from hypothesis import settings

from differential import REFERENCE, Differential, Framework

settings.register_profile("default", deadline=None)
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--candidate",
        default="rustlette",
        choices=("rustlette", "starlette"),
        help=(
            "package that differential tests compare with starlette (default: rustlette). "
            "'starlette' runs the reference against itself to check the harness."
        ),
    )


@pytest.fixture(scope="session")
def reference() -> Framework:
    return Framework(REFERENCE)


@pytest.fixture(scope="session")
def candidate(request: pytest.FixtureRequest) -> Framework:
    return Framework(request.config.getoption("--candidate"))


@pytest.fixture(scope="session")
def differential(reference: Framework, candidate: Framework) -> Differential:
    """Provide the harness once per session, which hypothesis tests need. It keeps no per-test state."""
    return Differential(reference, candidate)
