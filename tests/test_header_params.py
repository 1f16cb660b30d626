"""The Rust header-parameter parser against python-multipart's `parse_options_header`.

Starlette 1.10 splits `Content-Type` and `Content-Disposition` with that function, so
it is the reference for `rustlette.formparsers.parse_options_header`.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from python_multipart.multipart import parse_options_header as reference_parse_options_header

from differential import Differential, Framework, http_scope
from rustlette import _rust
from rustlette.formparsers import parse_options_header

# Characters that steer the splitting: separators, quotes, escapes, the `*` of RFC 2231
# names, Windows paths, blanks, and letters whose case changes.
_HEADER_ALPHABET = ';="\\*: \t\nAaZzCf/-_.\xc0\xe9\xdf\xb5\xff'

_PARAMETER_PARTS = [
    "form-data",
    "Multipart/Form-Data",
    "; ",
    ";",
    " ; ",
    "name",
    "Name",
    "filename",
    "filename*",
    "boundary",
    "charset",
    "=",
    " = ",
    '"',
    '\\"',
    "\\\\",
    "C:\\",
    "\\",
    "x.txt",
    "UTF-8''%C3%A9",
    "é",
]

_latin1_text = st.one_of(
    st.text(alphabet=_HEADER_ALPHABET, max_size=50),
    st.lists(st.sampled_from(_PARAMETER_PARTS), max_size=14).map("".join),
    st.binary(max_size=40).map(lambda raw: raw.decode("latin-1")),
)

# The Kelvin sign and `Ÿ` lowercase into Latin-1, the others stay outside it.
_NON_LATIN1_PARTS = ["\u212a", "\u0178", "\u03a3", "\u0130", "\ud800", "\u0100"]

_any_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=20),
    st.lists(st.sampled_from([*_PARAMETER_PARTS, *_NON_LATIN1_PARTS]), max_size=12).map("".join),
)

Outcome = tuple[str, Any]


def _outcome(function: Any, value: Any) -> Outcome:
    try:
        return ("returned", function(value))
    except Exception as exc:
        return ("raised", f"{type(exc).__name__}: {exc}")


def _assert_same(value: str | bytes | None) -> None:
    expected = _outcome(reference_parse_options_header, value)
    actual = _outcome(parse_options_header, value)
    assert actual == expected
    # Dict equality ignores order, and the order of the parameters is part of the result.
    if expected[0] == "returned":
        assert list(actual[1][1]) == list(expected[1][1])


@given(_latin1_text)
@example('form-data; name="a\\";b"; filename="C:\\dir\\x.txt"')
@example('form-data; name="a\\\\";b')
@example('a; filename="\\\\server\\a.txt"; filename=\\\\server\\b.txt')
@example("A=B; c=d")
def test_parse_options_header_matches_reference_on_latin1_text(value: str) -> None:
    _assert_same(value)


@given(_latin1_text)
def test_parse_options_header_matches_reference_on_bytes(value: str) -> None:
    _assert_same(value.encode("latin-1"))


@given(_any_text)
@example("\u212a; \u0178=1")
@example("a; n=\u0100; m=\ud800")
@example(";\u0100=\u0100")
@example("x; filename=C:\\\u0100\\b")
@example("\u03a3\u03a3; a*=\u0100")
def test_parse_options_header_matches_reference_on_any_text(value: str) -> None:
    _assert_same(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (b"", {})),
        ("", (b"", {})),
        (b"", (b"", {})),
        ("Text/Plain", (b"text/plain", {})),
        ("text/html; charset=UTF-8", (b"text/html", {b"charset": b"UTF-8"})),
        (
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
            (b"multipart/form-data", {b"boundary": b"----WebKitFormBoundary7MA4YWxkTrZu0gW"}),
        ),
        (b'form-data; name="f"; filename="a.txt"', (b"form-data", {b"name": b"f", b"filename": b"a.txt"})),
        (b"form-data; name=f; filename*=UTF-8''%C3%A9.txt", (b"form-data", {b"name": b"f"})),
        (b'form-data; filename="C:\\Users\\me\\a.txt"', (b"form-data", {b"filename": b"a.txt"})),
        (b'form-data; name="semi;colon"', (b"form-data", {b"name": b"semi;colon"})),
        (b"form-data; name=\xe9", (b"form-data", {b"name": b"\xe9"})),
        ("\u212a", (b"k", {})),
    ],
)
def test_parse_options_header_table(value: str | bytes | None, expected: tuple[bytes, dict[bytes, bytes]]) -> None:
    assert parse_options_header(value) == expected


def test_header_params_false_values_give_empty_result() -> None:
    values: tuple[object, ...] = (0, [], False)
    for value in values:
        assert _rust.parse_header_params(value) == (b"", {})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1, ["a"], bytearray(b"a; b=c")])
def test_header_params_reject_other_types(value: Any) -> None:
    with pytest.raises(TypeError, match="header value must be str, bytes or None, not"):
        _rust.parse_header_params(value)


def test_header_params_raise_latin1_encode_error() -> None:
    with pytest.raises(UnicodeEncodeError) as info:
        _rust.parse_header_params("a; name=\u0100")
    expected = "'latin-1' codec can't encode character '\\u0100' in position 0: ordinal not in range(256)"
    assert str(info.value) == expected


# The whole request through both frameworks: the charset of a multipart body and the
# parameters of each part's Content-Disposition.


def _form_app(fw: Framework) -> Any:
    async def show_form(request: Any) -> Any:
        items = []
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, str):
                    items.append([key, value])
                else:
                    items.append([key, value.filename, (await value.read()).decode("latin-1")])
        return fw.responses.JSONResponse(items)

    return fw.applications.Starlette(routes=[fw.routing.Route("/form", show_form, methods=["POST"])])


def _multipart_body(disposition: bytes, content: bytes = b"value") -> bytes:
    return b"--b\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + content + b"\r\n--b--\r\n"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (b"multipart/form-data; boundary=b", _multipart_body(b'form-data; name="field"')),
        (b'Multipart/Form-Data; Boundary="b"; charset=latin-1', _multipart_body(b"form-data; name=\xe9", b"\xe9")),
        (b"multipart/form-data; boundary=b; charset=nonsense", _multipart_body(b'form-data; name="x"', b"\xe9")),
        (b"multipart/form-data; boundary=b", _multipart_body(b'form-data; name="f"; filename="C:\\tmp\\a.txt"')),
        (b"multipart/form-data; boundary=b", _multipart_body(b"form-data; name=\"f\"; filename*=UTF-8''x.txt")),
        (b"multipart/form-data; boundary=b", _multipart_body(b'form-data; name="a;b"')),
        (b"multipart/form-data; boundary=b", _multipart_body(b"form-data; filename=a.txt")),
        (b"multipart/form-data; charset=utf-8", _multipart_body(b'form-data; name="x"')),
    ],
    ids=["plain", "charset-latin-1", "unknown-charset", "windows-path", "rfc2231-filename", "quoted-semicolon",
         "missing-name", "missing-boundary"],
)
def test_request_form_header_params(differential: Differential, content_type: bytes, body: bytes) -> None:
    scope = http_scope("/form", method="POST", headers=[(b"content-type", content_type)])
    differential.compare_scope(_form_app, scope, body)
