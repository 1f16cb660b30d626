from __future__ import annotations

import functools
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

# Adding 16 to the window size makes zlib write a gzip header and trailer
# instead of the zlib ones.
_GZIP_WBITS = zlib.MAX_WBITS + 16

# Message types that go out unchanged whatever the encoding decision.
_FORWARDED_TYPES = frozenset({"http.response.early_hint", "http.response.trailers"})

_gzip_capacity_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("_gzip_capacity_limiter")


def _get_gzip_capacity_limiter() -> anyio.CapacityLimiter:
    """Return the limiter for compression threads, one per event loop."""
    limiter = _gzip_capacity_limiter.get(None)
    if limiter is None:
        # A limiter of its own, so that compression cannot take the threads that
        # run_in_threadpool needs. 40 is the size of AnyIO's default limiter.
        limiter = anyio.CapacityLimiter(40)
        _gzip_capacity_limiter.set(limiter)
    return limiter


def _bare_media_type(content_type: str) -> str:
    # "Text/HTML; charset=utf-8" becomes "text/html".
    return content_type.partition(";")[0].strip().lower()


@functools.lru_cache(maxsize=32)
def _normalize_hashable(content_types: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(map(_bare_media_type, content_types))


def _normalize_content_types(content_types: tuple[str, ...]) -> tuple[str, ...]:
    # The responder of every request gets the middleware's tuple again, so the
    # result is cached instead of being rebuilt per request.
    try:
        return _normalize_hashable(content_types)
    except TypeError:
        # An unhashable argument, such as a list, is normalized without the cache,
        # outside this block so that any error there does not chain to this one.
        pass
    return tuple(map(_bare_media_type, content_types))


def _is_excluded(content_type: str, excluded: tuple[str, ...]) -> bool:
    """Tell whether a Content-Type value falls under one of the normalized `excluded` entries."""
    media_type = _bare_media_type(content_type)
    if media_type in excluded or media_type.partition("/")[0] + "/*" in excluded:
        return True
    # Structured gRPC types such as "application/grpc+proto" count as gRPC.
    return media_type.startswith("application/grpc+") and "application/grpc" in excluded


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
        app = self._responder_for(scope) if scope["type"] == "http" else self.app
        await app(scope, receive, send)

    def _responder_for(self, scope: Scope) -> IdentityResponder:
        """Create the responder for one request, which stores that response's state."""
        excluded = self.exclude_content_types
        if "gzip" in Headers(scope=scope).get("Accept-Encoding", ""):
            return GZipResponder(
                self.app,
                self.minimum_size,
                self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=excluded,
            )
        # Bodies of at least minimum_size still get "Vary: Accept-Encoding",
        # because a client that accepts gzip would get a different response.
        return IdentityResponder(self.app, self.minimum_size, exclude_content_types=excluded)


class IdentityResponder:
    """Passes one response through unchanged, with the decisions and headers of a compressing responder.

    Subclasses set `content_encoding` and override `apply_compression()`.
    """

    content_encoding: str

    # Per-response state. Class attributes give the starting values, so each
    # request's responder stores only what changes.
    started = False
    # Any of these three leaves the response as the app sent it.
    content_encoding_set = False
    partial_response = False
    content_type_is_excluded = False

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
        # The response start is held back here until the first body message
        # decides whether the body gets encoded.
        self.initial_message: Message = {}
        self.send: Send = unattached_send

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.send = send
        await self.app(scope, receive, self.send_with_compression)

    async def send_with_compression(self, message: Message) -> None:
        """Send `message`, compressing the body unless the response start rules it out."""
        kind = message["type"]
        if kind == "http.response.start":
            self._record_start(message)
            # An encoded, partial or excluded body goes out as is, so the start can too.
            if self._skips_encoding():
                await self.send(message)
        elif kind == "http.response.body":
            if self._skips_encoding():
                await self.send(message)
            elif self.started:
                chunk = message.get("body", b"")
                message["body"] = await self.apply_compression(chunk, more_body=message.get("more_body", False))
                await self.send(message)
            else:
                self.started = True
                await self._send_first_body(message)
        elif kind == "http.response.pathsend":
            # The server sends the file itself, so there is no body to compress.
            if not self._skips_encoding():
                await self.send(self.initial_message)
            await self.send(message)
        elif kind in _FORWARDED_TYPES:
            await self.send(message)

    def _skips_encoding(self) -> bool:
        return self.content_encoding_set or self.partial_response or self.content_type_is_excluded

    def _record_start(self, message: Message) -> None:
        self.initial_message = message
        headers = Headers(raw=message.setdefault("headers", []))
        self.content_encoding_set = "content-encoding" in headers
        self.partial_response = message["status"] == 206
        self.content_type_is_excluded = _is_excluded(headers.get("content-type", ""), self.exclude_content_types)

    async def _send_first_body(self, message: Message) -> None:
        body = message.get("body", b"")
        streaming = bool(message.get("more_body", False))
        # A small complete body is not worth compressing.
        small_and_complete = len(body) < self.minimum_size and not streaming
        if not small_and_complete:
            await self._encode_first_body(message, body, streaming)
        await self.send(self.initial_message)
        await self.send(message)

    async def _encode_first_body(self, message: Message, body: bytes, streaming: bool) -> None:
        encoded = await self.apply_compression(body, more_body=streaming)
        response_headers = MutableHeaders(raw=self.initial_message["headers"])
        response_headers.add_vary_header("Accept-Encoding")
        # The identity encoding leaves the body as it is, and so the headers too.
        if encoded == message["body"]:
            return

        response_headers["Content-Encoding"] = self.content_encoding
        # The final length of a streamed body is unknown, and a response with
        # trailers announces none.
        if streaming or self.initial_message.get("trailers", False):
            del response_headers["Content-Length"]
        else:
            response_headers["Content-Length"] = str(len(encoded))
        message["body"] = encoded

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        """Compress one body chunk, finishing the stream when `more_body` is false.

        The identity encoding returns `body` unchanged. Subclasses create their
        compressor on the first call, so a response that is never compressed costs none.
        """
        return body


class GZipResponder(IdentityResponder):
    """Compresses one response with gzip."""

    content_encoding = "gzip"
    _compressor: zlib._Compress | None = None

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

    @property
    def compressor(self) -> zlib._Compress:
        """The gzip stream of this response, created on first use."""
        compressor = self._compressor
        if compressor is None:
            compressor = self._compressor = zlib.compressobj(self.compresslevel, zlib.DEFLATED, _GZIP_WBITS)
        return compressor

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) < self.thread_minimum_size:
            return self._compress_body(body, more_body)
        # Compressing a large chunk here would block the event loop for its duration.
        limiter = _get_gzip_capacity_limiter()
        return await anyio.to_thread.run_sync(self._compress_body, body, more_body, limiter=limiter)

    def _compress_body(self, body: bytes, more_body: bool) -> bytes:
        compressor = self.compressor
        # A sync flush lets the client decode everything sent so far, and the
        # last chunk ends the gzip stream with its trailer.
        mode = zlib.Z_SYNC_FLUSH if more_body else zlib.Z_FINISH
        return compressor.compress(body) + compressor.flush(mode)


async def unattached_send(message: Message) -> NoReturn:
    """Stand in for `send` until a responder is called."""
    raise RuntimeError("send awaitable not set")  # pragma: no cover
