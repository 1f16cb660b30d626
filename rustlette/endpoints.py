from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any, Literal, NoReturn

from rustlette import status
from rustlette._utils import is_async_callable
from rustlette.concurrency import run_in_threadpool
from rustlette.exceptions import HTTPException
from rustlette.requests import Request
from rustlette.responses import PlainTextResponse, Response
from rustlette.types import Message, Receive, Scope, Send
from rustlette.websockets import WebSocket

# Methods are listed in this order in the `Allow` header of a 405 response.
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY")

# For the "text" and "bytes" encodings: the message key that carries the data, and
# the error for a message that carries the other kind.
_RAW_ENCODINGS = {
    "text": ("text", "Expected text websocket messages, but got bytes"),
    "bytes": ("bytes", "Expected bytes websocket messages, but got text"),
}


class HTTPEndpoint:
    """An ASGI application that dispatches each request to the method named after its HTTP verb."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self.receive = receive
        self.send = send

        # A `get` handler also serves HEAD requests.
        serves_get = getattr(self, "get", None) is not None
        allowed: list[str] = []
        for method in _HTTP_METHODS:
            if getattr(self, method.lower(), None) is not None or (method == "HEAD" and serves_get):
                allowed.append(method)
        self._allowed_methods = allowed

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        request = Request(self.scope, self.receive, self.send)
        method = request.method

        handler: Callable[[Request], Any]
        if method not in self._allowed_methods:
            handler = self.method_not_allowed
        elif method == "HEAD" and not hasattr(self, "head"):
            handler = getattr(self, "get")
        else:
            handler = getattr(self, method.lower())

        if is_async_callable(handler):
            response = await handler(request)
        else:
            response = await run_in_threadpool(handler, request)
        await response(self.scope, self.receive, self.send)

    async def method_not_allowed(self, request: Request) -> Response:
        allow = {"Allow": ", ".join(self._allowed_methods)}
        # An endpoint used as a bare ASGI app has no exception handlers, so it
        # returns the response itself. Inside an application the handlers build
        # the 405 response, so that the application can customize it.
        if "app" not in self.scope:
            return PlainTextResponse("Method Not Allowed", status_code=405, headers=allow)
        raise HTTPException(status_code=405, headers=allow)


async def _reject_unsupported_data(websocket: WebSocket, error: str) -> NoReturn:
    """Close the connection with code 1003 (unsupported data) and raise RuntimeError."""
    await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
    raise RuntimeError(error)


class WebSocketEndpoint:
    """An ASGI application that calls a hook on connect, on each message and on disconnect."""

    encoding: Literal["text", "bytes", "json"] | None = None

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        websocket = WebSocket(self.scope, self.receive, self.send)
        await self.on_connect(websocket)

        # Only an error raised by the application reports 1011 to `on_disconnect`.
        # Cancellation and other BaseExceptions leave the normal closure code.
        close_code = status.WS_1000_NORMAL_CLOSURE
        try:
            close_code = await self._serve_messages(websocket)
        except Exception:
            close_code = status.WS_1011_INTERNAL_ERROR
            raise
        finally:
            await self.on_disconnect(websocket, close_code)

    async def _serve_messages(self, websocket: WebSocket) -> int:
        """Pass each message to `on_receive` until the client disconnects, and return its close code."""
        while True:
            message = await websocket.receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                # A disconnect without a code, or with code None, counts as a normal closure.
                return int(message.get("code") or status.WS_1000_NORMAL_CLOSURE)
            if kind == "websocket.receive":
                await self.on_receive(websocket, await self.decode(websocket, message))

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        """
        Convert a "websocket.receive" message to the data type that `encoding` names.
        A message of the wrong kind, or invalid JSON, closes the connection with code
        1003 and raises RuntimeError.
        """
        encoding = self.encoding

        if encoding in ("text", "bytes"):
            key, error = _RAW_ENCODINGS[encoding]
            data = message.get(key)
            if data is None:
                await _reject_unsupported_data(websocket, error)
            return data

        if encoding == "json":
            payload = message.get("text")
            if payload is None:
                payload = message["bytes"].decode("utf-8")
            try:
                return json.loads(payload)
            except json.JSONDecodeError:
                await _reject_unsupported_data(websocket, "Malformed JSON data received.")

        assert encoding is None, f"Unsupported 'encoding' attribute {self.encoding}"
        text = message.get("text")
        return message["bytes"] if text is None else text

    async def on_connect(self, websocket: WebSocket) -> None:
        """Accept the connection. Override to check or reject it first."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Handle one decoded message. The default ignores it."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Clean up after the connection ends. The default does nothing."""
