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
        instance = self.app(scope)
        await instance(receive, send)


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
        self.accepted_subprotocol = None
        self.portal_factory = portal_factory
        self.extra_headers = None

    def __enter__(self) -> Self:
        with contextlib.ExitStack() as stack:
            self.portal = portal = stack.enter_context(self.portal_factory())
            app_future, cancel_scope = portal.start_task(self._run)
            # On exit the app is cancelled first, and then its outcome is collected,
            # so an exception the app raised reaches the test.
            stack.callback(app_future.result)
            stack.callback(portal.call, cancel_scope.cancel)

            self.send({"type": "websocket.connect"})
            message = self.receive()
            self._raise_on_close(message)
            self.accepted_subprotocol = message.get("subprotocol", None)
            self.extra_headers = message.get("headers", None)

            stack.callback(self.close, 1000)
            self.exit_stack = stack.pop_all()
        return self

    def __exit__(self, *args: Any) -> bool | None:
        return self.exit_stack.__exit__(*args)

    async def _run(self, *, task_status: anyio.abc.TaskStatus[anyio.CancelScope]) -> None:
        """Run the application in the portal's event loop for the whole session."""
        to_client, from_app = anyio.create_memory_object_stream[Message](math.inf)
        to_app, from_client = anyio.create_memory_object_stream[Message](math.inf)
        with to_client, from_app, to_app, from_client, anyio.CancelScope() as cancel_scope:
            self._receive_tx = to_app
            self._send_rx = from_app
            task_status.started(cancel_scope)
            await self.app(self.scope, from_client.receive, to_client.send)

            # Messages the app sent before returning stay readable until the
            # session exits and cancels this scope.
            await anyio.sleep_forever()

    def _raise_on_close(self, message: Message) -> None:
        message_type = message["type"]
        if message_type == "websocket.close":
            raise WebSocketDisconnect(code=message.get("code", 1000), reason=message.get("reason", ""))
        if message_type != "websocket.http.response.start":
            return

        status_code: int = message["status"]
        headers: list[tuple[bytes, bytes]] = message["headers"]
        chunks: list[bytes] = []
        more_body = True
        while more_body:
            body_message = self.receive()
            assert body_message["type"] == "websocket.http.response.body"
            chunks.append(body_message["body"])
            more_body = body_message.get("more_body", False)
        raise WebSocketDenialResponse(status_code=status_code, headers=headers, content=b"".join(chunks))

    def send(self, message: Message) -> None:
        self.portal.call(self._receive_tx.send, message)

    def send_text(self, data: str) -> None:
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            self.send({"type": "websocket.receive", "text": text})
        else:
            self.send({"type": "websocket.receive", "bytes": text.encode("utf-8")})

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    def receive(self) -> Message:
        return self.portal.call(self._send_rx.receive)

    def receive_text(self) -> str:
        message = self.receive()
        self._raise_on_close(message)
        return cast(str, message["text"])

    def receive_bytes(self) -> bytes:
        message = self.receive()
        self._raise_on_close(message)
        return cast(bytes, message["bytes"])

    def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        message = self.receive()
        self._raise_on_close(message)
        if mode == "text":
            return json.loads(message["text"])
        return json.loads(message["bytes"].decode("utf-8"))


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
    stream between the two threads has no buffer.
    """

    def __init__(self, transport: _TestClientTransport, request: httpx.Request, scope: Scope) -> None:
        self.transport = transport
        self.request = request
        self.scope = scope
        self.request_complete = False
        self.response_started = False
        self.body_complete = False
        self.trailers_expected = False
        self.trailers: list[tuple[bytes, bytes]] = []
        self.response_kwargs: dict[str, Any] = {}
        self.debug_info: dict[str, Any] | None = None
        self.app_task: Future[None] | None = None

    async def _create_primitives(self) -> None:
        # anyio's Event and CancelScope take their implementation from the running
        # event loop, so they are created inside it.
        self.response_available = anyio.Event()
        self.response_complete = anyio.Event()
        self.body_tx, self.body_rx = anyio.create_memory_object_stream[tuple[bytes, bool]](0)
        self.cancel_scope = anyio.CancelScope()

    def run(self) -> httpx.Response:
        with contextlib.ExitStack() as stack:
            self.portal = portal = stack.enter_context(self.transport.portal_factory())
            portal.call(self._create_primitives)
            stack.callback(self.body_tx.close)
            stack.callback(self.body_rx.close)
            stack.push(self._close_app)
            self.app_task = portal.start_task_soon(self._run_app)
            portal.call(self.response_available.wait)

            if self.response_started:
                self.exit_stack = stack.pop_all()
                self.transport._open_requests.add(self.abort)
                self.response_kwargs["stream"] = _TestClientResponseStream(self._iter_body(), self.exit_stack)
            else:
                # Closing collects the app's outcome, and raises its exception when
                # server exceptions are raised.
                stack.close()
                if self.transport.raise_server_exceptions:
                    raise AssertionError("TestClient did not receive any response.")
                self.response_kwargs = {"status_code": 500, "headers": [], "stream": httpx.ByteStream(b"")}

        response = httpx.Response(**self.response_kwargs, request=self.request)
        if self.trailers_expected:
            # The list fills in while the body is read.
            response.extensions["http.response.trailers"] = self.trailers
        debug_info = self.debug_info
        if debug_info is not None:
            response.extensions["http.response.debug"] = debug_info
            if "template" in debug_info:
                response.template = debug_info["template"]  # type: ignore[attr-defined]
            if "context" in debug_info:
                response.context = debug_info["context"]  # type: ignore[attr-defined]
        return response

    async def _run_app(self) -> None:
        try:
            with self.cancel_scope:
                async with self.body_tx:
                    await self.transport.app(self.scope, self._receive, self._send)
        finally:
            self.response_available.set()

    async def _receive(self) -> Message:
        if self.request_complete:
            # The client disconnects only after the response is complete.
            if not self.response_complete.is_set():
                await self.response_complete.wait()
            return {"type": "http.disconnect"}

        body = self.request.read()
        self.request_complete = True
        return {"type": "http.request", "body": body}

    async def _send(self, message: Message) -> None:
        message_type = message["type"]
        if message_type == "http.response.start":
            assert not self.response_started, 'Received multiple "http.response.start" messages.'
            self.response_kwargs["status_code"] = message["status"]
            self.response_kwargs["headers"] = [
                (name.decode(), value.decode()) for name, value in message.get("headers", [])
            ]
            self.response_started = True
            self.trailers_expected = message.get("trailers", False)
            self.response_available.set()

        elif message_type == "http.response.body":
            assert self.response_started, 'Received "http.response.body" without "http.response.start".'
            assert not self.response_complete.is_set(), 'Received "http.response.body" after response completed.'
            assert not self.body_complete, 'Received "http.response.body" after body completed.'
            more_body = message.get("more_body", False)
            ends_response = not more_body and not self.trailers_expected
            await self.body_tx.send((bytes(message.get("body", b"")), ends_response))
            if not more_body:
                self.body_complete = True

        elif message_type == "http.response.trailers":
            assert self.trailers_expected, 'Received "http.response.trailers" without declaring trailers.'
            assert self.body_complete, 'Received "http.response.trailers" before body completed.'
            assert not self.response_complete.is_set(), 'Received "http.response.trailers" after response completed.'
            self.trailers.extend(message.get("headers", []))
            if not message.get("more_trailers", False):
                self.response_complete.set()

        elif message_type == "http.response.debug":
            self.debug_info = message["info"]

    async def _receive_body(self) -> bytes:
        body, ends_response = await self.body_rx.receive()
        if ends_response:
            self.response_complete.set()
        return body

    def _iter_body(self) -> Generator[bytes, None, None]:
        # A HEAD response still runs the app to completion but yields no bytes.
        keep_body = self.request.method != "HEAD"
        while True:
            try:
                chunk = self.portal.call(self._receive_body)
            except anyio.EndOfStream:
                break
            if keep_body and chunk:
                yield chunk
        self.exit_stack.close()

    def _cancel_if_incomplete(self) -> None:
        if not self.response_complete.is_set():
            self.cancel_scope.cancel()

    def _close_app(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        app_task = self.app_task
        if app_task is None:
            # Only reachable when a signal interrupts `start_task_soon`.
            self.portal.call(self.cancel_scope.cancel)
            return

        # An app still sending an unread body is cancelled. One that has finished the
        # response, and is running background tasks, is waited for.
        if not app_task.done():
            self.portal.call(self._cancel_if_incomplete)
        wait_futures([app_task])
        self.transport._open_requests.discard(self.abort)

        if exc_type is None and self.transport.raise_server_exceptions:
            exception = app_task.exception()
            if exception is not None:
                raise exception

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
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.portal_factory = portal_factory
        self.app_state = app_state
        self.client = client
        self._open_requests: set[Callable[[], None]] = set()

    def close(self) -> None:
        # An ExitStack runs every abort even when an earlier one raises.
        with contextlib.ExitStack() as stack:
            while self._open_requests:
                stack.callback(self._open_requests.pop())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        port = url.port
        if port is None:
            port = _DEFAULT_PORTS[scheme]

        # httpx sets Host on every request, unless a caller has removed it.
        headers: list[tuple[bytes, bytes]] = []
        if "host" not in request.headers:
            headers.append((b"host", url.netloc))
        headers.extend((name.lower().encode(), value.encode()) for name, value in request.headers.multi_items())

        # `url.path` is already percent-decoded once, and the scope decodes it again.
        # For example "/a%2525b" becomes "/a%25b" in httpx and "/a%b" here.
        path = unquote(url.path)
        raw_path = url.raw_path.split(b"?", 1)[0]
        server = [url.raw_host.decode("ascii"), port]

        scope: dict[str, Any]
        if scheme in {"ws", "wss"}:
            protocol_header = request.headers.get("sec-websocket-protocol", None)
            if protocol_header is None:
                subprotocols: Sequence[str] = []
            else:
                subprotocols = [value.strip() for value in protocol_header.split(",")]
            scope = {
                "type": "websocket",
                "path": path,
                "raw_path": raw_path,
                "root_path": self.root_path,
                "scheme": scheme,
                "query_string": url.query,
                "headers": headers,
                "client": self.client,
                "server": server,
                "subprotocols": subprotocols,
                "state": self.app_state.copy(),
                "extensions": {"websocket.http.response": {}},
            }
            raise _Upgrade(WebSocketTestSession(self.app, scope, self.portal_factory))

        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": request.method,
            "path": path,
            "raw_path": raw_path,
            "root_path": self.root_path,
            "scheme": scheme,
            "query_string": url.query,
            "headers": headers,
            "client": self.client,
            "server": server,
            "extensions": {"http.response.debug": {}, "http.response.trailers": {}},
            "state": self.app_state.copy(),
        }
        return _HTTPExchange(self, request, scope).run()


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
        if _is_asgi3(app):
            asgi_app = app
        else:
            asgi_app = _WrapASGI2(cast(ASGI2App, app))
        self.app = asgi_app
        self.app_state: dict[str, Any] = {}
        transport = _TestClientTransport(
            self.app,
            portal_factory=self._portal_factory,
            raise_server_exceptions=raise_server_exceptions,
            root_path=root_path,
            app_state=self.app_state,
            client=client,
        )
        # A copy, so the caller's mapping does not gain the user-agent entry.
        client_headers = {} if headers is None else headers.copy()
        client_headers.setdefault("user-agent", "testclient")
        super().__init__(
            base_url=base_url,
            headers=client_headers,
            transport=transport,
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    @contextlib.contextmanager
    def _portal_factory(self) -> Generator[anyio.from_thread.BlockingPortal, None, None]:
        # Inside `with TestClient(...)` every request shares the lifespan's event loop.
        # Outside it each request starts, and then stops, a loop of its own.
        if self.portal is not None:
            yield self.portal
            return
        with anyio.from_thread.start_blocking_portal(**self.async_backend) as portal:
            yield portal

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
        headers = kwargs.get("headers")
        headers = {} if headers is None else headers.copy()
        headers.setdefault("connection", "upgrade")
        headers.setdefault("sec-websocket-key", "testserver==")
        headers.setdefault("sec-websocket-version", "13")
        if subprotocols is not None:
            headers.setdefault("sec-websocket-protocol", ", ".join(subprotocols))
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
            self.portal = portal = stack.enter_context(anyio.from_thread.start_blocking_portal(**self.async_backend))
            stack.callback(self._reset_portal)

            # Named from the app's side: the app sends into `stream_send` and
            # receives from `stream_receive`. None marks the end of the lifespan task.
            send_channels = anyio.create_memory_object_stream[Message | None](math.inf)
            receive_channels = anyio.create_memory_object_stream[Message](math.inf)
            for channel in (*send_channels, *receive_channels):
                stack.callback(channel.close)
            self.stream_send = StapledObjectStream(*send_channels)
            self.stream_receive = StapledObjectStream(*receive_channels)

            self.task = portal.start_task_soon(self.lifespan)
            portal.call(self.wait_startup)
            stack.callback(portal.call, self.wait_shutdown)

            # Open streaming responses are aborted before the shutdown event is sent.
            stack.callback(self._transport.close)
            self.exit_stack = stack.pop_all()
        return self

    def __exit__(self, *args: Any) -> None:
        self.exit_stack.close()

    def _reset_portal(self) -> None:
        self.portal = None

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

    async def wait_startup(self) -> None:
        await self.stream_receive.send({"type": "lifespan.startup"})
        message = await self._receive_lifespan_message()
        assert message["type"] in (
            "lifespan.startup.complete",
            "lifespan.startup.failed",
        )
        # After "lifespan.startup.failed" the app is expected to raise, and the next
        # read re-raises its exception here.
        if message["type"] == "lifespan.startup.failed":
            await self._receive_lifespan_message()

    async def wait_shutdown(self) -> None:
        await self.stream_receive.send({"type": "lifespan.shutdown"})
        message = await self._receive_lifespan_message()
        assert message["type"] in (
            "lifespan.shutdown.complete",
            "lifespan.shutdown.failed",
        )
        if message["type"] == "lifespan.shutdown.failed":
            await self._receive_lifespan_message()
