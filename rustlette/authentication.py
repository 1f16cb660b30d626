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

# Endpoint parameters that `requires` takes the connection from, in the order they are looked for.
_CONNECTION_PARAMETERS = ("request", "websocket")


def has_required_scope(conn: HTTPConnection, scopes: Sequence[str]) -> bool:
    """Tell whether the connection's credentials grant every scope in `scopes`."""
    granted = conn.auth.scopes
    return all(scope in granted for scope in scopes)


def _connection_argument(name: str, position: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Pick the connection out of an endpoint call, by keyword first and then by position."""
    if name in kwargs:
        return kwargs[name]
    if position < len(args):
        return args[position]
    return None


def _redirect_or_raise(request: Request, redirect: str | None, status_code: int) -> RedirectResponse:
    """Send a request that lacks a scope to the `redirect` route, or fail with `status_code`.

    The redirect carries the original URL in a `next` query parameter, so the login page
    can send the user back once they have signed in.
    """
    if redirect is None:
        raise HTTPException(status_code=status_code)

    next_query = urlencode({"next": str(request.url)})
    return RedirectResponse(url=f"{request.url_for(redirect)}?{next_query}", status_code=303)


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
        parameters = list(inspect.signature(func).parameters)
        for position, name in enumerate(parameters):
            if name in _CONNECTION_PARAMETERS:
                break
        else:
            raise Exception(f'No "request" or "websocket" argument on function "{func}"')

        if name == "websocket":

            @functools.wraps(func)
            async def websocket_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> None:
                websocket = _connection_argument(name, position, args, kwargs)
                assert isinstance(websocket, WebSocket), (
                    "Parameter with name 'websocket' is required to be of type 'WebSocket'"
                    f" not '{type(websocket).__name__}'"
                )

                if has_required_scope(websocket, required):
                    await func(*args, **kwargs)
                else:
                    await websocket.close()

            return websocket_wrapper

        if is_async_callable(func):

            @functools.wraps(func)
            async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                request = _connection_argument(name, position, args, kwargs)
                assert isinstance(request, Request), (
                    f"Parameter with name 'request' is required to be of type 'Request' not '{type(request).__name__}'"
                )

                if not has_required_scope(request, required):
                    return _redirect_or_raise(request, redirect, status_code)
                return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def sync_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            request = _connection_argument(name, position, args, kwargs)
            assert isinstance(request, Request), (
                f"Parameter with name 'request' is required to be of type 'Request' not '{type(request).__name__}'"
            )

            if not has_required_scope(request, required):
                return _redirect_or_raise(request, redirect, status_code)
            return func(*args, **kwargs)

        return sync_wrapper

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
