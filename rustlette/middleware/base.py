from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Mapping, MutableMapping
from contextlib import aclosing
from typing import Any, TypeVar

import anyio

from rustlette._utils import create_collapsing_task_group
from rustlette.requests import ClientDisconnect, Request
from rustlette.responses import Response
from rustlette.types import ASGIApp, Message, Receive, Scope, Send

RequestResponseEndpoint = Callable[[Request], Awaitable[Response]]
DispatchFunction = Callable[[Request, RequestResponseEndpoint], Awaitable[Response]]
BodyStreamGenerator = AsyncGenerator[bytes | MutableMapping[str, Any], None]
AsyncContentStream = AsyncIterable[str | bytes | memoryview | MutableMapping[str, Any]]
T = TypeVar("T")


class _CachedRequest(Request):
    """The request passed to `dispatch()`, which replays its body to the wrapped app.

    If `dispatch()` read the body with `body()`, the app receives it again in one
    message. If `dispatch()` consumed `stream()`, the app receives an empty body
    so it does not wait forever. Otherwise the app reads the body as it arrives.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send):
        super().__init__(scope, receive, send)
        self._wrapped_rcv_disconnected = False
        self._wrapped_rcv_consumed = False

    async def wrapped_receive(self) -> Message:
        """Return the next message for the wrapped app."""
        if self._wrapped_rcv_disconnected:
            # The app has had its disconnect, and gets it again without waiting.
            return {"type": "http.disconnect"}

        if self._wrapped_rcv_consumed:
            # The app has the whole body, so only a disconnect can follow.
            if self._is_disconnected:
                self._wrapped_rcv_disconnected = True
                return {"type": "http.disconnect"}
            message = await self.receive()
            if message["type"] != "http.disconnect":  # pragma: no cover
                raise RuntimeError(f"Unexpected message received: {message['type']}")
            self._wrapped_rcv_disconnected = True
            return message

        if getattr(self, "_body", None) is not None:
            # dispatch() read the body. The app gets it even if the client has
            # disconnected since.
            self._wrapped_rcv_consumed = True
            return {"type": "http.request", "body": self._body, "more_body": False}

        if self._stream_consumed:
            self._wrapped_rcv_consumed = True
            return {"type": "http.request", "body": b"", "more_body": False}

        # Neither body() nor a complete stream(): pass the body through one chunk at a time.
        try:
            async with aclosing(self.stream()) as stream:
                chunk = await stream.__anext__()
            self._wrapped_rcv_consumed = self._stream_consumed
            return {"type": "http.request", "body": chunk, "more_body": not self._stream_consumed}
        except ClientDisconnect:
            self._wrapped_rcv_disconnected = True
            return {"type": "http.disconnect"}


class BaseHTTPMiddleware:
    """Middleware written as `dispatch(request, call_next) -> response`.

    `call_next(request)` runs the wrapped app in a task and returns its response as
    soon as the response starts, with the body streamed from the running app.
    Subclass and override `dispatch()`, or pass `dispatch=` a function.
    """

    def __init__(self, app: ASGIApp, dispatch: DispatchFunction | None = None) -> None:
        self.app = app
        self.dispatch_func = self.dispatch if dispatch is None else dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request = _CachedRequest(scope, receive, send)
        wrapped_receive = request.wrapped_receive
        response_sent = anyio.Event()
        app_exc: Exception | None = None
        exception_already_raised = False

        async def call_next(request: Request) -> Response:
            async def receive_or_disconnect() -> Message:
                # After dispatch() sent its response the app only receives
                # disconnects, so a streaming app stops instead of waiting.
                if response_sent.is_set():
                    return {"type": "http.disconnect"}

                # Wait for the next message or for the response to go out, whichever is first.
                async with anyio.create_task_group() as task_group:

                    async def wrap(func: Callable[[], Awaitable[T]]) -> T:
                        result = await func()
                        task_group.cancel_scope.cancel()
                        return result

                    task_group.start_soon(wrap, response_sent.wait)
                    message = await wrap(wrapped_receive)

                if response_sent.is_set():
                    return {"type": "http.disconnect"}
                return message

            async def send_no_error(message: Message) -> None:
                try:
                    await send_stream.send(message)
                except anyio.BrokenResourceError:
                    # dispatch() has finished and closed the receiving end, so the
                    # rest of the app's output is dropped.
                    return

                # Keep the app, and any background task after its response, from
                # running before dispatch() has sent the response on.
                if message["type"] == "http.response.pathsend" or (
                    message["type"] == "http.response.body" and not message.get("more_body", False)
                ):
                    await response_sent.wait()

            async def coro() -> None:
                nonlocal app_exc

                with send_stream:
                    try:
                        await self.app(scope, receive_or_disconnect, send_no_error)
                    except Exception as exc:
                        app_exc = exc

            task_group.start_soon(coro)

            try:
                info = None
                while True:
                    message = await recv_stream.receive()
                    if message["type"] == "http.response.debug":
                        info = message["info"]
                        continue
                    if message["type"] == "http.response.early_hint":
                        await send(message)
                        continue
                    break
            except anyio.EndOfStream:
                # The app finished without starting a response.
                if app_exc is not None:
                    nonlocal exception_already_raised
                    exception_already_raised = True
                    # Chaining to the cause, or else the context, keeps EndOfStream
                    # out of the app exception's traceback.
                    raise app_exc from app_exc.__cause__ or app_exc.__context__
                raise RuntimeError("No response returned.")

            assert message["type"] == "http.response.start"

            async def body_stream() -> BodyStreamGenerator:
                async for message in recv_stream:
                    if message["type"] == "http.response.pathsend":
                        yield message
                        break
                    assert message["type"] == "http.response.body", f"Unexpected message: {message}"
                    body = message.get("body", b"")
                    if body:
                        yield body
                    if not message.get("more_body", False):
                        break

            response = _StreamingResponse(status_code=message["status"], content=body_stream(), info=info)
            response.raw_headers = message.get("headers", [])
            return response

        send_stream, recv_stream = anyio.create_memory_object_stream[Message]()
        with recv_stream, send_stream:
            async with create_collapsing_task_group() as task_group:
                response = await self.dispatch_func(request, call_next)
                await response(scope, wrapped_receive, send)
                response_sent.set()
                recv_stream.close()
        # An exception the app raised after its response started reaches the
        # server here, once dispatch() is done.
        if app_exc is not None and not exception_already_raised:
            raise app_exc

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        raise NotImplementedError()  # pragma: no cover


class _StreamingResponse(Response):
    """The response `call_next()` returns: the app's status and headers, and its body as it is sent."""

    def __init__(
        self,
        content: AsyncContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.info = info
        self.body_iterator = content
        self.status_code = status_code
        self.media_type = media_type
        self.init_headers(headers)
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.info is not None:
            await send({"type": "http.response.debug", "info": self.info})
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": self.raw_headers,
            }
        )

        should_close_body = True
        async for chunk in self.body_iterator:
            if isinstance(chunk, dict):
                # An ASGI message other than a body chunk, such as pathsend, is sent as is.
                should_close_body = False
                await send(chunk)
                continue
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        if should_close_body:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        if self.background:
            await self.background()
