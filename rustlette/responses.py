from __future__ import annotations

import hashlib
import http.cookies
import os
import stat
import sys
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from email.utils import format_datetime, formatdate
from functools import partial
from mimetypes import guess_type
from secrets import token_hex
from typing import Any, Literal
from urllib.parse import quote

import anyio
import anyio.to_thread

from rustlette import _rust
from rustlette._utils import create_collapsing_task_group
from rustlette.background import BackgroundTask
from rustlette.concurrency import iterate_in_threadpool
from rustlette.datastructures import URL, Headers, MutableHeaders
from rustlette.requests import ClientDisconnect
from rustlette.types import Message, Receive, Scope, Send

# The ASGI WebSocket Denial Response extension carries an HTTP response to a rejected
# handshake in the usual HTTP messages, renamed with a `websocket.` prefix.
_DENIAL_MESSAGE_TYPES = {
    "http.response.start": "websocket.http.response.start",
    "http.response.body": "websocket.http.response.body",
}

# URL delimiters and "%" stay as they are in a Location header, so a URL that is already
# percent-encoded is not encoded a second time.
_LOCATION_SAFE_CHARACTERS = ":/%#?=@[]!$&'()*+,;"

_SAMESITE_VALUES = ("strict", "lax", "none")

# Chunks of these types go to the server as they are, and anything else is encoded text.
_BINARY_CHUNK_TYPES = (bytes, memoryview)


# Encoded Content-Type values by media type and charset, because most apps send a
# handful of media types and building the value costs more than this lookup. The
# bound keeps media types built from request data from growing it without limit.
_CONTENT_TYPE_VALUES: dict[tuple[str, str], bytes] = {}
_MAX_CONTENT_TYPE_VALUES = 256


def _encode_content_type(media_type: str, charset: str) -> bytes:
    """Build the Content-Type value for `media_type`, and remember it for later responses."""
    value = media_type
    # A text type without a charset parameter gets the charset `render` encodes with.
    if value.startswith("text/") and "charset=" not in value.lower():
        value = value + "; charset=" + charset
    encoded = value.encode("latin-1")
    # Only exact strings are stored, whose methods and hash are the built-in ones.
    if type(media_type) is str and type(charset) is str and len(_CONTENT_TYPE_VALUES) < _MAX_CONTENT_TYPE_VALUES:
        _CONTENT_TYPE_VALUES[media_type, charset] = encoded
    return encoded


def _start_message(status: int, headers: list[tuple[bytes, bytes]]) -> Message:
    return {"type": "http.response.start", "status": status, "headers": headers}


def _body_message(body: bytes | memoryview, more_body: bool) -> Message:
    return {"type": "http.response.body", "body": body, "more_body": more_body}


def _send_raises_on_disconnect(scope: Scope) -> bool:
    """Return whether the server follows ASGI 2.4 or later, where `send` raises `OSError` once the client is gone.

    Older servers report a disconnect only as a message from `receive`.
    """
    version = scope.get("asgi", {}).get("spec_version", "2.0")
    return tuple(map(int, version.split("."))) >= (2, 4)


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _stop_on_disconnect(
    transfer: Callable[[], Awaitable[None]], wait_for_disconnect: Callable[[], Awaitable[None]]
) -> None:
    """Run `transfer` in a child task and cancel it if `wait_for_disconnect` returns first.

    Whichever side finishes first cancels the other: a finished transfer stops the wait,
    and a disconnect stops the transfer.
    """
    async with create_collapsing_task_group() as task_group:

        async def transfer_then_stop_waiting() -> None:
            await transfer()
            task_group.cancel_scope.cancel()

        task_group.start_soon(transfer_then_stop_waiting)
        await wait_for_disconnect()
        task_group.cancel_scope.cancel()


class Response:
    """An HTTP response with a body that is rendered once, when the response is built."""

    media_type = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.init_headers(headers)

    def render(self, content: Any) -> bytes | memoryview:
        """Convert `content` to the body: `None` is empty, and text is encoded with `charset`."""
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode(self.charset)
        if content is None:
            return b""
        if isinstance(content, memoryview):
            # A strided view has to be copied. A contiguous one is sent without a copy, recast
            # to unsigned bytes so that its length counts bytes and not items.
            if not content.c_contiguous:
                return content.tobytes()
            return content.cast("B")
        # Anything else needs an `encode` method, as in Starlette, so an int or a list
        # raises AttributeError here.
        return content.encode(self.charset)  # type: ignore[no-any-return]

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build `raw_headers` from `headers` and add Content-Length and Content-Type unless given."""
        raw_headers: list[tuple[bytes, bytes]] = []
        add_length = add_type = True
        if headers is not None:
            for name, value in headers.items():
                raw_name = name.lower().encode("latin-1")
                raw_headers.append((raw_name, value.encode("latin-1")))
                if raw_name == b"content-length":
                    add_length = False
                elif raw_name == b"content-type":
                    add_type = False

        # RFC 9110 section 8.6 forbids Content-Length on 1xx and 204 responses. On a 304 it
        # would have to give the size of the full representation, not of the empty body.
        body = getattr(self, "body", None)
        if add_length and body is not None:
            status_code = self.status_code
            if status_code >= 200 and status_code not in (204, 304):
                raw_headers.append((b"content-length", b"%d" % len(body)))

        media_type = self.media_type
        if add_type and media_type is not None:
            charset = self.charset
            try:
                content_type = _CONTENT_TYPE_VALUES[media_type, charset]
            except (KeyError, TypeError):
                content_type = _encode_content_type(media_type, charset)
            raw_headers.append((b"content-type", content_type))

        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        # Built on first use around `raw_headers` itself, so edits through either show in both.
        headers: MutableHeaders | None = getattr(self, "_headers", None)
        if headers is None:
            headers = self._headers = MutableHeaders(raw=self.raw_headers)
        return headers

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Append a Set-Cookie header. `http.cookies` checks the name and quotes the value."""
        jar: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
        jar[key] = value

        # Arguments are checked in Starlette's order, so the same exception wins when
        # several are wrong.
        if isinstance(expires, datetime):
            expires = format_datetime(expires, usegmt=True)
        if samesite is not None:
            assert samesite.lower() in _SAMESITE_VALUES, "samesite must be either 'strict', 'lax' or 'none'"
        if partitioned and sys.version_info < (3, 14):
            # http.cookies supports the Partitioned attribute from Python 3.14 on.
            raise ValueError("Partitioned cookies are only supported in Python 3.14 and above.")  # pragma: no cover

        # Flags such as Secure are written by name alone, so a false one is left out like a
        # `None` value.
        attributes = (
            ("max-age", max_age),
            ("expires", expires),
            ("path", path),
            ("domain", domain),
            ("secure", True if secure else None),
            ("httponly", True if httponly else None),
            ("samesite", samesite),
            ("partitioned", True if partitioned else None),
        )
        morsel = jar[key]
        for name, setting in attributes:
            if setting is not None:
                morsel[name] = setting

        self.raw_headers.append((b"set-cookie", morsel.OutputString().strip().encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Append a Set-Cookie header that expires the cookie at once."""
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    def _wrap_websocket_denial_send(self, send: Send) -> Send:
        """Wrap `send` so that the response goes out as a WebSocket denial response."""

        async def send_as_denial(message: Message) -> None:
            denial_type = _DENIAL_MESSAGE_TYPES.get(message["type"])
            if denial_type is not None:
                message = {**message, "type": denial_type}
            await send(message)

        return send_as_denial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            send = self._wrap_websocket_denial_send(send)
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})

        background = self.background
        if background is not None:
            await background()


class HTMLResponse(Response):
    media_type = "text/html"


class PlainTextResponse(Response):
    media_type = "text/plain"


class JSONResponse(Response):
    """A response whose content is encoded as compact JSON in UTF-8."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        # The extension gives the bytes and exceptions of Starlette's
        # json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
        # separators=(",", ":")).encode("utf-8"), in one call.
        return _rust.encode_json(content)


class RedirectResponse(Response):
    """A redirect to `url`, with 307 Temporary Redirect as the default status."""

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content=b"", status_code=status_code, headers=headers, background=background)
        self.headers["location"] = quote(str(url), safe=_LOCATION_SAFE_CHARACTERS)


Content = str | bytes | memoryview
SyncContentStream = Iterable[Content]
AsyncContentStream = AsyncIterable[Content]
ContentStream = AsyncContentStream | SyncContentStream


class StreamingResponse(Response):
    """A response whose body comes from an iterator, sent chunk by chunk as it is produced.

    A sync iterator runs in worker threads. `str` chunks are encoded with `charset`.
    """

    body_iterator: AsyncContentStream

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        # A sync iterator could block the event loop between chunks, so threads drive it.
        self.body_iterator = content if isinstance(content, AsyncIterable) else iterate_in_threadpool(content)
        self.status_code = status_code
        self.media_type = media_type if media_type is not None else self.media_type
        self.background = background
        self.init_headers(headers)

    async def listen_for_disconnect(self, receive: Receive) -> None:
        await _wait_for_disconnect(receive)

    async def stream_response(self, send: Send) -> None:
        await send(_start_message(self.status_code, self.raw_headers))
        async for chunk in self.body_iterator:
            body = chunk if isinstance(chunk, _BINARY_CHUNK_TYPES) else chunk.encode(self.charset)
            await send(_body_message(body, True))
        await send(_body_message(b"", False))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.stream_response(self._wrap_websocket_denial_send(send))
        elif _send_raises_on_disconnect(scope):
            try:
                await self.stream_response(send)
            except OSError:
                raise ClientDisconnect()
        else:
            await _stop_on_disconnect(partial(self.stream_response, send), partial(self.listen_for_disconnect, receive))

        background = self.background
        if background is not None:
            await background()


class MalformedRangeHeader(Exception):
    """A Range header that cannot be parsed. `content` is the body of the 400 response."""

    def __init__(self, content: str = "Malformed range header.") -> None:
        self.content = content


class RangeNotSatisfiable(Exception):
    """A Range header with a range that starts at or past the end of the file.

    `max_size` is the file size, which the 416 response reports.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size


def _guess_media_type(name: str | os.PathLike[str]) -> str:
    guessed, _encoding = guess_type(name)
    return guessed or "application/octet-stream"


def _content_disposition(disposition_type: str, filename: str) -> str:
    """Build a Content-Disposition value for `filename`.

    A name that percent-encoding changes, such as one with spaces or non-ASCII letters,
    goes in the `filename*` parameter of RFC 6266, and any other in `filename`.
    """
    encoded = quote(filename)
    if encoded == filename:
        return f'{disposition_type}; filename="{filename}"'
    return f"{disposition_type}; filename*=utf-8''{encoded}"


def _make_etag(mtime: float, size: int) -> str:
    # A change to either the modification time or the size gives a new tag.
    digest = hashlib.md5(f"{mtime}-{size}".encode(), usedforsecurity=False).hexdigest()
    return f'"{digest}"'


def _parse_byte_range(spec: str, file_size: int) -> tuple[int, int] | None:
    """Convert one byte-range spec to `(start, end)` with `end` exclusive, or `None` to skip it.

    `"0-9"` gives `(0, 10)`, `"5-"` gives `(5, file_size)` and the suffix `"-3"` gives the
    last 3 bytes. An end beyond the file is cut to the file size. Specs without a dash, with
    neither number, or with text that is not a number are skipped.
    """
    first, dash, last = spec.partition("-")
    first = first.strip()
    last = last.strip()
    if not dash or not (first or last):
        return None
    try:
        if not first:
            return max(file_size - int(last), 0), file_size
        stop = int(last) + 1 if last else file_size
        return int(first), min(stop, file_size)
    except ValueError:
        return None


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort ranges and join those that overlap or touch: `[(20, 30), (0, 10), (5, 20)]` gives `[(0, 30)]`."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged_start, merged_end = merged[-1]
            merged[-1] = (merged_start, max(merged_end, end))
        else:
            merged.append((start, end))
    return merged


class FileResponse(Response):
    """A response that streams a file from disk, with support for HEAD and Range requests.

    Content-Length, Last-Modified and ETag come from `stat_result`, or from `os.stat` when
    the response is sent. With a `filename`, a Content-Disposition header is added.
    """

    chunk_size = 64 * 1024
    # A Range header with more ranges than this gets the whole file, which bounds the work
    # that one request can cause.
    max_ranges = 100

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        self.path = path
        self.status_code = status_code
        self.filename = filename
        self.media_type = media_type if media_type is not None else _guess_media_type(filename or path)
        self.background = background
        self.init_headers(headers)

        self.headers.setdefault("accept-ranges", "bytes")
        if filename is not None:
            self.headers.setdefault("content-disposition", _content_disposition(content_disposition_type, filename))
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """Add Content-Length, Last-Modified and ETag from `stat_result`, unless already set."""
        mtime = stat_result.st_mtime
        size = stat_result.st_size
        # All values are computed before any is set, so a failure leaves the headers unchanged.
        values = (
            ("content-length", str(size)),
            ("last-modified", formatdate(mtime, usegmt=True)),
            ("etag", _make_etag(mtime, size)),
        )
        for name, value in values:
            self.headers.setdefault(name, value)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        method = scope["method"].upper() if scope_type == "http" else None
        head_only = method == "HEAD"
        pathsend = scope_type == "http" and "http.response.pathsend" in scope.get("extensions", {})
        if scope_type == "websocket":
            send = self._wrap_websocket_denial_send(send)

        file_size = (await self._stat_file()).st_size
        range_header = self._requested_range(Headers(scope=scope), method)
        ranges: list[tuple[int, int]] = []
        if range_header is not None:
            try:
                ranges = self._parse_range_header(range_header, file_size)
            except MalformedRangeHeader as exc:
                await PlainTextResponse(exc.content, status_code=400)(scope, receive, send)
                return
            except RangeNotSatisfiable as exc:
                unsatisfiable = {"Content-Range": f"bytes */{exc.max_size}"}
                await PlainTextResponse(status_code=416, headers=unsatisfiable)(scope, receive, send)
                return
            # The pathsend extension sends whole files, so partial content is read here.
            if ranges:
                pathsend = False

        transfer = partial(self._send_content, send, ranges, file_size, head_only, pathsend)
        # Before ASGI 2.4 only `receive` reports that an HTTP client left, so a body read from
        # the file is raced against it. Header-only and pathsend responses read no file here.
        if scope_type == "http" and not head_only and not pathsend and not _send_raises_on_disconnect(scope):
            await _stop_on_disconnect(transfer, partial(_wait_for_disconnect, receive))
        else:
            await transfer()

        background = self.background
        if background is not None:
            await background()

    async def _stat_file(self) -> os.stat_result:
        """Return `stat_result`, or stat the path now and add the headers that depend on it."""
        if self.stat_result is not None:
            return self.stat_result
        try:
            result = await anyio.to_thread.run_sync(os.stat, self.path)
            self.set_stat_headers(result)
        except FileNotFoundError:
            raise RuntimeError(f"File at path {self.path} does not exist.")
        if not stat.S_ISREG(result.st_mode):
            raise RuntimeError(f"File at path {self.path} is not a file.")
        return result

    def _requested_range(self, request_headers: Headers, method: str | None) -> str | None:
        """Return the Range header to serve, or `None` when the whole file is sent."""
        range_header = request_headers.get("range")
        if self.status_code != 200 or range_header is None:
            return None
        # RFC 9110 section 14.2 defines Range for GET, and HEAD gets the headers GET would.
        if method is not None and method not in ("GET", "HEAD"):
            return None
        if_range = request_headers.get("if-range")
        if if_range is not None and not self._should_use_range(if_range):
            return None
        return range_header

    async def _send_content(
        self, send: Send, ranges: list[tuple[int, int]], file_size: int, head_only: bool, pathsend: bool
    ) -> None:
        """Send the whole file when `ranges` is empty, and a 206 response otherwise."""
        if not ranges:
            await self._handle_simple(send, head_only, pathsend)
        elif len(ranges) > 1:
            await self._handle_multiple_ranges(send, ranges, file_size, head_only)
        else:
            [(start, end)] = ranges
            await self._handle_single_range(send, start, end, file_size, head_only)

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        handle = await anyio.open_file(self.path, "rb")
        try:
            yield handle
        finally:
            # Shielded, because a disconnect cancels the transfer and the file must still close.
            with anyio.CancelScope(shield=True):
                await handle.aclose()

    def _copy_raw_headers_with(self, *replacements: tuple[str, str]) -> list[tuple[bytes, bytes]]:
        """Return a copy of `raw_headers` with each named header set to the given value."""
        edited = MutableHeaders(raw=list(self.raw_headers))
        for name, value in replacements:
            edited[name] = value
        return edited.raw

    async def _send_span(self, send: Send, start: int, end: int | None) -> None:
        """Send the file from `start` up to `end`, or to its end when `end` is `None`.

        A read shorter than `chunk_size` is taken as the end of the file and ends the body.
        """
        chunk_size = self.chunk_size
        position = start
        async with self._open_file() as file:
            if start:
                await file.seek(start)
            more_body = True
            while more_body:
                chunk = await file.read(chunk_size if end is None else min(chunk_size, end - position))
                position += len(chunk)
                more_body = len(chunk) == chunk_size and (end is None or position < end)
                await send(_body_message(chunk, more_body))

    async def _handle_simple(self, send: Send, send_header_only: bool, send_pathsend: bool) -> None:
        await send(_start_message(self.status_code, self.raw_headers))
        if send_header_only:
            await send(_body_message(b"", False))
        elif send_pathsend:
            await send({"type": "http.response.pathsend", "path": str(self.path)})
        else:
            await self._send_span(send, 0, None)

    async def _handle_single_range(
        self, send: Send, start: int, end: int, file_size: int, send_header_only: bool
    ) -> None:
        raw_headers = self._copy_raw_headers_with(
            ("content-range", f"bytes {start}-{end - 1}/{file_size}"),
            ("content-length", str(end - start)),
        )
        await send(_start_message(206, raw_headers))
        if send_header_only:
            await send(_body_message(b"", False))
        else:
            await self._send_span(send, start, end)

    async def _handle_multiple_ranges(
        self,
        send: Send,
        ranges: list[tuple[int, int]],
        file_size: int,
        send_header_only: bool,
    ) -> None:
        # 104 random bits, so the boundary is practically certain not to occur in the file.
        boundary = token_hex(13)
        content_length, build_part_header = self.generate_multipart(
            ranges, boundary, file_size, self.headers["content-type"]
        )
        raw_headers = self._copy_raw_headers_with(
            ("content-type", f"multipart/byteranges; boundary={boundary}"),
            ("content-length", str(content_length)),
        )
        await send(_start_message(206, raw_headers))
        if send_header_only:
            await send(_body_message(b"", False))
            return

        chunk_size = self.chunk_size
        async with self._open_file() as file:
            for start, end in ranges:
                await send(_body_message(build_part_header(start, end), True))
                await file.seek(start)
                remaining = end - start
                while remaining > 0:
                    chunk = await file.read(min(chunk_size, remaining))
                    # Content-Length is already sent, so a file that shrank cannot be finished.
                    if not chunk:
                        raise RuntimeError(f"File at path {self.path} is shorter than expected.")
                    remaining -= len(chunk)
                    await send(_body_message(chunk, True))
                await send(_body_message(b"\r\n", True))
            await send(_body_message(f"--{boundary}--".encode("latin-1"), False))

    def _should_use_range(self, http_if_range: str) -> bool:
        # A weak validator never matches for If-Range (RFC 9110 section 13.1.5).
        if http_if_range.startswith("W/"):
            return False
        headers = self.headers
        if http_if_range == headers["last-modified"]:
            return True
        return http_if_range == headers["etag"]

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        """Parse a Range header into sorted, merged `(start, end)` pairs, `end` exclusive.

        `"bytes=0-9, 5-19"` on a 100-byte file gives `[(0, 20)]`. An empty list means the
        whole file should be sent.
        """
        unit, equals, range_set = http_range.partition("=")
        if not equals:
            raise MalformedRangeHeader()
        if unit.strip().lower() != "bytes":
            raise MalformedRangeHeader("Only support bytes range")
        if range_set.count(",") >= cls.max_ranges:
            return []

        ranges = cls._parse_ranges(range_set, file_size)
        if not ranges:
            raise MalformedRangeHeader("Range header: range must be requested")
        # A start outside the file is reported (416) before a reversed range (400).
        if not all(0 <= start < file_size for start, _ in ranges):
            raise RangeNotSatisfiable(file_size)
        if any(end <= start for start, end in ranges):
            raise MalformedRangeHeader("Range header: start must be less than end")
        return _merge_ranges(ranges)

    @classmethod
    def _parse_ranges(cls, range_: str, file_size: int) -> list[tuple[int, int]]:
        """Parse the comma-separated specs of a Range header, skipping invalid ones."""
        parsed = (_parse_byte_range(spec, file_size) for spec in range_.split(","))
        return [span for span in parsed if span is not None]

    def generate_multipart(
        self,
        ranges: Sequence[tuple[int, int]],
        boundary: str,
        max_size: int,
        content_type: str,
    ) -> tuple[int, Callable[[int, int], bytes]]:
        """Return the Content-Length of a multipart/byteranges body and a function that builds part headers.

        Each range becomes one part: its header, its bytes and a CRLF. The closing boundary
        `--{boundary}--` ends the body. For the range `(0, 5)` of a 10-byte `text/plain` file
        and the boundary `b`, the part header is
        `b"--b\\r\\nContent-Type: text/plain\\r\\nContent-Range: bytes 0-4/10\\r\\n\\r\\n"`.
        """
        # Part headers differ only in the two numbers of the Content-Range, so everything
        # around them is formatted once.
        before_range = f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes "
        after_range = f"/{max_size}\r\n\r\n"

        def build_part_header(start: int, end: int) -> bytes:
            return f"{before_range}{start}-{end - 1}{after_range}".encode("latin-1")

        # Per part: the fixed text, the dash between the numbers and the CRLF after the data.
        part_overhead = len(before_range) + len("-") + len(after_range) + len("\r\n")
        content_length = len(f"--{boundary}--")
        for start, end in ranges:
            content_length += part_overhead + len(str(start)) + len(str(end - 1)) + (end - start)
        return content_length, build_part_header
