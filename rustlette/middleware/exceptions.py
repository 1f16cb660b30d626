from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from rustlette._exception_handler import (
    _RESPONSE_STARTED,
    ExceptionHandlers,
    StatusHandlers,
    _find_handler,
    _send_handler_response,
    wrap_app_handling_exceptions,
)
from rustlette.exceptions import HTTPException, WebSocketException
from rustlette.requests import Request
from rustlette.responses import PlainTextResponse, Response
from rustlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send
from rustlette.websockets import WebSocket

# RFC 9110 forbids content in 204 and 304 responses.
_BODYLESS_STATUS_CODES = frozenset({204, 304})

# Libraries may replace this module's `wrap_app_handling_exceptions`. Only while it
# is still this function may `ExceptionMiddleware` run its steps inline.
_original_wrap_app_handling_exceptions = wrap_app_handling_exceptions


def _connection(scope_type: str, scope: Scope, receive: Receive, send: Send) -> Request | WebSocket:
    """Build the object that the exception handlers receive for this scope."""
    if scope_type == "http":
        return Request(scope, receive, send)
    return WebSocket(scope, receive, send)


class ExceptionMiddleware:
    """Turns exceptions that have a handler into responses.

    `HTTPException` and `WebSocketException` always have one, and more can be
    registered by exception class or by HTTP status code. The handlers are also put
    in the scope, so that routes deeper in the stack apply them to their endpoints.
    """

    # Both tables go into the scope, where `wrap_app_handling_exceptions` reads them.
    _exception_handlers: ExceptionHandlers
    _status_handlers: StatusHandlers

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[Any, ExceptionHandler] | None = None,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.debug = debug
        self._exception_handlers = {HTTPException: self.http_exception, WebSocketException: self.websocket_exception}
        self._status_handlers = {}
        # Entries in `handlers` may replace the two built-in handlers above.
        for key, handler in (handlers or {}).items():
            self.add_exception_handler(key, handler)

    def add_exception_handler(self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler) -> None:
        """Register `handler` for an HTTP status code or for an exception class and its subclasses."""
        key = exc_class_or_status_code
        if not isinstance(key, int):
            assert issubclass(key, Exception)
            self._exception_handlers[key] = handler
            return
        self._status_handlers[key] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return

        # Built on every call, so that tables replaced after __init__ still apply.
        handlers = scope["starlette.exception_handlers"] = (self._exception_handlers, self._status_handlers)
        if wrap_app_handling_exceptions is not _original_wrap_app_handling_exceptions:
            conn = _connection(scope_type, scope, receive, send)
            await wrap_app_handling_exceptions(self.app, conn)(scope, receive, send)
            return

        # The steps of `wrap_app_handling_exceptions`, inline to save a coroutine and a
        # closure per request. The connection object is built only for a handler.
        started = False

        def watching_send(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            return send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as exc:
            handler = _find_handler(exc, *handlers)
            if handler is None:
                raise
            if started:
                raise RuntimeError(_RESPONSE_STARTED) from exc
            conn = _connection(scope_type, scope, receive, send)
            await _send_handler_response(handler, conn, exc, scope, receive, watching_send)

    async def http_exception(self, request: Request, exc: Exception) -> Response:
        """Build the response for an `HTTPException`: its detail as text, its status and headers."""
        assert isinstance(exc, HTTPException)
        response_class: type[Response] = PlainTextResponse
        content: str | None = exc.detail
        if exc.status_code in _BODYLESS_STATUS_CODES:
            response_class, content = Response, None
        return response_class(content, status_code=exc.status_code, headers=exc.headers)

    async def websocket_exception(self, websocket: WebSocket, exc: Exception) -> None:
        """Close the websocket with the code and reason of a `WebSocketException`."""
        assert isinstance(exc, WebSocketException)
        await websocket.close(code=exc.code, reason=exc.reason)  # pragma: no cover
