"""Type stub for the compiled extension. Users import `rustlette.*`, never this module."""

from collections.abc import Collection, Iterable
from re import Pattern
from typing import Any, Literal, TypeAlias, final

__all__ = ["RouteTable", "__version__", "encode_json", "parse_query_string"]
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

    def __len__(self) -> int: ...
