from __future__ import annotations

import codecs
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from enum import Enum
from tempfile import SpooledTemporaryFile
from urllib.parse import unquote_plus

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


def _split_header_parameters(value: str) -> list[str]:
    """Split a header value at each `;` outside double quotes, as `email.message` does.

    A `;` ends a segment when the segment so far contains an even number of `"`, not
    counting `\\"`. Around the first `=` of a segment, blanks are removed and the name is
    lowercased: `'a; Name = "x;y"'` gives `["a", 'name="x;y"']`.
    """
    segments: list[str] = []
    start = 0
    while True:
        end = value.find(";", start)
        while end != -1 and (value.count('"', start, end) - value.count('\\"', start, end)) % 2:
            end = value.find(";", end + 1)
        if end == -1:
            end = len(value)

        segment = value[start:end]
        equals = segment.find("=")
        if equals != -1:
            segment = segment[:equals].rstrip(" \t").lower() + "=" + segment[equals + 1 :].lstrip(" \t")
        segments.append(segment.strip(" \t"))

        if end == len(value):
            return segments
        start = end + 1


def parse_options_header(value: str | bytes | None) -> tuple[bytes, dict[bytes, bytes]]:
    """Parse a Content-Type or Content-Disposition value into its lowercased type and parameters.

    `'form-data; name="a"'` gives `(b"form-data", {b"name": b"a"})`. Parameters in the
    extended syntax of RFC 2231 (`filename*=...`) are ignored, because RFC 7578 section 4.2
    forbids them in multipart/form-data. Strings are Latin-1, as header values are.
    """
    if not value:
        return b"", {}

    if isinstance(value, bytes):
        value = value.decode("latin-1")

    if ";" not in value:
        return value.lower().strip(" \t").encode("latin-1"), {}

    content_type, *segments = _split_header_parameters(value)
    options: dict[bytes, bytes] = {}
    for segment in segments:
        key, _, option = segment.partition("=")
        if "*" in key:
            continue
        if len(option) >= 2 and option[0] == option[-1] == '"':
            option = option[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        # Old Internet Explorer sends the full Windows path of an uploaded file.
        if key == "filename" and (option[1:3] == ":\\" or option[:2] == "\\\\"):
            option = option.split("\\")[-1]
        options[key.encode("latin-1")] = option.encode("latin-1")
    return content_type.lower().encode("latin-1"), options


class MultiPartException(Exception):
    """A form body that is malformed or exceeds a limit, with `message` describing the problem."""

    def __init__(self, message: str) -> None:
        self.message = message


class FormParser:
    """A streaming parser for `application/x-www-form-urlencoded` bodies.

    Fields are split at `&` only. Empty fields are skipped, and a field without `=` has an
    empty value. Each name and value is read as Latin-1, then decoded with `unquote_plus`.
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
        in_field = False
        in_value = False
        async for chunk in self.stream:
            position = 0
            while position < len(chunk):
                if not in_field:
                    if chunk[position] == _AMPERSAND:
                        position += 1
                        continue
                    self.on_field_start()
                    in_field = True
                    in_value = False

                separator = chunk.find(b"&", position)
                field_end = len(chunk) if separator == -1 else separator

                if not in_value:
                    equals = chunk.find(b"=", position, field_end)
                    if equals == -1:
                        name_end = field_end
                    else:
                        name_end = equals
                        in_value = True
                    if name_end > position:
                        self.on_field_name(chunk, position, name_end)
                    position = name_end if equals == -1 else equals + 1

                if in_value and field_end > position:
                    self.on_field_data(chunk, position, field_end)

                if separator == -1:
                    # The field may go on in the next chunk.
                    break
                self.on_field_end()
                in_field = False
                position = separator + 1

        if in_field:
            self.on_field_end()
        return FormData(self._items)


_AMPERSAND = ord("&")
_CR = ord("\r")
_LF = ord("\n")
_HYPHEN = ord("-")
_SPACE = ord(" ")
_TAB = ord("\t")

# RFC 2046 section 5.1.1 allows boundaries of at most 70 bytes. This bound leaves room
# for clients that go beyond it.
_MAX_BOUNDARY_LENGTH = 256
# Limits per part of a multipart body. A header line counts its name, the colon, the
# blanks after it and its value.
_MAX_PART_HEADERS = 8
_MAX_HEADER_LINE_SIZE = 4096 + 128
# The characters of an HTTP token (RFC 9110 section 5.6.2), which header names consist of.
_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Kinds of the events that `_MultipartReader.feed` returns. An event is a tuple
# `(kind, data, value)`: a header has its name and value, part data has the bytes in
# `data`, and the other kinds leave both empty.
_PART_BEGIN = 0
_HEADER = 1
_HEADERS_FINISHED = 2
_PART_DATA = 3
_PART_END = 4
_END = 5

_MultipartEvent = tuple[int, bytes, bytes]
_NO_BYTES = b""

# Reader states.
_PREAMBLE = 0
_FIRST_BOUNDARY = 1
_AFTER_FIRST_BOUNDARY = 2
_HEADERS = 3
_PART_BODY = 4
_BOUNDARY_PADDING = 5
_EPILOGUE = 6
_FAILED = 7


class FormParserError(ValueError):
    """A multipart body that breaks the syntax of RFC 2046 section 5.1.1 or a limit of the parser.

    `MultiPartParser` raises it as the cause of a `MultiPartException`.
    """


class _MultipartReader:
    """A push parser for multipart/form-data bodies that turns chunks into events.

    Part data ends at `CRLF--boundary` followed by CRLF, by `--` (the last part), or by
    blanks and then CRLF. Anything after the closing boundary is ignored, and a body that
    ends early stops without an error, dropping the unfinished part.
    """

    # TODO: move this reader into the Rust extension, keeping `feed` and its events.

    def __init__(self, boundary: bytes) -> None:
        if len(boundary) > _MAX_BOUNDARY_LENGTH:
            raise FormParserError(
                f"Boundary length {len(boundary)} exceeds the maximum of {_MAX_BOUNDARY_LENGTH} bytes"
            )
        self._dash_boundary = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        self._state = _PREAMBLE
        self._buffer = bytearray()
        self._boundary_matched = 0
        self._first_line_end = 0
        self._header_count = 0
        self._header_line_counted = False
        self._padding_cr_seen = False
        self.error: FormParserError | None = None

    def feed(self, data: bytes) -> list[_MultipartEvent]:
        """Parse the next chunk of the body and return the events it completes, in order.

        When the chunk is invalid, the events before the error are returned and `error` is
        set. The reader then accepts no more input.
        """
        if self._state == _FAILED:
            raise RuntimeError("The multipart reader cannot be fed after an error")

        events: list[_MultipartEvent] = []
        try:
            if self._state < _HEADERS:
                data = self._read_first_boundary(data, events)
            self._buffer += data
            self._read_buffer(events)
        except FormParserError as exc:
            self._state = _FAILED
            self._buffer.clear()
            self.error = exc
        return events

    def _read_first_boundary(self, data: bytes, events: list[_MultipartEvent]) -> bytes:
        """Consume the preamble and the first boundary line, and return the bytes after them."""
        position = 0
        while position < len(data):
            if self._state == _PREAMBLE:
                if data[position] in (_CR, _LF):
                    # Blank lines before the first boundary are skipped, together with
                    # anything up to the next `-` in the same chunk.
                    hyphen = data.find(b"-", position)
                    if hyphen == -1:
                        return b""
                    position = hyphen
                    continue
                self._state = _FIRST_BOUNDARY

            if self._state == _FIRST_BOUNDARY:
                expected = self._dash_boundary[self._boundary_matched :]
                received = data[position : position + len(expected)]
                if not expected.startswith(received):
                    raise FormParserError(f"Expected the boundary {self._dash_boundary!r} at the start of the body")
                self._boundary_matched += len(received)
                position += len(received)
                if self._boundary_matched == len(self._dash_boundary):
                    self._state = _AFTER_FIRST_BOUNDARY
                continue

            # The first boundary line ends with CRLF, or with `--` when the body has no parts.
            byte = data[position]
            position += 1
            if not self._first_line_end:
                if byte not in (_CR, _HYPHEN):
                    raise FormParserError(f"Expected CRLF or '--' after the first boundary, got {chr(byte)!r}")
                self._first_line_end = byte
                continue
            if byte != (_LF if self._first_line_end == _CR else _HYPHEN):
                raise FormParserError(f"Expected CRLF or '--' after the first boundary, got {chr(byte)!r}")
            if byte == _HYPHEN:
                self._state = _EPILOGUE
                events.append((_END, _NO_BYTES, _NO_BYTES))
                return b""
            self._start_part(events)
            return data[position:]
        return b""

    def _start_part(self, events: list[_MultipartEvent]) -> None:
        events.append((_PART_BEGIN, _NO_BYTES, _NO_BYTES))
        self._header_count = 0
        self._header_line_counted = False
        self._state = _HEADERS

    def _read_buffer(self, events: list[_MultipartEvent]) -> None:
        while True:
            if self._state == _HEADERS:
                if not self._read_header_line(events):
                    return
            elif self._state == _PART_BODY:
                if not self._read_part_body(events):
                    return
            elif self._state == _BOUNDARY_PADDING:
                if not self._read_boundary_padding(events):
                    return
            else:
                # The epilogue after the closing boundary is ignored.
                self._buffer.clear()
                return

    def _read_header_line(self, events: list[_MultipartEvent]) -> bool:
        """Consume one header line, or the blank line that ends the headers.

        Return False when the buffer ends before the line does. A partial line is still
        checked, so that a bad or oversized header fails as soon as it arrives.
        """
        buffer = self._buffer
        if not buffer:
            return False

        if buffer[0] == _CR:
            if len(buffer) < 2:
                return False
            if buffer[1] != _LF:
                raise FormParserError("Expected LF after CR at the end of the part headers")
            del buffer[:2]
            events.append((_HEADERS_FINISHED, _NO_BYTES, _NO_BYTES))
            self._state = _PART_BODY
            return True

        # A header counts as soon as its line starts.
        if not self._header_line_counted:
            self._header_line_counted = True
            self._header_count += 1
            if self._header_count > _MAX_PART_HEADERS:
                raise FormParserError(f"Too many headers in a part, the maximum is {_MAX_PART_HEADERS}")

        colon = buffer.find(b":")
        name_end = len(buffer) if colon == -1 else colon
        if name_end > _MAX_HEADER_LINE_SIZE:
            raise FormParserError(f"Part header line exceeds {_MAX_HEADER_LINE_SIZE} bytes")
        # A partial line is checked again with every chunk, so the check runs in C.
        invalid = buffer[:name_end].translate(None, _TOKEN_CHARS)
        if invalid:
            raise FormParserError(f"Invalid character {chr(invalid[0])!r} in a part header name")
        if colon == -1:
            return False
        if colon == 0:
            raise FormParserError("Empty part header name")

        # Spaces after the colon are skipped, tabs are kept in the value.
        value_start = colon + 1
        while value_start < len(buffer) and buffer[value_start] == _SPACE:
            value_start += 1
        carriage_return = buffer.find(b"\r", value_start)
        line_size = len(buffer) if carriage_return == -1 else carriage_return
        if line_size > _MAX_HEADER_LINE_SIZE:
            raise FormParserError(f"Part header line exceeds {_MAX_HEADER_LINE_SIZE} bytes")
        if carriage_return == -1 or carriage_return + 1 == len(buffer):
            return False
        if buffer[carriage_return + 1] != _LF:
            raise FormParserError("Expected LF after CR at the end of a part header")

        events.append((_HEADER, bytes(buffer[:colon]), bytes(buffer[value_start:carriage_return])))
        del buffer[: carriage_return + 2]
        self._header_line_counted = False
        return True

    def _read_part_body(self, events: list[_MultipartEvent]) -> bool:
        """Consume part data up to the next delimiter, if the buffer contains one.

        Return False when more input is needed. Bytes that may be the start of a delimiter
        stay in the buffer.
        """
        buffer = self._buffer
        delimiter = self._delimiter
        search_from = 0
        while True:
            found = buffer.find(delimiter, search_from)
            if found == -1:
                break

            after = found + len(delimiter)
            line_end = bytes(buffer[after : after + 2])
            if line_end in (b"", b"\r", b"-"):
                # Whether this is a boundary depends on bytes that have not arrived yet.
                self._emit_data(found, events)
                return False
            if line_end == b"\r\n":
                self._emit_data(found, events)
                del buffer[: len(delimiter) + 2]
                events.append((_PART_END, _NO_BYTES, _NO_BYTES))
                self._start_part(events)
                return True
            if line_end == b"--":
                self._emit_data(found, events)
                buffer.clear()
                events.append((_PART_END, _NO_BYTES, _NO_BYTES))
                events.append((_END, _NO_BYTES, _NO_BYTES))
                self._state = _EPILOGUE
                return False
            if line_end[0] in (_SPACE, _TAB):
                self._emit_data(found, events)
                del buffer[: len(delimiter)]
                self._padding_cr_seen = False
                self._state = _BOUNDARY_PADDING
                return True
            # A delimiter followed by anything else is part of the data.
            search_from = found + 1

        # Keep a tail that may be the start of a delimiter. The delimiter has only one CR,
        # its first byte, so only the last CR of the tail can start one.
        tail_start = buffer.rfind(b"\r", max(0, len(buffer) - len(delimiter) + 1))
        if tail_start == -1 or not delimiter.startswith(buffer[tail_start:]):
            tail_start = len(buffer)
        self._emit_data(tail_start, events)
        return False

    def _emit_data(self, end: int, events: list[_MultipartEvent]) -> None:
        if end > 0:
            events.append((_PART_DATA, bytes(self._buffer[:end]), _NO_BYTES))
            del self._buffer[:end]

    def _read_boundary_padding(self, events: list[_MultipartEvent]) -> bool:
        """Consume the blanks after a boundary and the CRLF that ends its line."""
        buffer = self._buffer
        for index, byte in enumerate(buffer):
            if self._padding_cr_seen:
                if byte != _LF:
                    raise FormParserError("Expected CRLF after the blanks that follow a boundary")
                del buffer[: index + 1]
                events.append((_PART_END, _NO_BYTES, _NO_BYTES))
                self._start_part(events)
                return True
            if byte == _CR:
                self._padding_cr_seen = True
            elif byte not in (_SPACE, _TAB):
                raise FormParserError("Expected CRLF after the blanks that follow a boundary")
        buffer.clear()
        return False


class MultiPartParser:
    """A streaming parser for `multipart/form-data` bodies.

    Text fields become strings, decoded with the `charset` of the Content-Type header.
    File parts become `UploadFile` objects backed by spooled temporary files.
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
        part = self._current_part
        _, options = parse_options_header(part.content_disposition)
        try:
            part.field_name = _user_safe_decode(options[b"name"], self._charset)
        except KeyError:
            raise MultiPartException('The Content-Disposition header field "name" must be provided.')

        if b"filename" not in options:
            self._current_fields += 1
            if self._current_fields > self.max_fields:
                raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")
            part.file = None
            return

        self._current_files += 1
        if self._current_files > self.max_files:
            raise MultiPartException(f"Too many files. Maximum number of files is {self.max_files}.")
        filename = _user_safe_decode(options[b"filename"], self._charset)
        tempfile = SpooledTemporaryFile(max_size=self.spool_max_size)
        self._files_to_close_on_error.append(tempfile)
        part.file = UploadFile(
            file=tempfile,  # type: ignore[arg-type]
            size=0,
            filename=filename,
            headers=Headers(raw=part.item_headers),
        )

    def on_end(self) -> None:
        pass

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

        try:
            reader = _MultipartReader(boundary)
            async for chunk in self.stream:
                for event in reader.feed(chunk):
                    self._dispatch(event)
                if reader.error is not None:
                    raise reader.error
                # Write file data here, not in the event handlers, so that the writes can
                # run in a worker thread once a file has rolled over to disk.
                for part, data in self._file_parts_to_write:
                    assert part.file is not None
                    await part.file.write(data)
                for part in self._file_parts_to_finish:
                    assert part.file is not None
                    await part.file.seek(0)
                self._file_parts_to_write.clear()
                self._file_parts_to_finish.clear()
        except BaseException as exc:
            # Close the temporary files whether the body was invalid or reading it failed.
            for file in self._files_to_close_on_error:
                file.close()
            if isinstance(exc, FormParserError):
                raise MultiPartException("Invalid multipart data.") from exc
            raise

        return FormData(self.items)

    def _dispatch(self, event: _MultipartEvent) -> None:
        kind, data, value = event
        if kind == _PART_DATA:
            self.on_part_data(data, 0, len(data))
        elif kind == _HEADER:
            self.on_header_field(data, 0, len(data))
            self.on_header_value(value, 0, len(value))
            self.on_header_end()
        elif kind == _PART_BEGIN:
            self.on_part_begin()
        elif kind == _HEADERS_FINISHED:
            self.on_headers_finished()
        elif kind == _PART_END:
            self.on_part_end()
        else:
            self.on_end()
