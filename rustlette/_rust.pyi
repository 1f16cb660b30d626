"""Type stub for the compiled extension. Users import `rustlette.*`, never this module."""

from collections.abc import Collection, Iterable
from re import Pattern
from typing import Any, ClassVar, Literal, TypeAlias, final

__all__ = [
    "MultipartParseError",
    "MultipartReader",
    "RouteTable",
    "UrlencodedParser",
    "__version__",
    "encode_json",
    "find_header",
    "parse_cookie_header",
    "parse_header_params",
    "parse_query_string",
]
__version__: str

def encode_json(content: Any, /) -> bytes:
    """Encode `content` as Starlette's `JSONResponse.render` does.

    The result and the exceptions are those of `json.dumps(content,
    ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))`
    followed by `.encode("utf-8")` on CPython 3.11. Only the depth limit
    differs: up to 1000 nested lists and dicts encode whatever the
    interpreter's recursion limit is, and deeper nesting raises
    `RecursionError`.
    """

def find_header(raw: Iterable[tuple[bytes, bytes]], key: str, /) -> str | None:
    """Return the first value in `raw` whose name is `key`, decoded as Latin-1, or `None`.

    The result and the exceptions are those of a Python loop that compares each
    name with `key.lower().encode("latin-1")` and returns `value.decode("latin-1")`.
    """

def parse_cookie_header(cookie_string: str, /) -> dict[str, str]:
    """Parse a `Cookie` header into a dict as Starlette's `cookie_parser` does.

    A name that repeats keeps its first position and its last value. Lone
    surrogates come through unchanged.
    """

def parse_header_params(value: str | bytes | None, /) -> tuple[bytes, dict[bytes, bytes]]:
    """Split a header value into its lowercased main value and its parameters.

    The result is python-multipart's `parse_options_header(value)`: `bytes` is
    read as Latin-1, a false value gives `(b"", {})`, and a result that keeps a
    character beyond U+00FF raises the `UnicodeEncodeError` of
    `str.encode("latin-1")`. Any other type raises `TypeError`.
    """

def parse_query_string(query: str | bytes, /) -> list[tuple[str, str]]:
    """Parse a query string as Starlette's `QueryParams` does.

    `bytes` is read as Latin-1, as ASGI servers deliver `scope["query_string"]`.
    Raises `UnicodeEncodeError` for a `str` with lone surrogates and `TypeError`
    for any other type.
    """

_RouteTableEntry: TypeAlias = (
    tuple[Literal["http"], str | Pattern[str], Collection[str] | None]
    | tuple[Literal["websocket", "mount"], str | Pattern[str]]
    | None
)

@final
class RouteTable:
    """An index of a router's routes, for one lookup per request.

    Entry `i` describes route `i`: `("http", pattern, methods)` for a `Route`,
    `("websocket", pattern)` for a `WebSocketRoute`, `("mount", pattern)` for a
    `Mount`, or `None` for a route that only its own `matches()` can test. A
    pattern is the route's `path_regex` or that regex's `pattern` string. Entries
    the table cannot match exactly, such as a compiled pattern with flags or one
    with two parameters in a segment, become opaque as `None` does.
    """

    def __new__(cls, entries: Iterable[_RouteTableEntry], /) -> RouteTable: ...
    @property
    def opaque(self) -> tuple[int, ...]:
        """The indices of the entries the table never matches, ascending."""

    def lookup(
        self, route_path: str, scope_type: str, method: str | None, /
    ) -> tuple[int | None, int | None]:
        """Return the indices `(full, partial)` that Starlette's route loop would find.

        `full` is the first entry giving `Match.FULL` for `route_path` and
        `partial` the first giving `Match.PARTIAL` before it, each `None` if there
        is none. Opaque entries are skipped, so the caller tests those with a
        lower index itself. `method` is required for `"http"`. Other scope types
        match nothing.

        NOTE: only the first partial is returned, while Starlette calls `matches()`
        on each partial before the full one, where an `int` value beyond Python's
        integer string limit raises `ValueError`.
        """

    def lookup_params(
        self, route_path: str, scope_type: str, method: str | None, /
    ) -> tuple[int | None, int | None, tuple[str, ...] | None]:
        """Return `(full, partial, values)`: what `lookup` returns, and the raw parameter values of `full`.

        `values` are the strings that `path_regex.match(route_path).groupdict()`
        of the full match holds, in the order of its groups, before any
        convertor runs. It is `None` when there is no full match, and also when
        `route_path` contains lone surrogates.
        """

    def __len__(self) -> int: ...

@final
class UrlencodedParser:
    """A streaming parser for one `application/x-www-form-urlencoded` body.

    `max_fields` and `max_part_size` are the limits of Starlette's
    `FormParser`. Exceeding one raises `rustlette.formparsers.MultiPartException`
    with Starlette's message, and so does every later call.
    """

    def __new__(cls, max_fields: int | float, max_part_size: int | float, /) -> UrlencodedParser: ...
    def feed(self, chunk: bytes | bytearray, /) -> None:
        """Parse the next chunk of the body."""

    def finish(self) -> list[tuple[str, str]]:
        """End the body and return its fields in order.

        The parser accepts no calls afterwards: they raise `RuntimeError`.
        """

_MultipartEvent: TypeAlias = tuple[int, Any, Any, Any]

class MultipartParseError(ValueError):
    """A multipart body or boundary that `MultipartReader` rejects.

    The message names the problem and its byte offset in the body.
    """

    events: list[_MultipartEvent]
    """The events that the rejected chunk completed before the offending byte."""

@final
class MultipartReader:
    """A push parser for one `multipart/form-data` body, fed chunk by chunk.

    `feed` returns the events that a chunk completes, as 4-tuples `(kind, a, b, c)`:

    - `(PART_BEGIN, name, filename, headers)`: a part's headers are complete.
      `name` and `filename` are the `Content-Disposition` parameters as bytes, or
      `None`, and `headers` lists the `(name, value)` pairs as sent.
    - `(PART_DATA, data, None, None)`: data of the current part.
    - `(PART_END, None, None, None)`: the current part is complete.
    - `(FIELD, name, value, size)`: with `fold_fields`, a whole part without
      `filename` whose headers and end came in the same chunk, in place of the
      three events above, without its headers. `size` is the value's length in
      bytes. With `decode_utf8`, `name` and `value` are `str` where they are
      valid UTF-8.
    - `(END, None, None, None)`: the closing boundary. Later bytes are ignored.

    The syntax is the one python-multipart 0.0.34 accepts, except that a part
    header value with a control character other than tab is rejected. A part may
    have 8 header lines of at most 4224 bytes, and a boundary at most 256 bytes.
    """

    PART_BEGIN: ClassVar[int]
    PART_DATA: ClassVar[int]
    PART_END: ClassVar[int]
    FIELD: ClassVar[int]
    END: ClassVar[int]

    def __new__(
        cls, boundary: bytes, /, *, fold_fields: bool = False, decode_utf8: bool = False
    ) -> MultipartReader:
        """Raises `MultipartParseError` for a boundary longer than 256 bytes."""

    def feed(self, chunk: bytes | bytearray, /) -> list[_MultipartEvent]:
        """Parse the next chunk of the body and return the events it completes.

        Raises `MultipartParseError` for a malformed body, and `RuntimeError` when
        called after an error or after `close`.
        """

    def close(self) -> bool:
        """End the body, and return whether it ended after the closing boundary."""
