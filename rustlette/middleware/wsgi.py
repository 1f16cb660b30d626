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


def _to_wsgi_string(value: str) -> str:
    """Re-encode text as PEP 3333 expects: the UTF-8 bytes, each read as one latin-1 character."""
    return value.encode("utf8").decode("latin1")


def _environ_key(header_name: str) -> str:
    """Map a lower-case header name to its CGI variable: `x-forwarded-for` gives `HTTP_X_FORWARDED_FOR`."""
    if header_name == "content-type":
        return "CONTENT_TYPE"
    if header_name == "content-length":
        return "CONTENT_LENGTH"
    return f"HTTP_{header_name}".upper().replace("-", "_")


def build_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """Build the WSGI environ for an ASGI HTTP scope and its complete request body."""
    script_name = _to_wsgi_string(scope.get("root_path", ""))
    path_info = _to_wsgi_string(scope["path"])
    # The root path is removed only up to a "/" boundary, so "/apix" stays whole under "/api".
    if path_info == script_name or path_info.startswith(script_name.rstrip("/") + "/"):
        path_info = path_info[len(script_name) :]

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
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }

    # WSGI requires the server address, which is optional in ASGI.
    server = scope.get("server") or ("localhost", 80)
    environ["SERVER_NAME"] = server[0]
    # NOTE: the port stays an int as in Starlette, although PEP 3333 requires a str.
    environ["SERVER_PORT"] = server[1]

    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]

    # Repeated headers are joined with commas into one variable, as CGI does.
    for raw_name, raw_value in scope.get("headers", []):
        key = _environ_key(raw_name.decode("latin1"))
        value = raw_value.decode("latin1")
        if key in environ:
            value = f"{environ[key]},{value}"
        environ[key] = value
    return environ


class WSGIMiddleware:
    """An ASGI app that runs a WSGI application in a worker thread for each request."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        responder = WSGIResponder(self.app, scope)
        await responder(receive, send)


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
        self.stream_send, self.stream_receive = anyio.create_memory_object_stream(math.inf)
        self.response_started = False
        self.exc_info: Any = None

    async def __call__(self, receive: Receive, send: Send) -> None:
        # WSGI reads the body from a file, so the whole body is received first.
        chunks: list[bytes] = []
        more_body = True
        while more_body:
            message = await receive()
            chunks.append(message.get("body", b""))
            more_body = message.get("more_body", False)
        environ = build_environ(self.scope, b"".join(chunks))

        async with create_collapsing_task_group() as task_group:
            task_group.start_soon(self.sender, send)
            # Closing the send side ends the sender's loop once the app has finished.
            async with self.stream_send:
                await anyio.to_thread.run_sync(self.wsgi, environ, self.start_response)
        if self.exc_info is not None:
            raise self.exc_info[1].with_traceback(self.exc_info[2])

    async def sender(self, send: Send) -> None:
        async with self.stream_receive:
            async for message in self.stream_receive:
                await send(message)

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
        status_code, _reason = status.split(" ", 1)
        headers = [
            (name.strip().encode("ascii").lower(), value.strip().encode("ascii")) for name, value in response_headers
        ]
        anyio.from_thread.run(
            self.stream_send.send,
            {"type": "http.response.start", "status": int(status_code), "headers": headers},
        )

    def wsgi(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> None:
        # NOTE: as in Starlette, the close() method of the returned iterable is not called.
        for chunk in self.app(environ, start_response):
            anyio.from_thread.run(
                self.stream_send.send,
                {"type": "http.response.body", "body": chunk, "more_body": True},
            )

        anyio.from_thread.run(self.stream_send.send, {"type": "http.response.body", "body": b""})
