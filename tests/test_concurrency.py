from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from differential import Differential, Framework


def _describe_thread(value: int, *, scale: int = 1) -> tuple[int, bool]:
    return value * scale, threading.current_thread() is threading.main_thread()


def _fail(message: str) -> None:
    raise LookupError(message)


def test_run_in_threadpool_returns_value(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        async def main() -> Any:
            return await fw.concurrency.run_in_threadpool(_describe_thread, 21, scale=2)

        return anyio.run(main)

    assert differential.compare_call(run, label="run_in_threadpool result") == ("returned", (42, False))


def test_run_in_threadpool_propagates_exception(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        async def main() -> Any:
            return await fw.concurrency.run_in_threadpool(_fail, "from the worker")

        return anyio.run(main)

    assert differential.compare_call(run, label="run_in_threadpool error") == (
        "raised",
        "builtins.LookupError",
        "from the worker",
    )


def _numbers() -> Iterator[int]:
    yield 1
    yield 2
    yield 3


def _numbers_then_error() -> Iterator[int]:
    yield 1
    raise KeyError("generator broke")


@pytest.mark.parametrize(
    "source", [[], ["a", "b"], "text", range(4), "generator", "generator-error", "none-items"]
)
def test_iterate_in_threadpool_items(differential: Differential, source: Any) -> None:
    def make_iterable() -> Any:
        if source == "generator":
            return _numbers()
        if source == "generator-error":
            return _numbers_then_error()
        if source == "none-items":
            return iter([None, None])
        return source

    def run(fw: Framework) -> Any:
        async def main() -> Any:
            items = []
            async for item in fw.concurrency.iterate_in_threadpool(make_iterable()):
                items.append(item)
            return items

        return anyio.run(main)

    differential.compare_call(run, label=f"iterate_in_threadpool({source!r})")


def test_iterate_in_threadpool_uses_worker_thread(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        def where() -> Iterator[bool]:
            yield threading.current_thread() is threading.main_thread()

        async def main() -> Any:
            return [item async for item in fw.concurrency.iterate_in_threadpool(where())]

        return anyio.run(main)

    assert differential.compare_call(run, label="iterate_in_threadpool thread") == ("returned", [False])


def test_iterate_in_threadpool_rejects_non_iterable(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        async def main() -> Any:
            return [item async for item in fw.concurrency.iterate_in_threadpool(42)]

        return anyio.run(main)

    differential.compare_call(run, label="iterate_in_threadpool(42)")


def test_run_until_first_complete_cancels_rest(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        events: list[str] = []

        async def quick(label: str) -> None:
            events.append(f"quick {label}")

        async def slow(label: str) -> None:
            try:
                await anyio.sleep(10)
            finally:
                events.append(f"slow {label} ended")

        async def main() -> None:
            await fw.concurrency.run_until_first_complete((slow, {"label": "a"}), (quick, {"label": "b"}))

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            anyio.run(main)
        return (
            sorted(events),
            [(warning.category is fw.exceptions.StarletteDeprecationWarning, str(warning.message)) for warning in caught],
        )

    result = differential.compare_call(run, label="run_until_first_complete")
    assert result[0] == "returned"


def test_run_until_first_complete_warns(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        async def main() -> None:
            await fw.concurrency.run_until_first_complete()

        with pytest.warns(fw.exceptions.StarletteDeprecationWarning) as record:
            anyio.run(main)
        return [str(warning.message) for warning in record]

    differential.compare_call(run, label="run_until_first_complete deprecation warning")
