from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread

from rustlette.exceptions import StarletteDeprecationWarning

P = ParamSpec("P")
T = TypeVar("T")

# Returned by `next()` in the worker thread once the iterator is exhausted. A sentinel is
# used because StopIteration cannot cross back: asyncio raises TypeError when it is set on
# a Future, and PEP 479 turns it into RuntimeError inside an async generator.
_EXHAUSTED: Any = object()


async def run_until_first_complete(*args: tuple[Callable, dict]) -> None:  # type: ignore[type-arg]
    """Run each `(func, kwargs)` pair concurrently and cancel the others when one returns."""
    warnings.warn(
        "run_until_first_complete is deprecated and will be removed in a future version.",
        StarletteDeprecationWarning,
    )

    async with anyio.create_task_group() as task_group:
        for func, kwargs in args:
            # The partial is built here, so that bad kwargs fail before any task starts.
            call = functools.partial(func, **kwargs)
            task_group.start_soon(_run_then_cancel, call, task_group.cancel_scope)


async def _run_then_cancel(call: Callable[[], Awaitable[Any]], scope: anyio.CancelScope) -> None:
    await call()
    scope.cancel()


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call a blocking function in a worker thread and return its result."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))


async def iterate_in_threadpool(iterator: Iterable[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterable, fetching each item in a worker thread."""
    source = iter(iterator)
    while True:
        item = await anyio.to_thread.run_sync(next, source, _EXHAUSTED)
        if item is _EXHAUSTED:
            return
        yield item
