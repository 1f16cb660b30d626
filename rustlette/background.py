from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ParamSpec

from rustlette._utils import is_async_callable
from rustlette.concurrency import run_in_threadpool

P = ParamSpec("P")


class BackgroundTask:
    """A function call that runs after the response has been sent."""

    def __init__(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        # Decided once, so running the task needs no inspection of `func`.
        self.is_async = is_async_callable(func)

    async def __call__(self) -> None:
        func, args, kwargs = self.func, self.args, self.kwargs
        if not self.is_async:
            # A plain function may block, so it runs in a worker thread, away from the event loop.
            await run_in_threadpool(func, *args, **kwargs)
            return
        await func(*args, **kwargs)


class BackgroundTasks(BackgroundTask):
    """Background tasks that run one after another, in the order they were added.

    A task that raises stops the ones after it.
    """

    def __init__(self, tasks: Sequence[BackgroundTask] | None = None):
        self.tasks: list[BackgroundTask] = []
        if tasks:
            self.tasks.extend(tasks)

    def add_task(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()
