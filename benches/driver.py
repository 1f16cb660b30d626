"""Drive an ASGI app in process, with no server and no sockets, and time it.

`AppDriver` sends one prepared HTTP request to an app many times inside a single
coroutine. A timed batch therefore measures the app plus a few dict copies and two
small callables, and no server, socket or event-loop scheduling.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
LifespanMode = Literal["auto", "on", "off"]

_CLIENT = ("127.0.0.1", 50000)
_SERVER = ("127.0.0.1", 8000)


class ResponseMismatch(AssertionError):
    """A response that differs from the one the benchmark expects."""


class LifespanFailed(RuntimeError):
    """An error that the app reported or raised during lifespan startup or shutdown."""


@dataclass(frozen=True)
class Response:
    """Status, headers and body of one response, as the driver collected them."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def build_scope(
    method: str,
    path: str,
    *,
    query_string: bytes = b"",
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> dict[str, Any]:
    """Build an HTTP scope like the one uvicorn passes for a plain HTTP/1.1 request.

    `path` is the decoded path. `raw_path` is its UTF-8 encoding, which is what a
    server sends for a path without percent-escapes.
    """
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query_string,
        "root_path": "",
        "headers": list(headers),
        "client": _CLIENT,
        "server": _SERVER,
    }


def check_response(response: Response, *, status: int, body: bytes) -> None:
    """Raise ResponseMismatch unless the response has this status and body."""
    if response.status != status:
        raise ResponseMismatch(f"expected status {status}, got {response.status} with body {_preview(response.body)}")
    if response.body != body:
        raise ResponseMismatch(f"expected body {_preview(body)}, got {_preview(response.body)}")


def _preview(body: bytes, limit: int = 120) -> str:
    if len(body) <= limit:
        return repr(body)
    return f"{body[:limit]!r}... ({len(body)} bytes)"


class _Exchange:
    """The receive and send callables of one request, and the response they collect."""

    __slots__ = ("_body", "_body_sent", "_finished", "status", "headers", "chunks", "complete")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._body_sent = False
        self._finished: asyncio.Event | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.complete = False

    async def receive(self) -> Message:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}

        # Apps that watch for a disconnect (StreamingResponse does) call again after
        # the body. A server sends http.disconnect only when the client goes away, and
        # here that is when the response is complete, so the response is never cut short.
        if not self.complete:
            if self._finished is None:
                self._finished = asyncio.Event()
            await self._finished.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        message_type = message["type"]
        if message_type == "http.response.start":
            self.status = message["status"]
            self.headers = [(bytes(key), bytes(value)) for key, value in message.get("headers", ())]
        elif message_type == "http.response.body":
            chunk = message.get("body", b"")
            if chunk:
                self.chunks.append(bytes(chunk))
            if not message.get("more_body", False):
                self.complete = True
                if self._finished is not None:
                    self._finished.set()


class _ChunkedExchange(_Exchange):
    """An `_Exchange` whose request body comes in several `http.request` messages."""

    __slots__ = ("_parts", "_next")

    def __init__(self, parts: Sequence[bytes]) -> None:
        super().__init__(b"")
        self._parts = parts
        self._next = 0

    async def receive(self) -> Message:
        index = self._next
        if index < len(self._parts):
            self._next = index + 1
            return {"type": "http.request", "body": self._parts[index], "more_body": index + 1 < len(self._parts)}
        # After the last part, a disconnect comes only once the response is complete, as in `_Exchange`.
        self._body_sent = True
        return await super().receive()


class AppDriver:
    """Sends one prepared HTTP request to an ASGI app, once or in timed batches.

    Each request gets a shallow copy of the scope, its own header list and its own
    copy of the lifespan state, as uvicorn gives each request, because apps add keys
    to the scope. With `chunk_size`, the body goes in messages of that many bytes, as
    a server delivers a large body, and otherwise in one message. Call `startup()`
    once before any request and `shutdown()` at the end, all on one event loop.
    """

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        *,
        body: bytes = b"",
        lifespan: LifespanMode = "auto",
        chunk_size: int | None = None,
    ) -> None:
        self.app = app
        self.scope = scope
        self.body = body
        # The exchange type and its argument, chosen once so that the timed loop has no branch.
        self._exchange_type: Callable[[Any], _Exchange]
        self._exchange_input: object
        if chunk_size is None:
            self._exchange_type, self._exchange_input = _Exchange, body
        else:
            if chunk_size < 1:
                raise ValueError(f"chunk_size must be a positive number of bytes, got {chunk_size}")
            parts = [body[start : start + chunk_size] for start in range(0, len(body), chunk_size)]
            self._exchange_type, self._exchange_input = _ChunkedExchange, parts or [b""]
        self.lifespan = lifespan
        self.lifespan_supported = False
        self._state: dict[str, Any] | None = None
        self._lifespan_task: asyncio.Task[None] | None = None
        self._lifespan_inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_outbox: asyncio.Queue[Message] = asyncio.Queue()

    async def startup(self) -> None:
        """Run the app's lifespan startup, unless the mode is "off".

        In "auto" mode, as in uvicorn, an app that raises or returns before it
        replies to lifespan.startup is taken not to support lifespan, and requests
        go ahead without it. In "on" mode that raises LifespanFailed.
        """
        if self.lifespan == "off":
            return

        self._state = {}
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self._state}
        self._lifespan_inbox.put_nowait({"type": "lifespan.startup"})
        task = asyncio.ensure_future(self.app(scope, self._lifespan_inbox.get, self._lifespan_outbox.put))
        reply = await self._next_lifespan_message(task)

        if reply is None:
            self._state = None
            # Reading the error also marks it retrieved, so asyncio does not log it later.
            detail = _task_error(task)
            if self.lifespan == "on":
                raise LifespanFailed(f"the app ended lifespan before it replied to lifespan.startup: {detail}")
            return
        if reply["type"] != "lifespan.startup.complete":
            with contextlib.suppress(Exception):
                await task
            raise LifespanFailed(f"lifespan startup failed: {_last_line(reply.get('message') or reply['type'])}")
        self.lifespan_supported = True
        self._lifespan_task = task

    async def shutdown(self) -> None:
        """Run the app's lifespan shutdown if its startup ran."""
        task = self._lifespan_task
        if task is None:
            return
        self._lifespan_task = None

        self._lifespan_inbox.put_nowait({"type": "lifespan.shutdown"})
        reply = await self._next_lifespan_message(task)
        with contextlib.suppress(Exception):
            await task
        if reply is None or reply["type"] != "lifespan.shutdown.complete":
            detail = _task_error(task) if reply is None else _last_line(reply.get("message") or reply["type"])
            raise LifespanFailed(f"lifespan shutdown failed: {detail}")

    async def _next_lifespan_message(self, task: asyncio.Task[None]) -> Message | None:
        """Wait for the app's next lifespan message, or return None if the app ends first."""
        getter = asyncio.ensure_future(self._lifespan_outbox.get())
        await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()

        # The app ended first, but it may have sent its last message just before.
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await getter
        if not self._lifespan_outbox.empty():
            return self._lifespan_outbox.get_nowait()
        return None

    def _request_scope(self) -> Scope:
        scope = dict(self.scope)
        scope["headers"] = list(self.scope["headers"])
        if self._state is not None:
            scope["state"] = self._state.copy()
        return scope

    async def request(self) -> Response:
        """Send the request once and return the whole response."""
        exchange = self._exchange_type(self._exchange_input)
        await self.app(self._request_scope(), exchange.receive, exchange.send)
        if not exchange.complete:
            raise ResponseMismatch(f"the app returned before it finished the response (status {exchange.status})")
        return Response(exchange.status, exchange.headers, b"".join(exchange.chunks))

    async def run_batch(self, count: int, expected_status: int) -> int:
        """Send the request `count` times and return the elapsed time in nanoseconds.

        Every response's status is checked inside the timed loop, so that a route that
        starts to fail halfway shows up as an error instead of as a fast result.
        """
        app = self.app
        new_exchange = self._exchange_type
        exchange_input = self._exchange_input
        make_scope = self._request_scope

        start = time.perf_counter_ns()
        for _ in range(count):
            exchange = new_exchange(exchange_input)
            await app(make_scope(), exchange.receive, exchange.send)
            if exchange.status != expected_status or not exchange.complete:
                raise ResponseMismatch(
                    f"expected a complete response with status {expected_status}, "
                    f"got status {exchange.status} (complete: {exchange.complete})"
                )
        return time.perf_counter_ns() - start


def _last_line(text: str) -> str:
    """Return the last non-blank line, which for a traceback names the exception."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else text


def _task_error(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "the lifespan task was cancelled"
    error = task.exception()
    return "it returned" if error is None else f"{type(error).__name__}: {error}"


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector collected first and then off.

    A collection that fires inside one sample and not in another would add a
    random delay to one contender only.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def time_calls(function: Callable[[Any], object], argument: object, count: int) -> int:
    """Call `function(argument)` `count` times and return the elapsed nanoseconds."""
    start = time.perf_counter_ns()
    for _ in range(count):
        function(argument)
    return time.perf_counter_ns() - start
