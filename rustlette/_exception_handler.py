from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from rustlette._utils import is_async_callable
from rustlette.concurrency import run_in_threadpool
from rustlette.exceptions import HTTPException
from rustlette.requests import Request
from rustlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send
from rustlette.websockets import WebSocket

ExceptionHandlers = dict[Any, ExceptionHandler]
StatusHandlers = dict[int, ExceptionHandler]

# The empty handler tables of a connection without `ExceptionMiddleware` above it.
# Nothing writes to them, so one shared pair serves every such connection.
_NO_HANDLERS: tuple[ExceptionHandlers, StatusHandlers] = ({}, {})

_RESPONSE_STARTED = "Caught handled exception, but response already started."


def _lookup_exception_handler(exc_handlers: ExceptionHandlers, exc: Exception) -> ExceptionHandler | None:
    # The MRO runs from the class itself to `object`, so the most specific
    # registered class wins and a base class handler covers its subclasses.
    return next((exc_handlers[cls] for cls in type(exc).__mro__ if cls in exc_handlers), None)


def _find_handler(
    exc: Exception, exception_handlers: ExceptionHandlers, status_handlers: StatusHandlers
) -> ExceptionHandler | None:
    """Pick the handler for `exc`: by status code for an `HTTPException`, otherwise by class."""
    if isinstance(exc, HTTPException):
        by_status = status_handlers.get(exc.status_code)
        if by_status is not None:
            return by_status
    return _lookup_exception_handler(exception_handlers, exc)


async def _call_handler(handler: ExceptionHandler, conn: Request | WebSocket, exc: Exception) -> Any:
    # A plain function may block, so it runs in the thread pool.
    if is_async_callable(handler):
        return await handler(conn, exc)  # type: ignore[arg-type]
    return await run_in_threadpool(handler, conn, exc)  # type: ignore[arg-type]


async def _send_handler_response(
    handler: ExceptionHandler, conn: Request | WebSocket, exc: Exception, scope: Scope, receive: Receive, send: Send
) -> None:
    """Call `handler` for `exc` and send the response it returns."""
    response = await _call_handler(handler, conn, exc)
    # A websocket handler closes the connection itself and returns None.
    if response is not None:
        await response(scope, receive, send)

    # An instance raised again on a later request would otherwise keep the
    # frames of every earlier request alive through its traceback.
    exc.__traceback__ = None


def wrap_app_handling_exceptions(app: ASGIApp, conn: Request | WebSocket) -> ASGIApp:
    """Wrap `app` so that exceptions it raises go to the handlers that `ExceptionMiddleware` put in the scope.

    A status-code handler takes precedence over a class handler for an `HTTPException`.
    Exceptions without a handler propagate unchanged.

    `ExceptionMiddleware` and `request_response` run the same steps inline, unless a
    library has replaced this function in their module. Then they call the replacement.
    """
    exception_handlers, status_handlers = conn.scope.get("starlette.exception_handlers", _NO_HANDLERS)

    async def wrapped_app(scope: Scope, receive: Receive, send: Send) -> None:
        # Once the app has sent `http.response.start`, a handler can no longer
        # replace the response.
        started = False

        # A plain function that returns the awaitable of `send`, which saves a
        # coroutine per message. The flag is set when the message is passed on.
        def watching_send(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            return send(message)

        try:
            await app(scope, receive, watching_send)
        except Exception as exc:
            handler = _find_handler(exc, exception_handlers, status_handlers)
            if handler is None:
                raise
            if started:
                raise RuntimeError(_RESPONSE_STARTED) from exc
            await _send_handler_response(handler, conn, exc, scope, receive, watching_send)

    return wrapped_app
