"""An ASGI adapter for WSGI applications, deprecated like Starlette's."""

from __future__ import annotations

import io
import math
import sys
import warnings
from collections.abc import Callable, MutableMapping
from typing import Any

import anyio.from_thread
import anyio.to_thread
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from rustlette._utils import create_collapsing_task_group
from rustlette.exceptions import StarletteDeprecationWarning
from rustlette.types import Receive, Scope, Send

# The text is Starlette's own, so that warning filters written for Starlette match it too.
warnings.warn(
    "starlette.middleware.wsgi is deprecated and will be removed in a future release. "
    "Please refer to https://github.com/abersheeran/a2wsgi as a replacement.",
    StarletteDeprecationWarning,
    stacklevel=2,
)

# WSGI requires a server address, which ASGI leaves optional.
_DEFAULT_SERVER = ("localhost", 80)

# The last three wsgi.* entries of the environ, which are the same for every request.
_WSGI_FLAGS = {"wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False}

# The two headers that CGI passes without the HTTP_ prefix.
_UNPREFIXED_HEADERS = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


def _to_wsgi_string(value: str) -> str:
    """Re-encode text as PEP 3333 expects: the UTF-8 bytes, each read as one latin-1 character."""
    return value.encode("utf8").decode("latin1")


def _environ_key(header_name: str) -> str:
    """Map a lower-case header name to its CGI variable: `x-forwarded-for` gives `HTTP_X_FORWARDED_FOR`."""
    unprefixed = _UNPREFIXED_HEADERS.get(header_name)
    if unprefixed is not None:
        return unprefixed
    return f"HTTP_{header_name}".upper().replace("-", "_")


def _path_below_root(path: str, root_path: str) -> str:
    """Remove `root_path` from the front of `path`, but only up to a "/" boundary.

    Under the root "/api", "/api/users" gives "/users" while "/apix" stays whole.
    """
    boundary = root_path.rstrip("/") + "/"
    if path != root_path and not path.startswith(boundary):
        return path
    return path[len(root_path) :]


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _encode_header(name: str, value: str) -> tuple[bytes, bytes]:
    # Lower-casing the bytes, after the ASCII check, keeps non-ASCII names rejected
    # even when str.lower() would map them to ASCII.
    return name.strip().encode("ascii").lower(), value.strip().encode("ascii")


def build_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """Build the WSGI environ for an ASGI HTTP scope and its complete request body."""
    script_name = _to_wsgi_string(scope.get("root_path", ""))
    path_info = _path_below_root(_to_wsgi_string(scope["path"]), script_name)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope["query_string"].decode("ascii"),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stdout,
        **_WSGI_FLAGS,
    }

    server = scope.get("server") or _DEFAULT_SERVER
    # NOTE: the port stays an int as in Starlette, although PEP 3333 requires a str.
    environ["SERVER_NAME"], environ["SERVER_PORT"] = server[0], server[1]
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]

    # Repeated headers are joined with commas into one variable, as CGI does.
    for raw_name, raw_value in scope.get("headers", []):
        key = _environ_key(raw_name.decode("latin1"))
        value = raw_value.decode("latin1")
        previous = environ.get(key)
        environ[key] = value if previous is None else f"{previous},{value}"
    return environ


class WSGIMiddleware:
    """An ASGI app that runs a WSGI application in a worker thread for each request."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        await WSGIResponder(self.app, scope)(receive, send)


class WSGIResponder:
    """The bridge that runs one request through a WSGI application and sends its response as ASGI messages.

    The application runs in a worker thread, and its messages reach the event loop through
    an unbounded memory stream that a sender task drains.
    """

    stream_send: ObjectSendStream[MutableMapping[str, Any]]
    stream_receive: ObjectReceiveStream[MutableMapping[str, Any]]

    def __init__(self, app: Callable[..., Any], scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self.status = None
        self.response_headers = None
        self.response_started = False
        self.exc_info: Any = None
        # An unbounded buffer, so a send from the worker thread never waits for the client to read.
        self.stream_send, self.stream_receive = anyio.create_memory_object_stream(max_buffer_size=math.inf)

    async def __call__(self, receive: Receive, send: Send) -> None:
        # WSGI reads the body from a file, so the whole body is received first.
        environ = build_environ(self.scope, await _read_body(receive))

        async with create_collapsing_task_group() as task_group:
            task_group.start_soon(self.sender, send)
            try:
                await anyio.to_thread.run_sync(self.wsgi, environ, self.start_response)
            finally:
                # The sender stops once the stream is closed and drained.
                await self.stream_send.aclose()

        if self.exc_info is None:
            return
        _, error, traceback = self.exc_info
        raise error.with_traceback(traceback)

    async def sender(self, send: Send) -> None:
        try:
            async for message in self.stream_receive:
                await send(message)
        finally:
            await self.stream_receive.aclose()

    def start_response(
        self,
        status: str,
        response_headers: list[tuple[str, str]],
        exc_info: Any = None,
    ) -> None:
        self.exc_info = exc_info
        # Only the first call sends a status: the response has started by any later call.
        if self.response_started:  # pragma: no cover
            return

        self.response_started = True
        # A status without a reason phrase fails to unpack, as it does in Starlette.
        code, _reason = status.split(" ", 1)
        status_code = int(code)
        headers = [_encode_header(name, value) for name, value in response_headers]
        self._send_from_thread({"type": "http.response.start", "status": status_code, "headers": headers})

    def wsgi(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> None:
        # NOTE: as in Starlette, the close() method of the returned iterable is not called.
        for chunk in self.app(environ, start_response):
            self._send_from_thread({"type": "http.response.body", "body": chunk, "more_body": True})
        self._send_from_thread({"type": "http.response.body", "body": b""})

    def _send_from_thread(self, message: MutableMapping[str, Any]) -> None:
        anyio.from_thread.run(self.stream_send.send, message)
