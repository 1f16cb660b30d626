"""The Rust `Cookie` header parser against Starlette's `cookie_parser`."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.requests import cookie_parser as starlette_cookie_parser

from differential import Differential, Framework, http_scope
from rustlette import _rust
from rustlette import requests as rustlette_requests

# Characters that steer the parser: separators, quotes, escapes and octal digits, and
# whitespace that only Python's `str.strip()` removes, around ordinary letters.
_COOKIE_ALPHABET = ';="\\01234789 \t\n\r\x0b\x1c\x1f\x85\xa0\u2003\u3000\u200bAaé\U0001f600'

_cookie_strings = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=_COOKIE_ALPHABET, max_size=50),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=30),
    st.lists(
        st.sampled_from(['"', '\\"', "\\\\", "\\012", "\\377", "\\400", "\\\n", "=", ";", " ", "a", "\ud800"]),
        max_size=20,
    ).map("".join),
    st.binary(max_size=40).map(lambda raw: raw.decode("latin-1")),
)


def _items(cookies: dict[str, str]) -> list[tuple[str, str]]:
    # Order matters too: a repeated name keeps its first position.
    return list(cookies.items())


@given(_cookie_strings)
@example('a=1; b="x\\"y\\012"; a=2')
@example('"\\\n\\101"')
@example(" \x1c=\x1f ;\xa0")
@example("\ud800=\udc00")
def test_cookie_parser_matches_starlette(cookie_string: str) -> None:
    expected = _items(starlette_cookie_parser(cookie_string))
    assert _items(_rust.parse_cookie_header(cookie_string)) == expected
    assert _items(rustlette_requests.cookie_parser(cookie_string)) == expected


@pytest.mark.parametrize(
    ("cookie_string", "expected"),
    [
        ("", {}),
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ("a=1;a=2", {"a": "2"}),
        ("lone", {"": "lone"}),
        ("a=b=c", {"a": "b=c"}),
        (" = ;;", {}),
        ("key = spaced value ", {"key": "spaced value"}),
        ('q="quoted value"', {"q": "quoted value"}),
        ('q="a\\"b\\\\c"', {"q": 'a"b\\c'}),
        ('q="\\101\\060\\400"', {"q": "A0400"}),
        ('q="\\\nx"', {"q": "\\\nx"}),
        ('q="unterminated', {"q": '"unterminated'}),
        ("q=\xa0padded\u3000", {"q": "padded"}),
    ],
)
def test_cookie_parser_table(cookie_string: str, expected: dict[str, str]) -> None:
    assert _rust.parse_cookie_header(cookie_string) == expected


def test_cookie_parser_keeps_first_position_of_repeat() -> None:
    assert list(_rust.parse_cookie_header("b=1; a=2; b=3")) == ["b", "a"]


@pytest.mark.parametrize("value", [b"a=1", None, 1])
def test_cookie_parser_rejects_other_types(value: Any) -> None:
    with pytest.raises(TypeError):
        _rust.parse_cookie_header(value)


def test_cookie_parser_looks_up_extension_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_rust, "parse_cookie_header", lambda cookie_string: {"patched": cookie_string})
    assert rustlette_requests.cookie_parser("a=1") == {"patched": "a=1"}


def test_request_cookies_use_patched_cookie_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rustlette_requests, "cookie_parser", lambda cookie_string: {"seen": cookie_string})
    request = rustlette_requests.Request(http_scope("/", headers=[(b"cookie", b"a=1")]))
    assert request.cookies == {"seen": "a=1"}


# The whole request through both frameworks.


def _cookies_app(fw: Framework) -> Any:
    async def show_cookies(request: Any) -> Any:
        return fw.responses.JSONResponse(list(request.cookies.items()))

    return fw.applications.Starlette(routes=[fw.routing.Route("/cookies", show_cookies)])


@pytest.mark.parametrize(
    "cookie_headers",
    [
        [b"session=0123456789abcdef; theme=dark"],
        [b'a="\\"quoted\\" \\351t\\351"; b= spaced ; c'],
        [b"a=1; b=2", b"b=3; c=4"],
        [b"\xa0a\xa0=\x85\xe9\x85; \x1cb=\x1f"],
        [b"=; ;;=x"],
    ],
    ids=["typical", "quoted", "two-headers", "latin-1-whitespace", "empty-pairs"],
)
def test_request_cookies_headers(differential: Differential, cookie_headers: list[bytes]) -> None:
    scope = http_scope("/cookies", headers=[(b"cookie", header) for header in cookie_headers])
    differential.compare_scope(_cookies_app, scope)
