from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Mapping, MutableMapping
from contextlib import aclosing
from typing import Any, TypeVar

import anyio
import anyio.abc

from rustlette._utils import create_collapsing_task_group
from rustlette.requests import ClientDisconnect, Request
from rustlette.responses import Response
from rustlette.types import ASGIApp, Message, Receive, Scope, Send

RequestResponseEndpoint = Callable[[Request], Awaitable[Response]]
DispatchFunction = Callable[[Request, RequestResponseEndpoint], Awaitable[Response]]
BodyStreamGenerator = AsyncGenerator[bytes | MutableMapping[str, Any], None]
AsyncContentStream = AsyncIterable[str | bytes | memoryview | MutableMapping[str, Any]]
T = TypeVar("T")

# How far the wrapped app has got in reading the request body through `_CachedRequest`.
_BODY_PENDING = 0  # Some or all of the body is still to be passed on.
_BODY_DELIVERED = 1  # The app has the whole body, so only a disconnect can follow.
_DISCONNECTED = 2  # The app has received a disconnect.


class _CachedRequest(Request):
    """The request passed to `dispatch()`, which replays its body to the wrapped app.

    If `dispatch()` read the body with `body()`, the app receives it again in one
    message. If `dispatch()` consumed `stream()`, the app receives an empty body
    so it does not wait forever. Otherwise the app reads the body as it arrives.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send):
        super().__init__(scope, receive, send)
        self._replay_stage = _BODY_PENDING

    async def wrapped_receive(self) -> Message:
        """Return the next message for the wrapped app."""
        stage = self._replay_stage
        if stage == _BODY_PENDING:
            return await self._next_body_message()
        if stage == _BODY_DELIVERED:
            return await self._wait_for_disconnect()
        # The app has had its disconnect, and gets another without waiting.
        return {"type": "http.disconnect"}

    async def _next_body_message(self) -> Message:
        cached = getattr(self, "_body", None)
        if cached is None and not self._stream_consumed:
            return await self._forward_chunk()

        # dispatch() read the body, or drained the stream so that only an empty body
        # is left. Either way the app gets it in one message, even if the client has
        # disconnected since.
        self._replay_stage = _BODY_DELIVERED
        return {"type": "http.request", "body": b"" if cached is None else cached, "more_body": False}

    async def _forward_chunk(self) -> Message:
        try:
            async with aclosing(self.stream()) as chunks:
                chunk = await chunks.__anext__()
        except ClientDisconnect:
            self._replay_stage = _DISCONNECTED
            return {"type": "http.disconnect"}

        finished = self._stream_consumed
        if finished:
            self._replay_stage = _BODY_DELIVERED
        return {"type": "http.request", "body": chunk, "more_body": not finished}

    async def _wait_for_disconnect(self) -> Message:
        if self._is_disconnected:
            # The disconnect has been received already, so waiting for another could hang.
            message: Message = {"type": "http.disconnect"}
        else:
            message = await self.receive()
            if message["type"] != "http.disconnect":  # pragma: no cover
                raise RuntimeError(f"Unexpected message received: {message['type']}")
        self._replay_stage = _DISCONNECTED
        return message


class _AppRun:
    """Runs the wrapped app for one request and carries its messages to `call_next()`.

    The app runs in a task of the middleware's task group and sends into a memory
    stream. `call_next()` reads the stream up to `http.response.start`, and the body
    stream of the response it returns reads the rest.
    """

    def __init__(self, app: ASGIApp, scope: Scope, app_receive: Receive, send: Send) -> None:
        self.app = app
        self.scope = scope
        self.app_receive = app_receive
        self.send = send
        self.send_stream, self.recv_stream = anyio.create_memory_object_stream[Message]()
        # Set once dispatch() has sent its response on.
        self.response_sent = anyio.Event()
        self.task_group: anyio.abc.TaskGroup | None = None
        self.app_exc: Exception | None = None
        self.app_exc_raised = False

    async def call_next(self, request: Request) -> Response:
        assert self.task_group is not None
        self.task_group.start_soon(self._run_app)

        try:
            start, info = await self._receive_response_start()
        except anyio.EndOfStream:
            # The app finished without starting a response.
            failure = self.app_exc
            if failure is None:
                raise RuntimeError("No response returned.")
            self.app_exc_raised = True
            # Chaining to the cause, or else the context, keeps EndOfStream out of
            # the traceback of the app's exception.
            raise failure from failure.__cause__ or failure.__context__

        assert start["type"] == "http.response.start"
        response = _StreamingResponse(status_code=start["status"], content=self._body_chunks(), info=info)
        # The app's own header list, so that dispatch() edits it in place.
        response.raw_headers = start.get("headers", [])
        return response

    def finish(self) -> None:
        """Mark the response as sent, and stop the app's messages from reaching a reader."""
        self.response_sent.set()
        self.recv_stream.close()

    async def _run_app(self) -> None:
        with self.send_stream:
            try:
                await self.app(self.scope, self._receive_for_app, self._send_from_app)
            except Exception as exc:
                # Raised by call_next() when there is no response, otherwise by
                # the middleware once dispatch() is done.
                self.app_exc = exc

    async def _receive_for_app(self) -> Message:
        # Once dispatch() has sent its response, the app only receives
        # disconnects, so a streaming app stops instead of waiting.
        if self.response_sent.is_set():
            return {"type": "http.disconnect"}

        async with anyio.create_task_group() as race:
            # Whichever comes first, a message or the response going out, ends the other.
            race.start_soon(self._cancel_when_sent, race.cancel_scope)
            message = await self.app_receive()
            race.cancel_scope.cancel()

        # When the response went out first, the receive was cancelled and `message`
        # is unset, but then this check returns before reading it.
        if self.response_sent.is_set():
            return {"type": "http.disconnect"}
        return message

    async def _cancel_when_sent(self, cancel_scope: anyio.CancelScope) -> None:
        await self.response_sent.wait()
        cancel_scope.cancel()

    async def _send_from_app(self, message: Message) -> None:
        try:
            await self.send_stream.send(message)
        except anyio.BrokenResourceError:
            # dispatch() has finished and closed the receiving end, so the rest of
            # the app's output is dropped.
            return

        # Keep the app, and any background task after its response, from running
        # on before dispatch() has sent the response.
        if _ends_response(message):
            await self.response_sent.wait()

    async def _receive_response_start(self) -> tuple[Message, Any]:
        # Debug information and early hints may come before the response start.
        info = None
        while True:
            message = await self.recv_stream.receive()
            kind = message["type"]
            if kind == "http.response.debug":
                info = message["info"]
            elif kind == "http.response.early_hint":
                # An early hint goes to the client at once, ahead of the response.
                await self.send(message)
            else:
                return message, info

    async def _body_chunks(self) -> BodyStreamGenerator:
        async for message in self.recv_stream:
            if message["type"] == "http.response.pathsend":
                yield message
                return
            assert message["type"] == "http.response.body", f"Unexpected message: {message}"
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


def _ends_response(message: Message) -> bool:
    kind: str = message["type"]
    if kind == "http.response.body":
        return not message.get("more_body", False)
    return kind == "http.response.pathsend"


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
        run = _AppRun(self.app, scope, request.wrapped_receive, send)
        with run.recv_stream, run.send_stream:
            async with create_collapsing_task_group() as task_group:
                run.task_group = task_group
                response = await self.dispatch_func(request, run.call_next)
                await response(scope, request.wrapped_receive, send)
                run.finish()

        # An exception the app raised after its response started reaches the
        # server here, once dispatch() is done.
        if run.app_exc is not None and not run.app_exc_raised:
            raise run.app_exc

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
        # Response.__init__ would render a body, which this response streams instead.
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.info = info
        self.body_iterator = content
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.info is not None:
            await send({"type": "http.response.debug", "info": self.info})
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})

        # A message in place of a chunk, such as pathsend, completes the response itself.
        completed_by_message = False
        async for chunk in self.body_iterator:
            if isinstance(chunk, dict):
                completed_by_message = True
                await send(chunk)
            else:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not completed_by_message:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        if self.background:
            await self.background()
