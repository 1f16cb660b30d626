from __future__ import annotations

import contextlib
import inspect
import json
import math
import warnings
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from concurrent.futures import Future, wait as wait_futures
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypedDict, TypeGuard, cast
from urllib.parse import unquote, urljoin

import anyio
import anyio.abc
import anyio.from_thread
from anyio.streams.stapled import StapledObjectStream

from rustlette._utils import is_async_callable
from rustlette.exceptions import StarletteDeprecationWarning
from rustlette.types import ASGIApp, Message, Receive, Scope, Send
from rustlette.websockets import WebSocketDisconnect

# httpx2 is the supported client. httpx still works for now, with a deprecation warning,
# and the message texts match Starlette 1.10 so that filters written for it still apply.
if TYPE_CHECKING:
    import httpx2 as httpx
else:
    try:
        import httpx2 as httpx
    except ModuleNotFoundError:
        try:
            import httpx
        except ModuleNotFoundError:
            raise RuntimeError(
                "The starlette.testclient module requires the httpx2 package to be installed.\n"
                "You can install this with:\n"
                "    $ pip install httpx2\n"
            ) from None
        else:
            warnings.warn(
                "Using `httpx` with `starlette.testclient` is deprecated; install `httpx2` instead.",
                StarletteDeprecationWarning,
                stacklevel=2,
            )

_PortalFactoryType = Callable[[], AbstractContextManager[anyio.from_thread.BlockingPortal]]

ASGIInstance = Callable[[Receive, Send], Awaitable[None]]
ASGI2App = Callable[[Scope], ASGIInstance]
ASGI3App = Callable[[Scope, Receive, Send], Awaitable[None]]


_RequestData = Mapping[str, str | Iterable[str] | bytes]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _is_asgi3(app: ASGI2App | ASGI3App) -> TypeGuard[ASGI3App]:
    # Calling an ASGI 3 class, such as `HTTPEndpoint`, with (scope, receive, send)
    # builds an instance that is awaited, so the class itself defines `__await__`.
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    return is_async_callable(app)


class _WrapASGI2:
    """An ASGI 3 application that runs an ASGI 2 (double-callable) application."""

    def __init__(self, app: ASGI2App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope)(receive, send)


class _AsyncBackend(TypedDict):
    backend: str
    backend_options: dict[str, Any]


class _Upgrade(Exception):
    """Carries a WebSocket session out of the transport, which can only return HTTP responses."""

    def __init__(self, session: WebSocketTestSession) -> None:
        self.session = session


class WebSocketDenialResponse(  # type: ignore[misc]
    httpx.Response,
    WebSocketDisconnect,
):
    """
    The HTTP response an application sends with `send_denial_response()` to reject a
    WebSocket handshake. Entering the test session raises it.
    """


class WebSocketTestSession:
    """The client end of a WebSocket connection to an application under test."""

    def __init__(
        self,
        app: ASGI3App,
        scope: Scope,
        portal_factory: _PortalFactoryType,
    ) -> None:
        self.app = app
        self.scope = scope
        self.portal_factory = portal_factory
        # Both come from the application's "websocket.accept" message.
        self.accepted_subprotocol = None
        self.extra_headers = None

    def __enter__(self) -> Self:
        with contextlib.ExitStack() as stack:
            portal = stack.enter_context(self.portal_factory())
            self.portal = portal
            app_future, app_cancel_scope = portal.start_task(self._run)
            # Exit runs these last to first: the client disconnects, the app is
            # cancelled, and then its outcome is collected, so an exception the app
            # raised reaches the test.
            stack.callback(app_future.result)
            stack.callback(portal.call, app_cancel_scope.cancel)
            self._handshake()
            stack.callback(self.close, 1000)
            self.exit_stack = stack.pop_all()
        return self

    def __exit__(self, *args: Any) -> bool | None:
        return self.exit_stack.__exit__(*args)

    def _handshake(self) -> None:
        self.send({"type": "websocket.connect"})
        accept = self.receive()
        self._raise_on_close(accept)
        self.accepted_subprotocol = accept.get("subprotocol", None)
        self.extra_headers = accept.get("headers", None)

    async def _run(self, *, task_status: anyio.abc.TaskStatus[anyio.CancelScope]) -> None:
        """Run the application in the portal's event loop for the whole session."""
        # `_receive_tx` and `_send_rx` are the test's ends of the two queues. Test
        # helpers outside this package read them, so the names stay.
        app_outbox, self._send_rx = anyio.create_memory_object_stream[Message](math.inf)
        self._receive_tx, app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        with app_outbox, self._send_rx, self._receive_tx, app_inbox, anyio.CancelScope() as cancel_scope:
            task_status.started(cancel_scope)
            await self.app(self.scope, app_inbox.receive, app_outbox.send)
            # Messages the app sent before returning stay readable until the
            # session exits and cancels this scope.
            await anyio.sleep_forever()

    def _raise_on_close(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.close":
            raise WebSocketDisconnect(code=message.get("code", 1000), reason=message.get("reason", ""))
        if kind == "websocket.http.response.start":
            raise self._read_denial_response(message)

    def _read_denial_response(self, start: Message) -> WebSocketDenialResponse:
        """Collect the body messages that follow a denial response's start message."""
        status_code: int = start["status"]
        headers: list[tuple[bytes, bytes]] = start["headers"]
        chunks: list[bytes] = []
        more_body = True
        while more_body:
            body_message = self.receive()
            assert body_message["type"] == "websocket.http.response.body"
            chunks.append(body_message["body"])
            more_body = body_message.get("more_body", False)
        return WebSocketDenialResponse(status_code=status_code, headers=headers, content=b"".join(chunks))

    def send(self, message: Message) -> None:
        self.portal.call(self._receive_tx.send, message)

    def send_text(self, data: str) -> None:
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        # Any mode other than "text" sends a binary frame, without validation.
        if mode == "text":
            self.send({"type": "websocket.receive", "text": encoded})
        else:
            self.send({"type": "websocket.receive", "bytes": encoded.encode("utf-8")})

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    def receive(self) -> Message:
        return self.portal.call(self._send_rx.receive)

    def _receive_data(self) -> Message:
        message = self.receive()
        self._raise_on_close(message)
        return message

    def receive_text(self) -> str:
        return cast(str, self._receive_data()["text"])

    def receive_bytes(self) -> bytes:
        return cast(bytes, self._receive_data()["bytes"])

    def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        message = self._receive_data()
        if mode != "text":
            return json.loads(message["bytes"].decode("utf-8"))
        return json.loads(message["text"])


class _TestClientResponseStream(httpx.SyncByteStream):
    """A response body read from the running application, chunk by chunk."""

    def __init__(self, body: Generator[bytes, None, None], exit_stack: contextlib.ExitStack) -> None:
        self._body = body
        self._exit_stack = exit_stack

    def __iter__(self) -> Generator[bytes, None, None]:
        return self._body

    def close(self) -> None:
        self._exit_stack.close()


class _HTTPExchange:
    """
    One HTTP request run through the application in the portal's event loop.

    The caller's thread drives it. `run` returns as soon as the response starts, and
    the body is then pulled one "http.response.body" message at a time, because the
    queue between the two threads has a buffer size of zero.
    """

    def __init__(self, transport: _TestClientTransport, request: httpx.Request, scope: Scope) -> None:
        self.transport = transport
        self.request = request
        self.scope = scope
        self.app_future: Future[None] | None = None
        self.exit_stack = contextlib.ExitStack()

        # What the application has sent so far.
        self.request_read = False
        self.started = False
        self.status_code = 0
        self.headers: list[tuple[str, str]] = []
        self.body_ended = False
        self.has_trailers = False
        self.trailers: list[tuple[bytes, bytes]] = []
        self.debug_info: dict[str, Any] | None = None

    async def _open(self) -> None:
        # anyio's Event and CancelScope take their implementation from the running
        # event loop, so they are created inside it.
        self.start_or_exit = anyio.Event()
        self.finished = anyio.Event()
        self.chunks_in, self.chunks_out = anyio.create_memory_object_stream[tuple[bytes, bool]](0)
        self.cancel_scope = anyio.CancelScope()

    def run(self) -> httpx.Response:
        with contextlib.ExitStack() as stack:
            self.portal = stack.enter_context(self.transport.portal_factory())
            self.portal.call(self._open)
            stack.callback(self.chunks_in.close)
            stack.callback(self.chunks_out.close)
            stack.push(self._close_app)
            self.app_future = self.portal.start_task_soon(self._run_app)
            self.portal.call(self.start_or_exit.wait)

            if self.started:
                # The body stream owns the cleanup from here on.
                self.exit_stack = stack.pop_all()
                self.transport._open_requests.add(self.abort)
                stream = _TestClientResponseStream(self._iter_body(), self.exit_stack)
                return self._build_response(self.status_code, self.headers, stream)

            # The app returned or failed without starting a response. Closing waits
            # for it, and raises its exception when server exceptions are raised.
            stack.close()
        if self.transport.raise_server_exceptions:
            raise AssertionError("TestClient did not receive any response.")
        # The status of a start message that failed halfway is discarded.
        return self._build_response(500, [], httpx.ByteStream(b""))

    def _build_response(
        self, status_code: int, headers: list[tuple[str, str]], stream: httpx.SyncByteStream
    ) -> httpx.Response:
        response = httpx.Response(status_code=status_code, headers=headers, stream=stream, request=self.request)
        if self.has_trailers:
            # The list fills in while the body is read.
            response.extensions["http.response.trailers"] = self.trailers
        info = self.debug_info
        if info is not None:
            response.extensions["http.response.debug"] = info
            if "template" in info:
                response.template = info["template"]  # type: ignore[attr-defined]
            if "context" in info:
                response.context = info["context"]  # type: ignore[attr-defined]
        return response

    async def _run_app(self) -> None:
        try:
            with self.cancel_scope:
                # Leaving this block closes the queue, which ends the client's body loop.
                async with self.chunks_in:
                    await self.transport.app(self.scope, self._receive, self._send)
        finally:
            self.start_or_exit.set()

    async def _receive(self) -> Message:
        if not self.request_read:
            body = self.request.read()
            self.request_read = True
            return {"type": "http.request", "body": body}

        # The client disconnects only after the response is complete. The check
        # comes first because waiting on a set anyio Event still yields to the loop.
        if not self.finished.is_set():
            await self.finished.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._on_start(message)
        elif kind == "http.response.body":
            await self._on_body(message)
        elif kind == "http.response.trailers":
            self._on_trailers(message)
        elif kind == "http.response.debug":
            self.debug_info = message["info"]
        # Other message types, such as "http.response.pathsend", are ignored.

    def _on_start(self, message: Message) -> None:
        assert not self.started, 'Received multiple "http.response.start" messages.'
        self.status_code = message["status"]
        self.headers = [(name.decode(), value.decode()) for name, value in message.get("headers", [])]
        self.started = True
        self.has_trailers = message.get("trailers", False)
        self.start_or_exit.set()

    async def _on_body(self, message: Message) -> None:
        assert self.started, 'Received "http.response.body" without "http.response.start".'
        assert not self.finished.is_set(), 'Received "http.response.body" after response completed.'
        assert not self.body_ended, 'Received "http.response.body" after body completed.'
        more_body = message.get("more_body", False)
        # The second item is True when this chunk completes the response.
        is_last = not more_body and not self.has_trailers
        await self.chunks_in.send((bytes(message.get("body", b"")), is_last))
        if not more_body:
            self.body_ended = True

    def _on_trailers(self, message: Message) -> None:
        assert self.has_trailers, 'Received "http.response.trailers" without declaring trailers.'
        assert self.body_ended, 'Received "http.response.trailers" before body completed.'
        assert not self.finished.is_set(), 'Received "http.response.trailers" after response completed.'
        self.trailers.extend(message.get("headers", []))
        if not message.get("more_trailers", False):
            self.finished.set()

    async def _next_chunk(self) -> bytes:
        chunk, is_last = await self.chunks_out.receive()
        if is_last:
            self.finished.set()
        return chunk

    def _iter_body(self) -> Generator[bytes, None, None]:
        # A HEAD response still runs the app to completion but yields no bytes.
        keep_body = self.request.method != "HEAD"
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                chunk = self.portal.call(self._next_chunk)
                if keep_body and chunk:
                    yield chunk
        self.exit_stack.close()

    def _cancel_unless_finished(self) -> None:
        if not self.finished.is_set():
            self.cancel_scope.cancel()

    def _close_app(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        app_future = self.app_future
        if app_future is None:
            # Only reachable when a signal interrupts `start_task_soon`.
            self.portal.call(self.cancel_scope.cancel)
            return

        # An app still sending an unread body is cancelled. One that has finished the
        # response, and is running background tasks, is waited for.
        if not app_future.done():
            self.portal.call(self._cancel_unless_finished)
        wait_futures([app_future])
        self.transport._open_requests.discard(self.abort)

        if exc_type is not None or not self.transport.raise_server_exceptions:
            return
        error = app_future.exception()
        if error is not None:
            raise error

    def abort(self) -> None:
        self.portal.call(self.cancel_scope.cancel)
        self.exit_stack.close()


class _TestClientTransport(httpx.BaseTransport):
    """An httpx transport that sends each request to an ASGI application in-process."""

    def __init__(
        self,
        app: ASGI3App,
        portal_factory: _PortalFactoryType,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        *,
        client: tuple[str, int],
        app_state: dict[str, Any],
    ) -> None:
        self.app = app
        self.portal_factory = portal_factory
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.client = client
        self.app_state = app_state
        # The `abort` of every response whose body is still open.
        self._open_requests: set[Callable[[], None]] = set()

    def close(self) -> None:
        # An ExitStack runs every abort even when an earlier one raises.
        with contextlib.ExitStack() as stack:
            while self._open_requests:
                stack.callback(self._open_requests.pop())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        connection = self._connection_scope(request)
        if request.url.scheme in ("ws", "wss"):
            raise _Upgrade(WebSocketTestSession(self.app, self._websocket_scope(request, connection), self.portal_factory))

        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": request.method,
            **connection,
            "extensions": {"http.response.debug": {}, "http.response.trailers": {}},
            "state": self.app_state.copy(),
        }
        return _HTTPExchange(self, request, scope).run()

    def _connection_scope(self, request: httpx.Request) -> dict[str, Any]:
        """Build the scope keys that HTTP and WebSocket requests share, in ASGI server order."""
        url = request.url
        # Looked up even when the URL has a port, so a scheme other than http,
        # https, ws or wss raises KeyError as in Starlette.
        default_port = _DEFAULT_PORTS[url.scheme]

        # httpx sets Host on every request, unless a caller has removed it.
        headers = [] if "host" in request.headers else [(b"host", url.netloc)]
        headers.extend((name.lower().encode(), value.encode()) for name, value in request.headers.multi_items())

        return {
            # `url.path` is already percent-decoded once, and the scope decodes it
            # again: "/a%2525b" becomes "/a%25b" in httpx and "/a%b" here.
            "path": unquote(url.path),
            "raw_path": url.raw_path.partition(b"?")[0],
            "root_path": self.root_path,
            "scheme": url.scheme,
            "query_string": url.query,
            "headers": headers,
            "client": self.client,
            "server": [url.raw_host.decode("ascii"), default_port if url.port is None else url.port],
        }

    def _websocket_scope(self, request: httpx.Request, connection: dict[str, Any]) -> dict[str, Any]:
        offered = request.headers.get("sec-websocket-protocol", None)
        subprotocols: Sequence[str] = [] if offered is None else [name.strip() for name in offered.split(",")]
        return {
            "type": "websocket",
            **connection,
            "subprotocols": subprotocols,
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }


class TestClient(httpx.Client):
    """
    An httpx client that calls an ASGI application in-process.

    Entering it with `with` runs the application's lifespan startup, and leaving
    runs the shutdown.
    """

    __test__ = False
    task: Future[None]
    portal: anyio.from_thread.BlockingPortal | None = None

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: Literal["asyncio", "trio"] = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: httpx._types.CookieTypes | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        self.async_backend = _AsyncBackend(backend=backend, backend_options=backend_options or {})
        self.app = app if _is_asgi3(app) else _WrapASGI2(cast(ASGI2App, app))
        self.app_state: dict[str, Any] = {}

        # A copy, so the caller's mapping does not gain the user-agent entry.
        client_headers = {} if headers is None else headers.copy()
        client_headers.setdefault("user-agent", "testclient")

        super().__init__(
            base_url=base_url,
            headers=client_headers,
            transport=_TestClientTransport(
                self.app,
                portal_factory=self._portal_factory,
                raise_server_exceptions=raise_server_exceptions,
                root_path=root_path,
                app_state=self.app_state,
                client=client,
            ),
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    @contextlib.contextmanager
    def _portal_factory(self) -> Generator[anyio.from_thread.BlockingPortal, None, None]:
        # Inside `with TestClient(...)` every request shares the lifespan's event loop.
        # Outside it each request starts, and then stops, a loop of its own.
        shared = self.portal
        if shared is None:
            with anyio.from_thread.start_blocking_portal(**self.async_backend) as own:
                yield own
        else:
            yield shared

    def request(  # type: ignore[override]
        self,
        method: str,
        url: httpx._types.URLTypes,
        *,
        content: httpx._types.RequestContent | None = None,
        data: _RequestData | None = None,
        files: httpx._types.RequestFiles | None = None,
        json: Any = None,
        params: httpx._types.QueryParamTypes | None = None,
        headers: httpx._types.HeaderTypes | None = None,
        cookies: httpx._types.CookieTypes | None = None,
        auth: httpx._types.AuthTypes | httpx._client.UseClientDefault = httpx._client.USE_CLIENT_DEFAULT,
        follow_redirects: bool | httpx._client.UseClientDefault = httpx._client.USE_CLIENT_DEFAULT,
        timeout: httpx._types.TimeoutTypes | httpx._client.UseClientDefault = httpx._client.USE_CLIENT_DEFAULT,
        extensions: dict[str, Any] | None = None,
    ) -> httpx.Response:
        if timeout is not httpx.USE_CLIENT_DEFAULT:
            warnings.warn(
                "You should not use the 'timeout' argument with the TestClient. "
                "It runs the application in-process and ignores timeouts.",
                StarletteDeprecationWarning,
                stacklevel=2,
            )
        return super().request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> WebSocketTestSession:
        """
        Return a session for the WebSocket at `url`, which is resolved against
        "ws://testserver" and not against `base_url`. Enter the session with `with`
        to perform the handshake.
        """
        url = urljoin("ws://testserver", url)

        # A copy of the same mapping type, so a dict keeps dict semantics and the
        # caller's object is left unchanged.
        caller_headers = kwargs.get("headers")
        headers = {} if caller_headers is None else caller_headers.copy()
        handshake = {"connection": "upgrade", "sec-websocket-key": "testserver==", "sec-websocket-version": "13"}
        if subprotocols is not None:
            handshake["sec-websocket-protocol"] = ", ".join(subprotocols)
        for name, value in handshake.items():
            headers.setdefault(name, value)
        kwargs["headers"] = headers

        # The transport raises `_Upgrade` for ws:// URLs, so no response comes back.
        # `httpx.Client.request` is called directly to skip the timeout warning.
        try:
            super().request("GET", url, **kwargs)
        except _Upgrade as upgrade:
            return upgrade.session
        raise RuntimeError("Expected WebSocket upgrade")

    def __enter__(self) -> Self:
        with contextlib.ExitStack() as stack:
            portal = stack.enter_context(anyio.from_thread.start_blocking_portal(**self.async_backend))
            self.portal = portal
            stack.callback(self._reset_portal)
            self._open_lifespan_streams(stack)

            self.task = portal.start_task_soon(self.lifespan)
            portal.call(self.wait_startup)

            # Exit runs these last to first: open streaming responses are aborted,
            # and then the shutdown event is sent.
            stack.callback(lambda: portal.call(self.wait_shutdown))
            stack.callback(self._transport.close)
            self.exit_stack = stack.pop_all()
        return self

    def __exit__(self, *args: Any) -> None:
        self.exit_stack.close()

    def _reset_portal(self) -> None:
        self.portal = None

    def _open_lifespan_streams(self, stack: contextlib.ExitStack) -> None:
        # Named from the app's side: the app sends into `stream_send` and receives
        # from `stream_receive`. None in `stream_send` marks the end of the lifespan task.
        app_sends = anyio.create_memory_object_stream[Message | None](math.inf)
        app_receives = anyio.create_memory_object_stream[Message](math.inf)
        for stream_end in (*app_sends, *app_receives):
            stack.callback(stream_end.close)
        self.stream_send = StapledObjectStream(*app_sends)
        self.stream_receive = StapledObjectStream(*app_receives)

    async def lifespan(self) -> None:
        scope = {"type": "lifespan", "state": self.app_state}
        try:
            await self.app(scope, self.stream_receive.receive, self.stream_send.send)
        finally:
            await self.stream_send.send(None)

    async def _receive_lifespan_message(self) -> Any:
        message = await self.stream_send.receive()
        if message is None:
            # The lifespan task has finished by now, so this raises its exception
            # if it had one.
            # NOTE: an app that returns without sending a lifespan reply leaves
            # `message` as None, and the caller's `message["type"]` raises TypeError,
            # as in Starlette.
            self.task.result()
        return message

    async def _run_lifespan_phase(self, phase: Literal["startup", "shutdown"]) -> None:
        await self.stream_receive.send({"type": f"lifespan.{phase}"})
        reply = await self._receive_lifespan_message()
        failed = f"lifespan.{phase}.failed"
        assert reply["type"] in (f"lifespan.{phase}.complete", failed)
        # After a "failed" reply the app is expected to raise, and the next read
        # re-raises its exception here.
        if reply["type"] == failed:
            await self._receive_lifespan_message()

    async def wait_startup(self) -> None:
        await self._run_lifespan_phase("startup")

    async def wait_shutdown(self) -> None:
        await self._run_lifespan_phase("shutdown")
