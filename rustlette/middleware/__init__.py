from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ParamSpec, Protocol

P = ParamSpec("P")


_Scope = Any
_Receive = Callable[[], Awaitable[Any]]
_Send = Callable[[Any], Awaitable[None]]
# Looser than `rustlette.types.ASGIApp`, so that apps typed against asgiref's
# `ASGIApplication` and similar protocols type-check as middleware targets too.
_ASGIApp = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class _MiddlewareFactory(Protocol[P]):
    def __call__(self, app: _ASGIApp, /, *args: P.args, **kwargs: P.kwargs) -> _ASGIApp: ...  # pragma: no cover


class Middleware:
    """A middleware class with the arguments to build it with, applied when the stack is built."""

    def __init__(self, cls: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        self.cls = cls
        self.args = args
        self.kwargs = kwargs

    def __iter__(self) -> Iterator[Any]:
        # Unpacking as `cls, args, kwargs` is how routers and applications read it.
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        parts = [getattr(self.cls, "__name__", "")]
        parts.extend(repr(value) for value in self.args)
        parts.extend(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"{self.__class__.__name__}({', '.join(parts)})"
