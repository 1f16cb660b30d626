from __future__ import annotations

import codecs
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from enum import Enum
from tempfile import SpooledTemporaryFile
from typing import Any, cast
from urllib.parse import unquote_plus

from rustlette import _rust
from rustlette.datastructures import FormData, Headers, UploadFile
from rustlette.exceptions import StarletteDeprecationWarning

if sys.version_info >= (3, 13):  # pragma: no cover
    from warnings import deprecated
else:  # pragma: no cover
    from typing_extensions import deprecated


@deprecated(
    "`FormMessage` is deprecated and will be removed in a future version.",
    category=StarletteDeprecationWarning,
    stacklevel=2,
)
class FormMessage(Enum):
    FIELD_START = 1
    FIELD_NAME = 2
    FIELD_DATA = 3
    FIELD_END = 4
    END = 5


@dataclass
class MultipartPart:
    """The part of a multipart body being parsed: its headers, and its value or file."""

    content_disposition: bytes | None = None
    field_name: str = ""
    data: bytearray = field(default_factory=bytearray)
    file: UploadFile | None = None
    item_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def _user_safe_decode(src: bytes | bytearray, codec: str) -> str:
    """Decode with `codec`, or as Latin-1 when the codec is unknown or the bytes do not fit it."""
    try:
        return src.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return src.decode("latin-1")


def parse_options_header(value: str | bytes | None) -> tuple[bytes, dict[bytes, bytes]]:
    """Parse a Content-Type or Content-Disposition value into its lowercased type and parameters.

    `'form-data; name="a"'` gives `(b"form-data", {b"name": b"a"})`. Parameters in the
    extended syntax of RFC 2231 (`filename*=...`) are ignored, because RFC 7578 section 4.2
    forbids them in multipart/form-data. Strings are Latin-1, as header values are. The
    splitting runs in the Rust extension, with the rules listed in docs/requests.md.
    """
    return _rust.parse_header_params(value)


class MultiPartException(Exception):
    """A form body that is malformed or exceeds a limit, with `message` describing the problem."""

    def __init__(self, message: str) -> None:
        self.message = message


class FormParser:
    """A streaming parser for `application/x-www-form-urlencoded` bodies.

    Fields are split at `&` only. Empty fields are skipped, and a field without `=` has an
    empty value. Each name and value is read as Latin-1, then decoded with `unquote_plus`.

    NOTE: `parse` feeds the body to the Rust extension's `UrlencodedParser` and never calls
    the `on_field_*` methods. They remain, with Starlette's behaviour, for code that calls
    them directly, so overriding them in a subclass does not change what `parse` returns.
    """

    def __init__(
        self,
        headers: Headers,
        stream: AsyncGenerator[bytes, None],
        *,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        self._current_field_size = 0
        self._current_fields = 0
        self._field_name = bytearray()
        self._field_value = bytearray()
        self._items: list[tuple[str, str | UploadFile]] = []

    def on_field_start(self) -> None:
        self._current_field_size = 0
        self._field_name = bytearray()
        self._field_value = bytearray()

    def on_field_name(self, data: bytes, start: int, end: int) -> None:
        self._count_field_bytes(end - start)
        self._field_name += data[start:end]

    def on_field_data(self, data: bytes, start: int, end: int) -> None:
        self._count_field_bytes(end - start)
        self._field_value += data[start:end]

    def on_field_end(self) -> None:
        self._current_fields += 1
        if self._current_fields > self.max_fields:
            raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")
        name = unquote_plus(self._field_name.decode("latin-1"))
        value = unquote_plus(self._field_value.decode("latin-1"))
        self._items.append((name, value))

    def _count_field_bytes(self, size: int) -> None:
        # The limit covers the encoded name and value together, without the `=`.
        self._current_field_size += size
        if self._current_field_size > self.max_part_size:
            raise MultiPartException(f"Field exceeded maximum size of {int(self.max_part_size / 1024)}KB.")

    async def parse(self) -> FormData:
        # The limits are read here, not in `__init__`, because Starlette reads them while
        # parsing and callers may change them in between.
        parser = _rust.UrlencodedParser(self.max_fields, self.max_part_size)
        async for chunk in self.stream:
            parser.feed(chunk)
        return FormData(cast("list[tuple[str, str | UploadFile]]", parser.finish()))


# Kinds of the events that `_rust.MultipartReader.feed` returns, as `(kind, a, b, c)`.
_PART_BEGIN = _rust.MultipartReader.PART_BEGIN
_PART_DATA = _rust.MultipartReader.PART_DATA
_PART_END = _rust.MultipartReader.PART_END
_FIELD = _rust.MultipartReader.FIELD
_END = _rust.MultipartReader.END
_MultipartEvent = tuple[int, Any, Any, Any]

# The exception of the Rust reader for a malformed body: a `ValueError` whose message
# names the problem and its offset in the body. `MultiPartParser.parse` raises it as the
# cause of a `MultiPartException`.
FormParserError = _rust.MultipartParseError

_MISSING_NAME = 'The Content-Disposition header field "name" must be provided.'

# Once an uploaded file is on disk, its data is written in batches of about this many
# bytes, or of this many chunks when the chunks are small. Each write is a trip to a
# worker thread, which costs more than joining the chunks a server delivers.
_WRITE_BATCH_SIZE = 1024 * 1024
_WRITE_BATCH_CHUNKS = 1024

# The callbacks that python-multipart calls on Starlette's parser, in the order it calls
# them for one part.
_CALLBACK_NAMES = (
    "on_part_begin",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_part_data",
    "on_part_end",
    "on_end",
)


class _FileWriter:
    """A buffer for the data of one uploaded file at a time, written in batches once on disk."""

    def __init__(self) -> None:
        self._upload: UploadFile | None = None
        self._pieces: list[bytes] = []
        self._size = 0

    async def write(self, upload: UploadFile, data: bytes) -> None:
        if upload is not self._upload:
            await self.flush()
            self._upload = upload
        if not self._pieces and not upload._will_roll(len(data)):
            # A write to memory is a plain call, which batching would only slow down.
            await upload.write(data)
            return
        self._pieces.append(data)
        self._size += len(data)
        if self._size >= _WRITE_BATCH_SIZE or len(self._pieces) >= _WRITE_BATCH_CHUNKS:
            await self.flush()

    async def flush(self) -> None:
        if self._upload is not None and self._pieces:
            data = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
            self._pieces.clear()
            self._size = 0
            await self._upload.write(data)


class MultiPartParser:
    """A streaming parser for `multipart/form-data` bodies.

    Text fields become strings, decoded with the `charset` of the Content-Type header.
    File parts become `UploadFile` objects backed by spooled temporary files.

    The Rust extension's `MultipartReader` reads the body. When a subclass or the
    instance replaces one of the `on_*` methods, `parse` calls every `on_*` method as
    python-multipart calls them in Starlette. Otherwise it skips the calls and applies
    the same rules directly.
    """

    spool_max_size = 1024 * 1024
    """The size in bytes above which an uploaded file moves from memory to disk."""
    max_part_size = 1024 * 1024
    """The maximum size in bytes of a text field."""

    def __init__(
        self,
        headers: Headers,
        stream: AsyncGenerator[bytes, None],
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_files = max_files
        self.max_fields = max_fields
        self.items: list[tuple[str, str | UploadFile]] = []
        self._current_files = 0
        self._current_fields = 0
        self._current_partial_header_name: bytes = b""
        self._current_partial_header_value: bytes = b""
        self._current_part = MultipartPart()
        self._charset = ""
        self._file_parts_to_write: list[tuple[MultipartPart, bytes]] = []
        self._file_parts_to_finish: list[MultipartPart] = []
        self._files_to_close_on_error: list[SpooledTemporaryFile[bytes]] = []
        self.max_part_size = max_part_size

    def on_part_begin(self) -> None:
        self._current_part = MultipartPart()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._current_part.file is not None:
            # Files are written in `parse`, where the writes can be awaited.
            self._file_parts_to_write.append((self._current_part, chunk))
            return

        if len(self._current_part.data) + len(chunk) > self.max_part_size:
            raise MultiPartException(f"Part exceeded maximum size of {int(self.max_part_size / 1024)}KB.")
        self._current_part.data.extend(chunk)

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            self.items.append((part.field_name, _user_safe_decode(part.data, self._charset)))
        else:
            # The file may still have writes pending. `parse` finishes them before it
            # returns the items.
            self._file_parts_to_finish.append(part)
            self.items.append((part.field_name, part.file))

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._current_partial_header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._current_partial_header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self._current_partial_header_name.lower()
        value = self._current_partial_header_value
        if name == b"content-disposition":
            self._current_part.content_disposition = value
        self._current_part.item_headers.append((name, value))
        self._current_partial_header_name = b""
        self._current_partial_header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._current_part.content_disposition)
        self._start_part(options.get(b"name"), options.get(b"filename"))

    def on_end(self) -> None:
        pass

    def _start_part(self, name: bytes | None, filename: bytes | None) -> None:
        """Count a part whose headers are complete against the limits, and give a file part its file."""
        part = self._current_part
        if name is None:
            raise MultiPartException(_MISSING_NAME)
        part.field_name = _user_safe_decode(name, self._charset)

        if filename is None:
            self._current_fields += 1
            if self._current_fields > self.max_fields:
                raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")
            part.file = None
            return

        self._current_files += 1
        if self._current_files > self.max_files:
            raise MultiPartException(f"Too many files. Maximum number of files is {self.max_files}.")
        tempfile = SpooledTemporaryFile(max_size=self.spool_max_size)
        self._files_to_close_on_error.append(tempfile)
        part.file = UploadFile(
            file=tempfile,  # type: ignore[arg-type]
            size=0,
            filename=_user_safe_decode(filename, self._charset),
            headers=Headers(raw=part.item_headers),
        )

    async def parse(self) -> FormData:
        _, params = parse_options_header(self.headers["Content-Type"])
        charset = params.get(b"charset", b"utf-8").decode("latin-1")
        try:
            self._charset = codecs.lookup(charset).name
        except LookupError:
            self._charset = "latin-1"
        try:
            boundary = params[b"boundary"]
        except KeyError:
            raise MultiPartException("Missing boundary in multipart.")

        calls_callbacks = self._overrides_callbacks()
        handle_events = self._call_callbacks if calls_callbacks else self._apply_events
        writer = _FileWriter()
        try:
            reader = _rust.MultipartReader(
                boundary, fold_fields=not calls_callbacks, decode_utf8=self._charset == "utf-8"
            )
            async for chunk in self.stream:
                try:
                    events = reader.feed(chunk)
                except FormParserError as exc:
                    # The events before the bad byte come first, so that a limit they
                    # exceed is reported as Starlette reports it.
                    handle_events(exc.events)
                    raise
                handle_events(events)
                await self._write_files(writer)
            # Like Starlette, accept a body that ends before its closing boundary and
            # keep the parts that ended.
            reader.close()
        except BaseException as exc:
            # Close the temporary files whether the body was invalid or reading it failed.
            for file in self._files_to_close_on_error:
                file.close()
            if isinstance(exc, FormParserError):
                raise MultiPartException(f"Invalid multipart data: {exc}.") from exc
            raise

        self._close_unfinished_files()
        return FormData(self.items)

    async def _write_files(self, writer: _FileWriter) -> None:
        """Pass the file data of the last chunk to `writer`, and rewind the files that are complete.

        The writes happen here and not in `on_part_data` because a file that has moved
        to disk is written in a worker thread, which has to be awaited.
        """
        for part, data in self._file_parts_to_write:
            assert part.file is not None
            await writer.write(part.file, data)
        self._file_parts_to_write.clear()
        if self._file_parts_to_finish:
            await writer.flush()
            for part in self._file_parts_to_finish:
                assert part.file is not None
                await part.file.seek(0)
            self._file_parts_to_finish.clear()

    def _close_unfinished_files(self) -> None:
        """Close the file of a part that the body cut short, which the form leaves out."""
        if not self._files_to_close_on_error:
            return
        kept = {id(value.file) for _, value in self.items if isinstance(value, UploadFile)}
        for file in self._files_to_close_on_error:
            if id(file) not in kept:
                file.close()

    def _overrides_callbacks(self) -> bool:
        """Tell whether a subclass or the instance replaced one of the `on_*` methods."""
        own = vars(self)
        cls = type(self)
        return any(name in own or getattr(cls, name) is not _DEFAULT_CALLBACKS[name] for name in _CALLBACK_NAMES)

    def _apply_events(self, events: list[_MultipartEvent]) -> None:
        """Apply the events as the default `on_*` methods would, with fewer calls."""
        charset = self._charset
        items = self.items
        for kind, first, second, third in events:
            if kind == _FIELD:
                # A whole text field, checked as `on_headers_finished` and then
                # `on_part_data` check it. The reader has decoded what is valid UTF-8
                # when that is the charset.
                if first is None:
                    raise MultiPartException(_MISSING_NAME)
                self._current_fields += 1
                if self._current_fields > self.max_fields:
                    raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")
                if third > self.max_part_size:
                    raise MultiPartException(f"Part exceeded maximum size of {int(self.max_part_size / 1024)}KB.")
                if first.__class__ is bytes:
                    first = _user_safe_decode(first, charset)
                if second.__class__ is bytes:
                    second = _user_safe_decode(second, charset)
                items.append((first, second))
            elif kind == _PART_DATA:
                self.on_part_data(first, 0, len(first))
            elif kind == _PART_BEGIN:
                self._current_part = MultipartPart(item_headers=[(name.lower(), value) for name, value in third])
                self._start_part(first, second)
            elif kind == _PART_END:
                self.on_part_end()

    def _call_callbacks(self, events: list[_MultipartEvent]) -> None:
        """Replay the events as the `on_*` calls that python-multipart makes."""
        for kind, first, second, third in events:
            if kind == _PART_BEGIN:
                self._call_header_callbacks(third)
            elif kind == _PART_DATA:
                self.on_part_data(first, 0, len(first))
            elif kind == _PART_END:
                self.on_part_end()
            elif kind == _END:
                self.on_end()

    def _call_header_callbacks(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.on_part_begin()
        for name, value in headers:
            self.on_header_field(name, 0, len(name))
            # python-multipart reports no value data for an empty value.
            if value:
                self.on_header_value(value, 0, len(value))
            self.on_header_end()
        self.on_headers_finished()


_DEFAULT_CALLBACKS = {name: vars(MultiPartParser)[name] for name in _CALLBACK_NAMES}
