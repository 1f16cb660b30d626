from __future__ import annotations

import functools
from typing import Any

import pytest

from differential import Differential, Framework


@pytest.mark.parametrize(
    ("path", "root_path"),
    [
        ("/", ""),
        ("/items", ""),
        ("/api/items", "/api"),
        ("/api", "/api"),
        ("/api/", "/api"),
        ("/apix/items", "/api"),
        ("/other/items", "/api"),
        ("/api/items", "/api/"),
        ("", ""),
        ("/a/b/c", "/a/b"),
        ("/é/x", "/é"),
    ],
)
def test_get_route_path_table(differential: Differential, path: str, root_path: str) -> None:
    scope = {"type": "http", "path": path, "root_path": root_path}
    differential.compare_call(
        lambda fw: fw.utils.get_route_path(dict(scope)), label=f"get_route_path(path={path!r}, root_path={root_path!r})"
    )


def test_get_route_path_without_root_path(differential: Differential) -> None:
    differential.compare_call(
        lambda fw: fw.utils.get_route_path({"type": "http", "path": "/x"}), label="get_route_path without root_path"
    )


async def _async_function() -> None:
    pass


def _sync_function() -> None:
    pass


class _AsyncCallable:
    async def __call__(self) -> None:
        pass


class _SyncCallable:
    def __call__(self) -> None:
        pass


class _WithAsyncMethod:
    async def method(self) -> None:
        pass


_CALLABLES: dict[str, Any] = {
    "async-function": _async_function,
    "sync-function": _sync_function,
    "async-partial": functools.partial(_async_function),
    "nested-async-partial": functools.partial(functools.partial(_async_function)),
    "sync-partial": functools.partial(_sync_function),
    "async-callable-instance": _AsyncCallable(),
    "sync-callable-instance": _SyncCallable(),
    "async-callable-class": _AsyncCallable,
    "async-bound-method": _WithAsyncMethod().method,
    "partial-of-async-instance": functools.partial(_AsyncCallable()),
    "lambda": lambda: None,
    "builtin": len,
    "not-callable": 42,
    "none": None,
}


@pytest.mark.parametrize("name", list(_CALLABLES))
def test_is_async_callable_table(differential: Differential, name: str) -> None:
    differential.compare_call(lambda fw: fw.utils.is_async_callable(_CALLABLES[name]), label=f"is_async_callable({name})")
