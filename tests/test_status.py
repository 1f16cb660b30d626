from __future__ import annotations

import warnings
from typing import Any

import pytest

from differential import Differential, Framework


def test_status_constants_match(differential: Differential) -> None:
    def constants(fw: Framework) -> Any:
        status = fw.status
        return (list(status.__all__), {name: getattr(status, name) for name in status.__all__})

    differential.compare_call(constants, label="status.__all__ and values")


def test_status_dir_lists_deprecated_names(differential: Differential) -> None:
    differential.compare_call(lambda fw: dir(fw.status), label="dir(status)")


@pytest.mark.parametrize(
    "name",
    [
        "HTTP_413_REQUEST_ENTITY_TOO_LARGE",
        "HTTP_414_REQUEST_URI_TOO_LONG",
        "HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE",
        "HTTP_422_UNPROCESSABLE_ENTITY",
    ],
)
def test_status_deprecated_name_warns(differential: Differential, name: str) -> None:
    def read(fw: Framework) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = getattr(fw.status, name)
        return (
            value,
            [(warning.category is fw.exceptions.StarletteDeprecationWarning, str(warning.message)) for warning in caught],
            [warning.filename == __file__ for warning in caught],
        )

    differential.compare_call(read, label=f"status.{name}")


def test_status_unknown_name_raises(differential: Differential) -> None:
    def read(fw: Framework) -> Any:
        return fw.status.HTTP_999_MADE_UP

    reference = differential.reference
    candidate = differential.candidate
    messages = []
    for fw in (reference, candidate):
        with pytest.raises(AttributeError) as info:
            read(fw)
        messages.append(str(info.value).replace(fw.package, "<framework>"))
    assert messages[0] == messages[1]
