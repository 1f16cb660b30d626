"""The Rust query-string parser against Starlette's `QueryParams` and `parse_qsl`."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams as StarletteQueryParams

from rustlette import _rust
from rustlette.datastructures import QueryParams

# Bytes that steer the parser: separators, escapes, '+' and hex digits, plus raw
# bytes outside ASCII that must come through as Latin-1 characters.
_QUERY_ALPHABET = b"&=%+;#aAfF09zZ \x00\x7f\x80\xc3\xa9\xed\xa0\xf0\x9f\xff"

_query_bytes = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(_QUERY_ALPHABET), max_size=80).map(bytes),
    st.lists(
        st.sampled_from(["%", "%2", "%C3", "%A9", "%zz", "%2B", "%ED%A0%80", "&", "=", "+", "a"]),
        max_size=30,
    ).map(lambda parts: "".join(parts).encode("ascii")),
)


def _reference(query: bytes) -> list[tuple[str, str]]:
    return parse_qsl(query.decode("latin-1"), keep_blank_values=True)


@given(_query_bytes)
@example(b"a=%C3\xe9%A9")
@example(b"=&=&&x")
def test_query_parser_matches_parse_qsl(query: bytes) -> None:
    assert _rust.parse_query_string(query) == _reference(query)


@given(_query_bytes)
def test_query_params_match_starlette(query: bytes) -> None:
    ours = QueryParams(query)
    theirs = StarletteQueryParams(query)

    assert ours.multi_items() == theirs.multi_items()
    assert dict(ours) == dict(theirs)
    assert str(ours) == str(theirs)


@given(st.text(max_size=80))
def test_query_parser_matches_parse_qsl_on_text(query: str) -> None:
    try:
        parsed = _rust.parse_query_string(query)
    except UnicodeEncodeError:
        # Only text that UTF-8 cannot encode (lone surrogates) is refused.
        with pytest.raises(UnicodeEncodeError):
            query.encode("utf-8")
        return
    assert parsed == parse_qsl(query, keep_blank_values=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", []),
        (b"a=1&a=2&b", [("a", "1"), ("a", "2"), ("b", "")]),
        (b"a+b=%2B+%2b", [("a b", "+ +")]),
        (b"a=%zz&%=%", [("a", "%zz"), ("%", "%")]),
        (b"k=1;j=2", [("k", "1;j=2")]),
        (b"\xe9=%C3%A9", [("\xe9", "\xe9")]),
        (b"a=%FF", [("a", "\ufffd")]),
    ],
)
def test_query_parser_table(query: bytes, expected: list[tuple[str, str]]) -> None:
    assert _rust.parse_query_string(query) == expected


def test_query_parser_text_with_surrogate_falls_back() -> None:
    # The extension refuses what UTF-8 cannot carry; QueryParams falls back to the
    # standard library so that such text still parses as Starlette parses it.
    with pytest.raises(UnicodeEncodeError):
        _rust.parse_query_string("a=\ud800")
    assert QueryParams("a=\ud800").multi_items() == StarletteQueryParams("a=\ud800").multi_items()


@pytest.mark.parametrize("value", [1, None, bytearray(b"a=1"), memoryview(b"a=1")])
def test_query_parser_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="query string must be str or bytes, not"):
        _rust.parse_query_string(value)  # type: ignore[arg-type]
