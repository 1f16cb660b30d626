"""Users, credentials and the `requires` decorator that checks a connection's scopes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec
from urllib.parse import urlencode

from rustlette._utils import is_async_callable
from rustlette.exceptions import HTTPException
from rustlette.requests import HTTPConnection, Request
from rustlette.responses import RedirectResponse
from rustlette.websockets import WebSocket

_P = ParamSpec("_P")

# The endpoint parameters that `requires` takes the connection from, in the order they are
# looked for, with the name of the class each must be an instance of.
_CONNECTION_PARAMETERS = {"request": "Request", "websocket": "WebSocket"}


def has_required_scope(conn: HTTPConnection, scopes: Sequence[str]) -> bool:
    """Tell whether the connection's credentials grant every scope in `scopes`."""
    # `conn.auth` is read only when there is a scope to check, so an empty list passes
    # even without AuthenticationMiddleware.
    return all(scope in conn.auth.scopes for scope in scopes)


def _find_connection_parameter(func: Callable[..., Any]) -> tuple[str, int]:
    """Return the name and position of the first `request` or `websocket` parameter of `func`."""
    for position, name in enumerate(inspect.signature(func).parameters):
        if name in _CONNECTION_PARAMETERS:
            return name, position
    raise Exception(f'No "request" or "websocket" argument on function "{func}"')


def _connection_argument(name: str, position: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Pick the connection out of an endpoint call, by keyword first and then by position, and check its type."""
    if name in kwargs:
        connection = kwargs[name]
    elif position < len(args):
        connection = args[position]
    else:
        connection = None

    expected_type = WebSocket if name == "websocket" else Request
    assert isinstance(connection, expected_type), (
        f"Parameter with name '{name}' is required to be of type '{_CONNECTION_PARAMETERS[name]}'"
        f" not '{type(connection).__name__}'"
    )
    return connection


def _reject_request(request: Request, redirect: str | None, status_code: int) -> RedirectResponse:
    """Send a request that lacks a scope to the `redirect` route, or fail with `status_code`.

    The redirect carries the original URL in a `next` query parameter, so the login page
    can send the user back once they have signed in.
    """
    if redirect is None:
        raise HTTPException(status_code=status_code)

    next_query = urlencode({"next": str(request.url)})
    return RedirectResponse(url=f"{request.url_for(redirect)}?{next_query}", status_code=303)


def _guard_websocket(func: Callable[_P, Any], position: int, required: list[str]) -> Callable[_P, Any]:
    # A WebSocket endpoint is awaited even when it is a plain function, as Starlette does.
    @functools.wraps(func)
    async def websocket_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> None:
        websocket = _connection_argument("websocket", position, args, kwargs)
        if not has_required_scope(websocket, required):
            await websocket.close()
            return
        await func(*args, **kwargs)

    return websocket_wrapper


def _guard_request(
    func: Callable[_P, Any],
    position: int,
    required: list[str],
    status_code: int,
    redirect: str | None,
) -> Callable[_P, Any]:
    # The wrapper keeps the endpoint's kind, so that a plain function still runs in a worker thread.
    if is_async_callable(func):

        @functools.wraps(func)
        async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            request = _connection_argument("request", position, args, kwargs)
            if has_required_scope(request, required):
                return await func(*args, **kwargs)
            return _reject_request(request, redirect, status_code)

        return async_wrapper

    @functools.wraps(func)
    def sync_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
        request = _connection_argument("request", position, args, kwargs)
        if has_required_scope(request, required):
            return func(*args, **kwargs)
        return _reject_request(request, redirect, status_code)

    return sync_wrapper


def requires(
    scopes: str | Sequence[str],
    status_code: int = 403,
    redirect: str | None = None,
) -> Callable[[Callable[_P, Any]], Callable[_P, Any]]:
    """Restrict an endpoint to connections whose credentials grant all of `scopes`.

    An HTTP request without them gets `status_code`, or a 303 redirect to the route named
    `redirect`. A WebSocket without them is closed before the endpoint runs.
    """
    required = [scopes] if isinstance(scopes, str) else list(scopes)

    def decorator(func: Callable[_P, Any]) -> Callable[_P, Any]:
        name, position = _find_connection_parameter(func)
        if name == "websocket":
            return _guard_websocket(func, position, required)
        return _guard_request(func, position, required, status_code, redirect)

    return decorator


class AuthenticationError(Exception):
    """Raised by a backend when the credentials sent are present but invalid."""


class AuthenticationBackend:
    """Base class for the object that `AuthenticationMiddleware` calls to identify each connection."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        """Return the credentials and user for `conn`, or `None` for an anonymous connection."""
        raise NotImplementedError()  # pragma: no cover


class AuthCredentials:
    """The scopes that an authenticated connection is granted."""

    def __init__(self, scopes: Sequence[str] | None = None):
        self.scopes = [] if scopes is None else list(scopes)


class BaseUser:
    """Interface of the user object stored in `request.user`."""

    @property
    def is_authenticated(self) -> bool:
        raise NotImplementedError()  # pragma: no cover

    @property
    def display_name(self) -> str:
        raise NotImplementedError()  # pragma: no cover

    @property
    def identity(self) -> str:
        raise NotImplementedError()  # pragma: no cover


class SimpleUser(BaseUser):
    """An authenticated user known only by a user name."""

    def __init__(self, username: str) -> None:
        self.username = username

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username

    @property
    def identity(self) -> str:
        return self.username


class UnauthenticatedUser(BaseUser):
    """The user of a connection that the backend did not authenticate."""

    @property
    def is_authenticated(self) -> bool:
        return False

    @property
    def display_name(self) -> str:
        return ""

    @property
    def identity(self) -> str:
        return ""
