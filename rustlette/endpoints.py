from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any, Literal

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


class HTTPEndpoint:
    """An ASGI application that dispatches each request to the method named after its HTTP verb."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self.receive = receive
        self.send = send
        # A `get` handler also serves HEAD requests.
        has_get = getattr(self, "get", None) is not None
        self._allowed_methods = [
            method
            for method in _HTTP_METHODS
            if getattr(self, method.lower(), None) is not None or (method == "HEAD" and has_get)
        ]

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        request = Request(self.scope, receive=self.receive, send=self.send)
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
        headers = {"Allow": ", ".join(self._allowed_methods)}
        # Inside an application the exception handlers build the 405 response, so
        # they can customize it. An endpoint used as a bare ASGI app has no
        # handlers, so it returns the response itself.
        if "app" in self.scope:
            raise HTTPException(status_code=405, headers=headers)
        return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)


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
        websocket = WebSocket(self.scope, receive=self.receive, send=self.send)
        await self.on_connect(websocket)

        close_code = status.WS_1000_NORMAL_CLOSURE
        try:
            while True:
                message = await websocket.receive()
                message_type = message["type"]
                if message_type == "websocket.receive":
                    data = await self.decode(websocket, message)
                    await self.on_receive(websocket, data)
                elif message_type == "websocket.disconnect":
                    close_code = int(message.get("code") or status.WS_1000_NORMAL_CLOSURE)
                    break
        except Exception:
            close_code = status.WS_1011_INTERNAL_ERROR
            raise
        finally:
            await self.on_disconnect(websocket, close_code)

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        """
        Convert a "websocket.receive" message to the data type that `encoding` names.
        A message of the wrong kind, or invalid JSON, closes the connection with code
        1003 and raises RuntimeError.
        """
        text = message.get("text")
        if self.encoding == "text":
            if text is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected text websocket messages, but got bytes")
            return text

        if self.encoding == "bytes":
            data = message.get("bytes")
            if data is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected bytes websocket messages, but got text")
            return data

        if self.encoding == "json":
            if text is None:
                text = message["bytes"].decode("utf-8")
            try:
                return json.loads(text)
            except json.decoder.JSONDecodeError:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Malformed JSON data received.")

        assert self.encoding is None, f"Unsupported 'encoding' attribute {self.encoding}"
        return text if text is not None else message["bytes"]

    async def on_connect(self, websocket: WebSocket) -> None:
        """Accept the connection. Override to check or reject it first."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Handle one decoded message. The default ignores it."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Clean up after the connection ends. The default does nothing."""
