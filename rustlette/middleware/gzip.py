from __future__ import annotations

import zlib
from typing import NoReturn

import anyio.lowlevel
import anyio.to_thread

from rustlette.datastructures import Headers, MutableHeaders
from rustlette.types import ASGIApp, Message, Receive, Scope, Send

# Media types that are already compressed or must reach the client chunk by chunk
# (server-sent events, gRPC). A "type/*" entry covers every subtype.
DEFAULT_EXCLUDED_CONTENT_TYPES = (
    "application/grpc",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "audio/*",
    "font/woff",
    "font/woff2",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/event-stream",
    "video/*",
)

_gzip_capacity_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("_gzip_capacity_limiter")


def _get_gzip_capacity_limiter() -> anyio.CapacityLimiter:
    """Return the limiter for compression threads, one per event loop."""
    try:
        return _gzip_capacity_limiter.get()
    except LookupError:
        # A limiter of its own, so that compression cannot take the threads that
        # run_in_threadpool needs. 40 is the size of AnyIO's default limiter.
        limiter = anyio.CapacityLimiter(40)
        _gzip_capacity_limiter.set(limiter)
        return limiter


class GZipMiddleware:
    """Compresses response bodies with gzip for clients that accept it."""

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = 128 * 1024,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = _normalize_content_types(exclude_content_types)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        responder: ASGIApp
        if "gzip" in headers.get("Accept-Encoding", ""):
            responder = GZipResponder(
                self.app,
                self.minimum_size,
                compresslevel=self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
        else:
            # Bodies of at least minimum_size still get "Vary: Accept-Encoding",
            # because a client that accepts gzip would get a different response.
            responder = IdentityResponder(self.app, self.minimum_size, exclude_content_types=self.exclude_content_types)

        await responder(scope, receive, send)


class IdentityResponder:
    """Passes one response through unchanged, with the decisions and headers of a compressing responder.

    Subclasses set `content_encoding` and override `apply_compression()`.
    """

    content_encoding: str

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.exclude_content_types = _normalize_content_types(exclude_content_types)
        self.send: Send = unattached_send
        self.initial_message: Message = {}
        self.started = False
        self.content_encoding_set = False
        self.content_type_is_excluded = False
        self.partial_response = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.send = send
        await self.app(scope, receive, self.send_with_compression)

    async def send_with_compression(self, message: Message) -> None:
        """Send `message`, compressing the body unless the response start rules it out."""
        message_type = message["type"]
        passthrough = self.content_encoding_set or self.partial_response or self.content_type_is_excluded

        if message_type == "http.response.start":
            # Hold the start message back, because its headers depend on whether
            # the body gets compressed, which is decided at the first body message.
            self.initial_message = message
            message.setdefault("headers", [])
            headers = Headers(raw=self.initial_message["headers"])
            self.content_encoding_set = "content-encoding" in headers
            self.partial_response = message["status"] == 206
            self.content_type_is_excluded = self._is_excluded_media_type(headers.get("content-type", ""))
            if self.content_encoding_set or self.partial_response or self.content_type_is_excluded:
                await self.send(self.initial_message)
        elif message_type in ("http.response.body", "http.response.pathsend") and passthrough:
            await self.send(message)
        elif message_type == "http.response.body" and not self.started:
            self.started = True
            await self._send_first_body(message)
        elif message_type == "http.response.body":
            body = message.get("body", b"")
            more_body = message.get("more_body", False)
            message["body"] = await self.apply_compression(body, more_body=more_body)
            await self.send(message)
        elif message_type in ("http.response.early_hint", "http.response.trailers"):
            await self.send(message)
        elif message_type == "http.response.pathsend":  # pragma: no branch
            # The server sends the file itself, so there is no body to compress.
            await self.send(self.initial_message)
            await self.send(message)

    async def _send_first_body(self, message: Message) -> None:
        body = message.get("body", b"")
        more_body = message.get("more_body", False)

        # A small complete body is not worth compressing.
        if len(body) < self.minimum_size and not more_body:
            await self.send(self.initial_message)
            await self.send(message)
            return

        body = await self.apply_compression(body, more_body=more_body)
        headers = MutableHeaders(raw=self.initial_message["headers"])
        headers.add_vary_header("Accept-Encoding")
        if body != message["body"]:
            headers["Content-Encoding"] = self.content_encoding
            # A streamed body's final length is unknown, and a response with
            # trailers announces none.
            if more_body or self.initial_message.get("trailers", False):
                del headers["Content-Length"]
            else:
                headers["Content-Length"] = str(len(body))
            message["body"] = body

        await self.send(self.initial_message)
        await self.send(message)

    def _is_excluded_media_type(self, content_type: str) -> bool:
        media_type = content_type.partition(";")[0].strip().lower()
        media_types = {media_type, media_type.partition("/")[0] + "/*"}
        # "application/grpc+proto" and the like are gRPC too.
        if media_type.startswith("application/grpc+"):
            media_types.add("application/grpc")
        return not media_types.isdisjoint(self.exclude_content_types)

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        """Compress one body chunk, finishing the stream when `more_body` is false.

        The identity encoding returns `body` unchanged. Subclasses create their
        compressor on the first call, so a response that is never compressed costs none.
        """
        return body


class GZipResponder(IdentityResponder):
    """Compresses one response with gzip."""

    content_encoding = "gzip"

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        compresslevel: int = 9,
        *,
        thread_minimum_size: int = 128 * 1024,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        super().__init__(app, minimum_size, exclude_content_types=exclude_content_types)

        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size
        self._compressor: zlib._Compress | None = None

    @property
    def compressor(self) -> zlib._Compress:
        """The gzip stream of this response, created on first use."""
        if self._compressor is None:
            # 16 + MAX_WBITS selects the gzip container instead of raw zlib.
            self._compressor = zlib.compressobj(self.compresslevel, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return self._compressor

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) >= self.thread_minimum_size:
            # Large chunks go to a worker thread so they do not block the event loop.
            limiter = _get_gzip_capacity_limiter()
            return await anyio.to_thread.run_sync(self._compress_body, body, more_body, limiter=limiter)
        return self._compress_body(body, more_body)

    def _compress_body(self, body: bytes, more_body: bool) -> bytes:
        if more_body:
            # A sync flush lets the client decode everything sent so far.
            return self.compressor.compress(body) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        return self.compressor.compress(body) + self.compressor.flush()


async def unattached_send(message: Message) -> NoReturn:
    """Stand in for `send` until a responder is called."""
    raise RuntimeError("send awaitable not set")  # pragma: no cover


def _normalize_content_types(content_types: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(content_type.partition(";")[0].strip().lower() for content_type in content_types)
