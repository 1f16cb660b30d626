from __future__ import annotations

import functools
import re
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv6Address
from typing import Any, Generic, Protocol, TypeVar, overload

import anyio.abc

from rustlette.types import Scope

if sys.version_info >= (3, 13):  # pragma: no cover
    from inspect import iscoroutinefunction
    from typing import TypeIs
else:  # pragma: no cover
    # asyncio's check also accepts objects marked with `asyncio.coroutines._is_coroutine`.
    from asyncio import iscoroutinefunction

    from typing_extensions import TypeIs


T = TypeVar("T")
AwaitableCallable = Callable[..., Awaitable[T]]

# A Host header is `host [ ":" port ]` (RFC 9110 section 7.2) with the host grammar of
# RFC 3986 section 3.2.2: a registered name or an IP literal in brackets. Only these
# characters are accepted, so that no Host header can change the path or the authority
# of the URL built from it. An IPv6 literal is checked again with `ipaddress`.
_REG_NAME = r"[a-z0-9._~%!$&'()*+,;=-]+"
_IPV6_LITERAL = r"(?P<ipv6>[a-f0-9]*:[a-f0-9.:]+)"
_IPVFUTURE_LITERAL = r"(?-i:v)[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+"
_HOST_RE = re.compile(
    rf"^(?P<host>{_REG_NAME}|\[(?:{_IPV6_LITERAL}|{_IPVFUTURE_LITERAL})\])(?::(?P<port>[0-9]+))?$",
    re.IGNORECASE,
)

# The largest TCP port, as a string of digits without leading zeros.
_MAX_PORT = "65535"


@dataclass(frozen=True, slots=True)
class ParsedHost:
    """The host and port of a Host header, with the brackets of an IP literal kept."""

    host: str
    port: str | None

    @property
    def authority(self) -> str:
        if self.port is None:
            return self.host
        return f"{self.host}:{self.port}"

    @property
    def is_valid_port(self) -> bool:
        if self.port is None:
            return True
        # Compared as text, so that a huge digit string never reaches int(). Strings of
        # equal length that contain only digits sort as their numbers do.
        digits = self.port.lstrip("0")
        if len(digits) != len(_MAX_PORT):
            return len(digits) < len(_MAX_PORT)
        return digits <= _MAX_PORT


@overload
def is_async_callable(obj: AwaitableCallable[T]) -> TypeIs[AwaitableCallable[T]]: ...


@overload
def is_async_callable(obj: Any) -> TypeIs[AwaitableCallable[Any]]: ...


def is_async_callable(obj: Any) -> Any:
    """Tell whether calling `obj` returns a coroutine, looking through `functools.partial`."""
    target = _unwrap_partial(obj)
    if iscoroutinefunction(target):
        return True
    # An instance whose class defines `async def __call__`.
    return callable(target) and iscoroutinefunction(target.__call__)


def _unwrap_partial(obj: Any) -> Any:
    while isinstance(obj, functools.partial):
        obj = obj.func
    return obj


T_co = TypeVar("T_co", covariant=True)


class AwaitableOrContextManager(Awaitable[T_co], AbstractAsyncContextManager[T_co], Protocol[T_co]): ...


class SupportsAsyncClose(Protocol):
    async def close(self) -> None: ...  # pragma: no cover


SupportsAsyncCloseType = TypeVar("SupportsAsyncCloseType", bound=SupportsAsyncClose, covariant=False)


class AwaitableOrContextManagerWrapper(Generic[SupportsAsyncCloseType]):
    """An awaitable that can also be used with `async with`, which closes its result on exit.

    `aw` is the wrapped awaitable, and `entered` is its result once the block is entered.
    """

    __slots__ = ("aw", "entered")

    def __init__(self, aw: Awaitable[SupportsAsyncCloseType]) -> None:
        self.aw = aw

    def __await__(self) -> Generator[Any, None, SupportsAsyncCloseType]:
        return self.aw.__await__()

    async def __aenter__(self) -> SupportsAsyncCloseType:
        result = await self.aw
        self.entered = result
        return result

    async def __aexit__(self, *args: Any) -> None | bool:
        # Returning None lets an exception from the block propagate.
        await self.entered.close()
        return None


@asynccontextmanager
async def create_collapsing_task_group() -> AsyncGenerator[anyio.abc.TaskGroup, None]:
    """Open a task group that raises a lone failure as itself instead of in an exception group."""
    try:
        async with anyio.create_task_group() as task_group:
            yield task_group
    except BaseExceptionGroup as group:
        if len(group.exceptions) != 1:
            raise
        (failure,) = group.exceptions
        raise failure from _chained_cause(failure)


def _chained_cause(exc: BaseException) -> BaseException | None:
    """Return what `exc` should name as its cause once re-raised outside its group.

    Re-raising replaces the context with the group, so an implicit context that was shown
    before becomes the explicit cause. A suppressed context stays hidden.
    """
    if exc.__cause__:
        return exc.__cause__
    if exc.__suppress_context__:
        return None
    return exc.__context__


def parse_host_header(host_header: str | None) -> ParsedHost | None:
    """Split a Host header into host and port, or return `None` if it is missing or invalid.

    `"[::1]:8000"` gives `ParsedHost(host="[::1]", port="8000")`.
    """
    if host_header is None:
        return None

    match = _HOST_RE.fullmatch(host_header)
    if match is None:
        return None
    ipv6 = match["ipv6"]
    if ipv6 is not None and not _is_ipv6_address(ipv6):
        return None
    return ParsedHost(match["host"], match["port"])


def _is_ipv6_address(literal: str) -> bool:
    # The regular expression accepts any mix of hex digits, colons and dots, which
    # includes strings that are no IPv6 address, such as `1:::2`.
    try:
        IPv6Address(literal)
    except AddressValueError:
        return False
    return True


def get_route_path(scope: Scope) -> str:
    """Return the request path relative to the mount point given by `root_path`.

    With `root_path="/api"`, the path `"/api/users"` gives `"/users"` and `"/apix"` stays
    `"/apix"`, because a root path only matches up to a `/` boundary.
    """
    path: str = scope["path"]
    root_path = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        remainder = path[len(root_path) :]
        if not remainder or remainder[0] == "/":
            return remainder
    return path
