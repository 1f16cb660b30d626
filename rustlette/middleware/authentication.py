from __future__ import annotations

from collections.abc import Callable

from rustlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    UnauthenticatedUser,
)
from rustlette.requests import HTTPConnection
from rustlette.responses import PlainTextResponse, Response
from rustlette.types import ASGIApp, Receive, Scope, Send

_ErrorHandler = Callable[[HTTPConnection, AuthenticationError], Response]


class AuthenticationMiddleware:
    """Middleware that sets `scope["auth"]` and `scope["user"]` from a backend before the app runs.

    A connection that the backend does not recognise gets empty credentials and an
    `UnauthenticatedUser`. When the backend raises `AuthenticationError`, an HTTP request
    gets the response from `on_error` (a 400 with the error text by default) and a
    WebSocket is closed, and the app is not called.
    """

    def __init__(self, app: ASGIApp, backend: AuthenticationBackend, on_error: _ErrorHandler | None = None) -> None:
        self.app = app
        self.backend = backend
        self.on_error: _ErrorHandler = self.default_on_error if on_error is None else on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            connection = HTTPConnection(scope)
            try:
                credentials_and_user = await self.backend.authenticate(connection)
            except AuthenticationError as exc:
                await self._reject(connection, exc, scope, receive, send)
                return
            if credentials_and_user is None:
                credentials_and_user = AuthCredentials(), UnauthenticatedUser()
            scope["auth"], scope["user"] = credentials_and_user

        await self.app(scope, receive, send)

    async def _reject(
        self, connection: HTTPConnection, exc: AuthenticationError, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # `on_error` runs for WebSockets too, so a custom handler receives every failure,
        # but a WebSocket is closed instead of receiving the response.
        response = self.on_error(connection, exc)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})
        else:
            await response(scope, receive, send)

    @staticmethod
    def default_on_error(conn: HTTPConnection, exc: Exception) -> Response:
        return PlainTextResponse(str(exc), status_code=400)
