"""The Rust urlencoded form parser against Starlette's `FormParser`."""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import anyio
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.datastructures import Headers as StarletteHeaders
from starlette.formparsers import FormParser as StarletteFormParser

from differential import Differential, Framework, http_scope
from rustlette import _rust
from rustlette.datastructures import Headers
from rustlette.formparsers import FormParser, MultiPartException

_FORM_HEADERS = [(b"content-type", b"application/x-www-form-urlencoded")]

# Bytes that steer the parser: separators, escapes, '+', hex digits, and raw bytes
# outside ASCII that Starlette reads as Latin-1.
_BODY_ALPHABET = b"&=%+;aAfF09 \r\n\x00\x7f\x80\xc3\xa9\xed\xa0\xf0\x9f\xff"

_bodies = st.one_of(
    st.binary(max_size=120),
    st.lists(st.sampled_from(_BODY_ALPHABET), max_size=80).map(bytes),
    st.lists(
        st.sampled_from(["%", "%2", "%C3", "%A9", "%zz", "%2B", "%26", "%3D", "&", "&&", "=", "+", ";", "a", "b"]),
        max_size=30,
    ).map(lambda parts: "".join(parts).encode("ascii")),
)

_max_fields = st.one_of(
    st.just(1000),
    st.integers(min_value=-2, max_value=8),
    st.sampled_from([0.5, 2.5, math.inf, -math.inf, math.nan, True, 2**70]),
)
_max_part_size = st.one_of(
    st.just(1024 * 1024),
    st.integers(min_value=-2, max_value=24),
    st.sampled_from([2048, 3000, 2**70]),
)

Outcome = tuple[str, Any]


def _split(body: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({min(cut, len(body)) for cut in cuts})
    chunks = []
    start = 0
    for point in points:
        chunks.append(body[start:point])
        start = point
    chunks.append(body[start:])
    return chunks


def _parse_with(parser_class: Any, headers_class: Any, chunks: Sequence[bytes], **limits: Any) -> Outcome:
    async def stream() -> AsyncGenerator[bytes, None]:
        for chunk in chunks:
            yield chunk

    async def parse() -> Outcome:
        parser = parser_class(headers_class(raw=list(_FORM_HEADERS)), stream(), **limits)
        try:
            form = await parser.parse()
        except Exception as exc:
            return ("raised", f"{type(exc).__name__}: {exc}")
        return ("returned", form.multi_items())

    return anyio.run(parse)


def _compare(chunks: Sequence[bytes], **limits: Any) -> None:
    expected = _parse_with(StarletteFormParser, StarletteHeaders, chunks, **limits)
    actual = _parse_with(FormParser, Headers, chunks, **limits)
    assert actual == expected


@given(body=_bodies, cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=4))
@example(body=b"a=%C3\xe9%A9&=&&b&c=1=2;d", cuts=[])
@example(body=b"name=%C3%A9t%C3%A9", cuts=[8, 9])
@example(body=b"&&", cuts=[1])
def test_form_parser_matches_starlette(body: bytes, cuts: list[int]) -> None:
    _compare(_split(body, cuts))


@given(
    body=_bodies,
    cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=3),
    max_fields=_max_fields,
    max_part_size=_max_part_size,
)
@example(body=b"abc=def", cuts=[2], max_fields=1000, max_part_size=5)
@example(body=b"a&b&c", cuts=[], max_fields=2.5, max_part_size=1024)
@example(body=b"=&=", cuts=[], max_fields=1000, max_part_size=-1)
def test_form_parser_limits_match_starlette(
    body: bytes, cuts: list[int], max_fields: int | float, max_part_size: int
) -> None:
    _compare(_split(body, cuts), max_fields=max_fields, max_part_size=max_part_size)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", []),
        (b"a=1&a=2&b", [("a", "1"), ("a", "2"), ("b", "")]),
        (b"a+b=c+d%2B", [("a b", "c d+")]),
        (b"a=1;b=2", [("a", "1;b=2")]),
        (b"=&&=x&y=", [("", ""), ("", "x"), ("y", "")]),
        (b"a=%zz%4&b=%", [("a", "%zz%4"), ("b", "%")]),
        (b"\xe9=%C3%A9&x=%FF", [("\xe9", "\xe9"), ("x", "\ufffd")]),
    ],
)
def test_urlencoded_parser_table(body: bytes, expected: list[tuple[str, str]]) -> None:
    parser = _rust.UrlencodedParser(1000, 1024 * 1024)
    parser.feed(body)
    assert parser.finish() == expected


def test_urlencoded_parser_joins_split_fields() -> None:
    parser = _rust.UrlencodedParser(1000, 1024 * 1024)
    chunks: list[bytes | bytearray] = [b"na", b"me=%C", b"3%A9", b"&", bytearray(b"second"), b""]
    for chunk in chunks:
        parser.feed(chunk)
    assert parser.finish() == [("name", "\xe9"), ("second", "")]


@pytest.mark.parametrize(
    ("max_fields", "message"),
    [
        (1, "Too many fields. Maximum number of fields is 1."),
        (1.5, "Too many fields. Maximum number of fields is 1.5."),
        (0, "Too many fields. Maximum number of fields is 0."),
        (-1, "Too many fields. Maximum number of fields is -1."),
        (False, "Too many fields. Maximum number of fields is False."),
    ],
)
def test_urlencoded_parser_field_limit_message(max_fields: int | float, message: str) -> None:
    parser = _rust.UrlencodedParser(max_fields, 1024 * 1024)
    with pytest.raises(MultiPartException) as info:
        parser.feed(b"a=1&b=2&")
    assert info.value.message == message
    # The parser stays failed.
    with pytest.raises(MultiPartException, match="Too many fields"):
        parser.feed(b"c=3")


@pytest.mark.parametrize(
    ("max_part_size", "message"),
    [
        (4, "Field exceeded maximum size of 0KB."),
        (2048, "Field exceeded maximum size of 2KB."),
        (3000, "Field exceeded maximum size of 2KB."),
        (-5, "Field exceeded maximum size of 0KB."),
    ],
)
def test_urlencoded_parser_size_limit_message(max_part_size: int, message: str) -> None:
    parser = _rust.UrlencodedParser(1000, max_part_size)
    with pytest.raises(MultiPartException) as info:
        parser.feed(b"name=" + b"v" * 4000)
    assert info.value.message == message


def test_urlencoded_parser_unbounded_limits() -> None:
    for limit in (math.inf, math.nan, 2**80):
        parser = _rust.UrlencodedParser(limit, limit)
        parser.feed(b"&".join(b"k=v" for _ in range(2000)))
        assert len(parser.finish()) == 2000


def test_urlencoded_parser_rejects_other_limit_types() -> None:
    with pytest.raises(TypeError, match="max_fields must be an int or a float, not str"):
        _rust.UrlencodedParser("10", 1024)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_part_size must be an int or a float, not NoneType"):
        _rust.UrlencodedParser(10, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("chunk", ["a=1", memoryview(b"a=1"), 1])
def test_urlencoded_parser_rejects_other_chunk_types(chunk: Any) -> None:
    parser = _rust.UrlencodedParser(1000, 1024)
    with pytest.raises(TypeError, match="chunk must be bytes or bytearray, not"):
        parser.feed(chunk)


def test_urlencoded_parser_refuses_calls_after_finish() -> None:
    parser = _rust.UrlencodedParser(1000, 1024)
    parser.feed(b"a=1")
    assert parser.finish() == [("a", "1")]
    with pytest.raises(RuntimeError, match=r"cannot be used after finish\(\) has returned"):
        parser.feed(b"b=2")
    with pytest.raises(RuntimeError, match=r"cannot be used after finish\(\) has returned"):
        parser.finish()


def test_form_parser_reads_limits_at_parse_time() -> None:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield b"a=1&b=2"

    async def parse() -> None:
        parser = FormParser(Headers(raw=list(_FORM_HEADERS)), stream())
        parser.max_fields = 1
        with pytest.raises(MultiPartException, match="Maximum number of fields is 1"):
            await parser.parse()

    anyio.run(parse)


# The whole request through both frameworks.


def _form_app(fw: Framework) -> Any:
    async def show_form(request: Any) -> Any:
        limits = {key: float(value) if "." in value else int(value) for key, value in request.query_params.items()}
        form = await request.form(**limits)
        return fw.responses.JSONResponse([[key, value] for key, value in form.multi_items()])

    return fw.applications.Starlette(routes=[fw.routing.Route("/form", show_form, methods=["POST"])])


@pytest.mark.parametrize(
    ("content_type", "query", "body"),
    [
        (b"application/x-www-form-urlencoded", b"", b"a=1&b=%C3%A9&c&&=&d=x+y%2B"),
        (b"Application/X-WWW-Form-Urlencoded; charset=latin-1", b"", b"a=\xe9"),
        (b" application/x-www-form-urlencoded ", b"", b"a=1"),
        (b"application/x-www-form-urlencoded", b"max_fields=2", b"a&b&c"),
        (b"application/x-www-form-urlencoded", b"max_fields=2.5", b"a&b&c"),
        (b"application/x-www-form-urlencoded", b"max_part_size=4", b"abc=de"),
        (b"application/x-www-form-urlencoded", b"max_part_size=3000", b"a=" + b"x" * 3000),
        (b"application/x-www-form-urlencoded", b"", b"k=v&" * 1001),
    ],
    ids=["plain", "content-type-case", "content-type-blanks", "max-fields", "max-fields-float", "field-size",
         "field-size-kb", "default-max-fields"],
)
def test_request_form_urlencoded_bodies(
    differential: Differential, content_type: bytes, query: bytes, body: bytes
) -> None:
    scope = http_scope("/form", method="POST", query_string=query, headers=[(b"content-type", content_type)])
    differential.compare_scope(_form_app, scope, body)
