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


class AuthenticationMiddleware:
    """Middleware that sets `scope["auth"]` and `scope["user"]` from a backend before the app runs.

    A connection that the backend does not recognise gets empty credentials and an
    `UnauthenticatedUser`. When the backend raises `AuthenticationError`, an HTTP request
    gets the response from `on_error` (a 400 with the error text by default) and a
    WebSocket is closed, and the app is not called.
    """

    def __init__(
        self,
        app: ASGIApp,
        backend: AuthenticationBackend,
        on_error: Callable[[HTTPConnection, AuthenticationError], Response] | None = None,
    ) -> None:
        self.app = app
        self.backend = backend
        self.on_error: Callable[[HTTPConnection, AuthenticationError], Response] = (
            self.default_on_error if on_error is None else on_error
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        conn = HTTPConnection(scope)
        try:
            auth_result = await self.backend.authenticate(conn)
        except AuthenticationError as exc:
            # `on_error` runs for WebSockets too, so a custom handler receives every failure.
            response = self.on_error(conn, exc)
            if scope["type"] == "http":
                await response(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1000})
            return

        if auth_result is None:
            auth_result = AuthCredentials(), UnauthenticatedUser()
        scope["auth"], scope["user"] = auth_result
        await self.app(scope, receive, send)

    @staticmethod
    def default_on_error(conn: HTTPConnection, exc: Exception) -> Response:
        return PlainTextResponse(str(exc), status_code=400)
