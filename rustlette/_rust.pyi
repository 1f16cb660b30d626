"""Type stub for the compiled extension. Users import `rustlette.*`, never this module."""

__version__: str

def parse_query_string(query: str | bytes, /) -> list[tuple[str, str]]:
    """Parse a query string as Starlette's `QueryParams` does.

    `bytes` is read as Latin-1, as ASGI servers deliver `scope["query_string"]`.
    Raises `UnicodeEncodeError` for a `str` with lone surrogates and `TypeError`
    for any other type.
    """
