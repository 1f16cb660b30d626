from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import ParamSpec, TypeVar

import anyio.to_thread

from rustlette.exceptions import StarletteDeprecationWarning

P = ParamSpec("P")
T = TypeVar("T")


async def run_until_first_complete(*args: tuple[Callable, dict]) -> None:  # type: ignore[type-arg]
    """Run each `(func, kwargs)` pair concurrently and cancel the others when one returns."""
    warnings.warn(
        "run_until_first_complete is deprecated and will be removed in a future version.",
        StarletteDeprecationWarning,
    )

    async with anyio.create_task_group() as task_group:

        async def run_then_cancel(func: Callable[[], Coroutine]) -> None:  # type: ignore[type-arg]
            await func()
            task_group.cancel_scope.cancel()

        for func, kwargs in args:
            task_group.start_soon(run_then_cancel, functools.partial(func, **kwargs))


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call a blocking function in a worker thread and return its result."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))


class _StopIteration(Exception):
    pass


def _next(iterator: Iterator[T]) -> T:
    # StopIteration cannot be set on an asyncio Future, and in an async generator PEP 479
    # turns it into RuntimeError, so the worker thread raises another type.
    try:
        return next(iterator)
    except StopIteration:
        raise _StopIteration


async def iterate_in_threadpool(iterator: Iterable[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterable, fetching each item in a worker thread."""
    as_iterator = iter(iterator)
    while True:
        try:
            yield await anyio.to_thread.run_sync(_next, as_iterator)
        except _StopIteration:
            break
