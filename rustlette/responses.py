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
        """Turn `content` into the body: `None` is empty, and a `str` is encoded with `charset`."""
        if content is None:
            return b""
        if isinstance(content, memoryview):
            # A contiguous view is sent without a copy, recast to bytes so its length is in bytes.
            return content.cast("B") if content.c_contiguous else content.tobytes()
        if isinstance(content, bytes):
            return content
        return content.encode(self.charset)  # type: ignore

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build `raw_headers` from `headers`, adding Content-Length and Content-Type unless given."""
        if headers is None:
            raw_headers: list[tuple[bytes, bytes]] = []
            populate_content_length = True
            populate_content_type = True
        else:
            raw_headers = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
            names = {name for name, _ in raw_headers}
            populate_content_length = b"content-length" not in names
            populate_content_type = b"content-type" not in names

        # RFC 9110 section 8.6 forbids Content-Length on 1xx and 204 responses. On a 304 it
        # would have to give the size of the full representation, not of the empty body.
        body = getattr(self, "body", None)
        if (
            body is not None
            and populate_content_length
            and not (self.status_code < 200 or self.status_code in (204, 304))
        ):
            raw_headers.append((b"content-length", str(len(body)).encode("latin-1")))

        content_type = self.media_type
        if content_type is not None and populate_content_type:
            if content_type.startswith("text/") and "charset=" not in content_type.lower():
                content_type += "; charset=" + self.charset
            raw_headers.append((b"content-type", content_type.encode("latin-1")))

        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        # The headers wrap `raw_headers` itself, so edits through either one show in both.
        if not hasattr(self, "_headers"):
            self._headers = MutableHeaders(raw=self.raw_headers)
        return self._headers

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
        cookie: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
        cookie[key] = value
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            if isinstance(expires, datetime):
                morsel["expires"] = format_datetime(expires, usegmt=True)
            else:
                morsel["expires"] = expires
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            assert samesite.lower() in [
                "strict",
                "lax",
                "none",
            ], "samesite must be either 'strict', 'lax' or 'none'"
            morsel["samesite"] = samesite
        if partitioned:
            # http.cookies supports the Partitioned attribute from Python 3.14 on.
            if sys.version_info < (3, 14):
                raise ValueError("Partitioned cookies are only supported in Python 3.14 and above.")  # pragma: no cover
            morsel["partitioned"] = True  # pragma: no cover

        cookie_value = cookie.output(header="").strip()
        self.raw_headers.append((b"set-cookie", cookie_value.encode("latin-1")))

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
        """Wrap `send` so that the response goes out as a WebSocket denial response.

        The ASGI WebSocket Denial Response extension uses the HTTP message types with a
        `websocket.` prefix.
        """

        async def wrapped(message: Message) -> None:
            message_type = message["type"]
            if message_type in {"http.response.start", "http.response.body"}:  # pragma: no branch
                message = {**message, "type": "websocket." + message_type}
            await send(message)

        return wrapped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            send = self._wrap_websocket_denial_send(send)
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})

        if self.background is not None:
            await self.background()


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
        # Percent-encode what a Location header cannot carry, but keep URL delimiters and
        # existing escapes as they are.
        self.headers["location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")


Content = str | bytes | memoryview
SyncContentStream = Iterable[Content]
AsyncContentStream = AsyncIterable[Content]
ContentStream = AsyncContentStream | SyncContentStream


class StreamingResponse(Response):
    """A response whose body comes from an iterator, sent chunk by chunk as it is produced.

    A sync iterator runs in a worker thread. `str` chunks are encoded with `charset`.
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
        if isinstance(content, AsyncIterable):
            self.body_iterator = content
        else:
            self.body_iterator = iterate_in_threadpool(content)
        self.status_code = status_code
        self.media_type = self.media_type if media_type is None else media_type
        self.background = background
        self.init_headers(headers)

    async def listen_for_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break

    async def stream_response(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async for chunk in self.body_iterator:
            if not isinstance(chunk, bytes | memoryview):
                chunk = chunk.encode(self.charset)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            send = self._wrap_websocket_denial_send(send)
            await self.stream_response(send)
            if self.background is not None:
                await self.background()
            return

        if _asgi_spec_version(scope) >= (2, 4):
            # From ASGI 2.4 on, `send` raises OSError once the client has gone.
            try:
                await self.stream_response(send)
            except OSError:
                raise ClientDisconnect()
        else:
            # Older servers report a disconnect only through `receive`, so it is watched
            # next to the stream, and whichever finishes first cancels the other.
            async with create_collapsing_task_group() as task_group:

                async def run_then_cancel(func: Callable[[], Awaitable[None]]) -> None:
                    await func()
                    task_group.cancel_scope.cancel()

                task_group.start_soon(run_then_cancel, partial(self.stream_response, send))
                await run_then_cancel(partial(self.listen_for_disconnect, receive))

        if self.background is not None:
            await self.background()


def _asgi_spec_version(scope: Scope) -> tuple[int, ...]:
    return tuple(map(int, scope.get("asgi", {}).get("spec_version", "2.0").split(".")))


class MalformedRangeHeader(Exception):
    """A Range header that cannot be parsed. `content` is the body of the 400 response."""

    def __init__(self, content: str = "Malformed range header.") -> None:
        self.content = content


class RangeNotSatisfiable(Exception):
    """A Range header with a range that starts at or after the end of the file, which gets a 416 response."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size


class FileResponse(Response):
    """A response that streams a file from disk, with support for HEAD and Range requests.

    Content-Length, Last-Modified and ETag come from `stat_result`, or from `os.stat` when
    the response is sent. With a `filename`, a Content-Disposition header is added.
    """

    chunk_size = 64 * 1024
    # Requests with more ranges than this get the whole file, which bounds the work that
    # one Range header can cause.
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
        if media_type is None:
            media_type = guess_type(filename or path)[0] or "application/octet-stream"
        self.media_type = media_type
        self.background = background
        self.init_headers(headers)
        self.headers.setdefault("accept-ranges", "bytes")
        if self.filename is not None:
            quoted_filename = quote(self.filename)
            if quoted_filename != self.filename:
                # A name that percent-encoding changes, such as one with spaces or non-ASCII
                # letters, goes in the `filename*` parameter.
                content_disposition = f"{content_disposition_type}; filename*=utf-8''{quoted_filename}"
            else:
                content_disposition = f'{content_disposition_type}; filename="{self.filename}"'
            self.headers.setdefault("content-disposition", content_disposition)
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """Add Content-Length, Last-Modified and ETag from `stat_result`, unless already set."""
        content_length = str(stat_result.st_size)
        last_modified = formatdate(stat_result.st_mtime, usegmt=True)
        # The ETag changes whenever the modification time or the size does.
        etag_base = str(stat_result.st_mtime) + "-" + str(stat_result.st_size)
        etag = f'"{hashlib.md5(etag_base.encode(), usedforsecurity=False).hexdigest()}"'

        self.headers.setdefault("content-length", content_length)
        self.headers.setdefault("last-modified", last_modified)
        self.headers.setdefault("etag", etag)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        send_header_only = scope_type == "http" and scope["method"].upper() == "HEAD"
        send_pathsend = scope_type == "http" and "http.response.pathsend" in scope.get("extensions", {})
        if scope_type == "websocket":
            send = self._wrap_websocket_denial_send(send)

        if self.stat_result is None:
            try:
                stat_result = await anyio.to_thread.run_sync(os.stat, self.path)
                self.set_stat_headers(stat_result)
            except FileNotFoundError:
                raise RuntimeError(f"File at path {self.path} does not exist.")
            else:
                if not stat.S_ISREG(stat_result.st_mode):
                    raise RuntimeError(f"File at path {self.path} is not a file.")
        else:
            stat_result = self.stat_result

        headers = Headers(scope=scope)
        http_range = headers.get("range")
        http_if_range = headers.get("if-range")

        # Only a 200 response to GET or HEAD serves ranges, as RFC 9110 section 14.2 defines
        # Range for GET. If-Range falls back to the whole file when its validator does not match.
        if (
            self.status_code != 200
            or http_range is None
            or (scope_type == "http" and scope["method"].upper() not in ("GET", "HEAD"))
            or (http_if_range is not None and not self._should_use_range(http_if_range))
        ):
            send_file = partial(self._handle_simple, send, send_header_only, send_pathsend)
        else:
            try:
                ranges = self._parse_range_header(http_range, stat_result.st_size)
            except MalformedRangeHeader as exc:
                return await PlainTextResponse(exc.content, status_code=400)(scope, receive, send)
            except RangeNotSatisfiable as exc:
                response = PlainTextResponse(status_code=416, headers={"Content-Range": f"bytes */{exc.max_size}"})
                return await response(scope, receive, send)

            # Partial content is read here, so the pathsend extension cannot serve it.
            if len(ranges) == 0:
                send_file = partial(self._handle_simple, send, send_header_only, send_pathsend)
            elif len(ranges) == 1:
                start, end = ranges[0]
                send_file = partial(self._handle_single_range, send, start, end, stat_result.st_size, send_header_only)
                send_pathsend = False
            else:
                send_file = partial(self._handle_multiple_ranges, send, ranges, stat_result.st_size, send_header_only)
                send_pathsend = False

        if scope_type != "http" or send_header_only or send_pathsend or _asgi_spec_version(scope) >= (2, 4):
            await send_file()
        else:
            # Before ASGI 2.4 a disconnect shows only on `receive`, so it is watched while
            # the file streams, and stops the transfer.
            async with create_collapsing_task_group() as task_group:

                async def stream_file() -> None:
                    await send_file()
                    task_group.cancel_scope.cancel()

                task_group.start_soon(stream_file)
                while True:
                    if (await receive())["type"] == "http.disconnect":
                        task_group.cancel_scope.cancel()
                        break

        if self.background is not None:
            await self.background()

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        file = await anyio.open_file(self.path, mode="rb")
        try:
            yield file
        finally:
            # Shielded, so that the file is closed even when a disconnect cancels the transfer.
            with anyio.CancelScope(shield=True):
                await file.aclose()

    async def _handle_simple(self, send: Send, send_header_only: bool, send_pathsend: bool) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if send_header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif send_pathsend:
            await send({"type": "http.response.pathsend", "path": str(self.path)})
        else:
            async with self._open_file() as file:
                more_body = True
                while more_body:
                    chunk = await file.read(self.chunk_size)
                    more_body = len(chunk) == self.chunk_size
                    await send({"type": "http.response.body", "body": chunk, "more_body": more_body})

    async def _handle_single_range(
        self, send: Send, start: int, end: int, file_size: int, send_header_only: bool
    ) -> None:
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-range"] = f"bytes {start}-{end - 1}/{file_size}"
        headers["content-length"] = str(end - start)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        if send_header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            async with self._open_file() as file:
                await file.seek(start)
                more_body = True
                while more_body:
                    chunk = await file.read(min(self.chunk_size, end - start))
                    start += len(chunk)
                    more_body = len(chunk) == self.chunk_size and start < end
                    await send({"type": "http.response.body", "body": chunk, "more_body": more_body})

    async def _handle_multiple_ranges(
        self,
        send: Send,
        ranges: list[tuple[int, int]],
        file_size: int,
        send_header_only: bool,
    ) -> None:
        # 104 random bits, so the boundary is practically certain not to occur in the file.
        boundary = token_hex(13)
        content_length, header_generator = self.generate_multipart(
            ranges, boundary, file_size, self.headers["content-type"]
        )
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-type"] = f"multipart/byteranges; boundary={boundary}"
        headers["content-length"] = str(content_length)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        if send_header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return

        async with self._open_file() as file:
            for start, end in ranges:
                await send({"type": "http.response.body", "body": header_generator(start, end), "more_body": True})
                await file.seek(start)
                while start < end:
                    chunk = await file.read(min(self.chunk_size, end - start))
                    if not chunk:
                        raise RuntimeError(f"File at path {self.path} is shorter than expected.")
                    start += len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"\r\n", "more_body": True})
            await send(
                {
                    "type": "http.response.body",
                    "body": f"--{boundary}--".encode("latin-1"),
                    "more_body": False,
                }
            )

    def _should_use_range(self, http_if_range: str) -> bool:
        # A weak validator never matches for If-Range (RFC 9110 section 13.1.5).
        if http_if_range.startswith("W/"):
            return False
        return http_if_range == self.headers["last-modified"] or http_if_range == self.headers["etag"]

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        """Parse a Range header into sorted, merged `(start, end)` pairs, `end` exclusive.

        `"bytes=0-9, 5-19"` on a 100-byte file gives `[(0, 20)]`. An empty list means the
        whole file should be sent.
        """
        try:
            units, range_ = http_range.split("=", 1)
        except ValueError:
            raise MalformedRangeHeader()

        if units.strip().lower() != "bytes":
            raise MalformedRangeHeader("Only support bytes range")

        if range_.count(",") + 1 > cls.max_ranges:
            return []

        ranges = cls._parse_ranges(range_, file_size)

        if len(ranges) == 0:
            raise MalformedRangeHeader("Range header: range must be requested")

        if any(not (0 <= start < file_size) for start, _ in ranges):
            raise RangeNotSatisfiable(file_size)

        if any(start >= end for start, end in ranges):
            raise MalformedRangeHeader("Range header: start must be less than end")

        if len(ranges) == 1:
            return ranges

        ranges.sort()
        merged: list[tuple[int, int]] = [ranges[0]]
        for start, end in ranges[1:]:
            last_start, last_end = merged[-1]
            if start <= last_end:
                merged[-1] = (last_start, max(last_end, end))
            else:
                merged.append((start, end))
        return merged

    @classmethod
    def _parse_ranges(cls, range_: str, file_size: int) -> list[tuple[int, int]]:
        """Parse the comma-separated byte ranges of a Range header, skipping invalid ones.

        `"0-9"` gives `(0, 10)`, `"5-"` gives `(5, file_size)` and the suffix range `"-3"`
        gives the last 3 bytes. An end beyond the file is cut to the file size.
        """
        ranges: list[tuple[int, int]] = []

        for part in range_.split(","):
            part = part.strip()
            if not part or part == "-" or "-" not in part:
                continue

            start_str, end_str = part.split("-", 1)
            start_str = start_str.strip()
            end_str = end_str.strip()

            try:
                if start_str:
                    start = int(start_str)
                    end = int(end_str) + 1 if end_str and int(end_str) < file_size else file_size
                else:
                    start = max(file_size - int(end_str), 0)
                    end = file_size
            except ValueError:
                continue
            ranges.append((start, end))

        return ranges

    def generate_multipart(
        self,
        ranges: Sequence[tuple[int, int]],
        boundary: str,
        max_size: int,
        content_type: str,
    ) -> tuple[int, Callable[[int, int], bytes]]:
        r"""Return the Content-Length of a multipart/byteranges body and a function that builds part headers.

        Each range is sent as a part, and the body ends with the closing boundary:

        ```
        --{boundary}\r\n
        Content-Type: {content_type}\r\n
        Content-Range: bytes {start}-{end - 1}/{max_size}\r\n
        \r\n
        {the bytes of the range}\r\n
        --{boundary}--
        ```
        """

        def build_part_header(start: int, end: int) -> bytes:
            return (
                f"--{boundary}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Range: bytes {start}-{end - 1}/{max_size}\r\n"
                "\r\n"
            ).encode("latin-1")

        # Part headers differ only in the digits of the range, so their length is the
        # length of one header without its two one-digit numbers, plus the digits.
        header_size_without_digits = len(build_part_header(0, 1)) - 2
        content_length = sum(
            header_size_without_digits + len(str(start)) + len(str(end - 1)) + (end - start) + len(b"\r\n")
            for start, end in ranges
        )
        content_length += len(f"--{boundary}--")
        return content_length, build_part_header
