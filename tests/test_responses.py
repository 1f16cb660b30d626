from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from differential import Differential, Framework, Outcome, call, http_scope

ResponseBuilder = Callable[[Framework], Any]


def _serve(builder: ResponseBuilder) -> Callable[[Framework], Any]:
    """Build a factory for an app that returns `builder(fw)` for every path."""

    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return builder(fw)

        route = fw.routing.Route("/{path:path}", endpoint, methods=["GET", "POST"])
        return fw.applications.Starlette(routes=[route])

    return factory


class _Color(enum.IntEnum):
    RED = 1


class _Label(str):
    pass


def _iterate_chunks() -> Iterator[Any]:
    yield b"bytes,"
    yield "text,"
    yield memoryview(b"view,")
    yield ""
    yield "é"


async def _iterate_chunks_async() -> AsyncIterator[Any]:
    for chunk in _iterate_chunks():
        yield chunk


_RESPONSES: dict[str, ResponseBuilder] = {
    "response-empty": lambda fw: fw.responses.Response(),
    "response-text": lambda fw: fw.responses.Response("text"),
    "response-bytes": lambda fw: fw.responses.Response(b"\x00\xff", media_type="application/octet-stream"),
    "response-memoryview": lambda fw: fw.responses.Response(memoryview(b"abcdef")[1:4]),
    "response-text-charset": lambda fw: fw.responses.Response("é", media_type="text/csv"),
    "response-own-charset": lambda fw: fw.responses.Response("x", media_type="text/plain; Charset=latin-1"),
    "response-204": lambda fw: fw.responses.Response(status_code=204),
    "response-304": lambda fw: fw.responses.Response(b"", status_code=304, media_type="text/plain"),
    "response-201": lambda fw: fw.responses.Response("made", status_code=201),
    "response-599": lambda fw: fw.responses.Response("odd status", status_code=599),
    "response-headers": lambda fw: fw.responses.Response(
        "h", headers={"X-Mixed-Case": "A", "x-lower": "b", "X-Empty": ""}, media_type="text/plain"
    ),
    "response-own-content-type": lambda fw: fw.responses.Response(
        "c", headers={"Content-Type": "custom/type"}, media_type="text/html"
    ),
    "response-own-content-length": lambda fw: fw.responses.Response("length", headers={"content-length": "6"}),
    "response-latin1-header": lambda fw: fw.responses.Response("l", headers={"X-Name": "café"}),
    "plain-text": lambda fw: fw.responses.PlainTextResponse("plain ✓"),
    "plain-text-status": lambda fw: fw.responses.PlainTextResponse("gone", status_code=410),
    "html": lambda fw: fw.responses.HTMLResponse("<p>é</p>"),
    "html-bytes": lambda fw: fw.responses.HTMLResponse(b"<b>raw</b>", headers={"X-Frame-Options": "DENY"}),
    "json-object": lambda fw: fw.responses.JSONResponse(
        {"text": "é中\u2028", "none": None, "float": 1.5, "list": [1, 2], "big": 2**70, "tuple": (1, "two")}
    ),
    "json-keys": lambda fw: fw.responses.JSONResponse({1: "int", 2.5: "float", True: "bool", None: "none"}),
    "json-null": lambda fw: fw.responses.JSONResponse(None),
    "json-string": lambda fw: fw.responses.JSONResponse("a \"quoted\" \\ string\n\t\x00\x1f"),
    "json-floats": lambda fw: fw.responses.JSONResponse([0.1, -0.0, 1e16, 1e-7, 123456789.123456789, 5e-324]),
    "json-subclasses": lambda fw: fw.responses.JSONResponse({"enum": _Color.RED, "label": _Label("x")}),
    "json-status-headers": lambda fw: fw.responses.JSONResponse(
        [], status_code=202, headers={"X-Trace": "7"}, media_type="application/vnd.api+json"
    ),
    "json-lone-surrogate": lambda fw: fw.responses.JSONResponse("\ud800"),
    "redirect": lambda fw: fw.responses.RedirectResponse("/target"),
    "redirect-301": lambda fw: fw.responses.RedirectResponse("https://example.org/path", status_code=301),
    "redirect-quoting": lambda fw: fw.responses.RedirectResponse("https://example.org/a b/é?q=1 2&r=ü#frag ment"),
    "redirect-url-object": lambda fw: fw.responses.RedirectResponse(fw.datastructures.URL("/x?y=%20z")),
    "redirect-headers": lambda fw: fw.responses.RedirectResponse("/h", headers={"X-Extra": "1"}),
    "streaming-sync": lambda fw: fw.responses.StreamingResponse(_iterate_chunks(), media_type="text/plain"),
    "streaming-async": lambda fw: fw.responses.StreamingResponse(_iterate_chunks_async(), status_code=206),
}


# The TestClient decodes header values as UTF-8, and a lone surrogate cannot be encoded.
_RAISING_RESPONSES = {"response-latin1-header", "json-lone-surrogate"}


@pytest.mark.parametrize("name", list(_RESPONSES))
def test_response_classes_on_the_wire(differential: Differential, name: str) -> None:
    outcomes = differential.compare(
        _serve(_RESPONSES[name]),
        call("GET", "/"),
        call("HEAD", "/"),
        client_options={"follow_redirects": False},
    )
    assert (outcomes[0].error is not None) == (name in _RAISING_RESPONSES)


@pytest.mark.parametrize("name", list(_RESPONSES))
def test_response_classes_raw_asgi_messages(differential: Differential, name: str) -> None:
    outcome = differential.compare_scope(_serve(_RESPONSES[name]), http_scope("/"))
    assert (outcome.error is not None) == (name == "json-lone-surrogate")


@pytest.mark.parametrize(
    "content",
    [
        object(),
        {1, 2},
        b"bytes",
        float("nan"),
        float("inf"),
        [float("-inf")],
        {(1, 2): "tuple key"},
        {"nested": [{"deeper": object()}]},
        10**5000,
        dt.datetime(2020, 1, 1),
    ],
    ids=["object", "set", "bytes", "nan", "inf", "list-minus-inf", "tuple-key", "nested", "huge-int", "datetime"],
)
def test_json_response_rejects_unserializable(differential: Differential, content: Any) -> None:
    differential.compare_call(
        lambda fw: fw.responses.JSONResponse(content).body, label=f"JSONResponse({type(content).__name__})"
    )


def test_json_response_rejects_circular_reference(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        looped: list[Any] = []
        looped.append(looped)
        return fw.responses.JSONResponse(looped)

    differential.compare_call(build, label="JSONResponse(self-containing list)")


def test_json_response_deep_nesting(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        content: Any = []
        for _ in range(100_000):
            content = [content]
        return len(fw.responses.JSONResponse(content).body)

    differential.compare_call(build, label="JSONResponse(list nested 100000 deep)")


def test_json_response_error_in_endpoint(differential: Differential) -> None:
    factory = _serve(lambda fw: fw.responses.JSONResponse({"when": object()}))
    outcomes = differential.compare(factory, call("GET", "/"))
    assert outcomes[0].error is not None
    outcomes = differential.compare(factory, call("GET", "/"), client_options={"raise_server_exceptions": False})
    assert outcomes[0].status == 500


@pytest.mark.parametrize("content", [42, 1.5, ["list"], {"dict": 1}])
def test_response_rejects_non_text_content(differential: Differential, content: Any) -> None:
    differential.compare_call(
        lambda fw: fw.responses.Response(content).body, label=f"Response({content!r})"
    )


def _normalize_cookie_dates(outcome: Outcome) -> Outcome:
    """Replace `expires=` dates that `http.cookies` computes from the current time."""
    headers = tuple(
        (key, re.sub(rb"expires=[^;]*", b"expires=<date>", value) if key == b"set-cookie" else value)
        for key, value in outcome.headers
    )
    return replace(outcome, headers=headers)


_COOKIE_CALLS: dict[str, Callable[[Any], object]] = {
    "defaults": lambda response: response.set_cookie("session", "abc"),
    "empty-value": lambda response: response.set_cookie("empty"),
    "all-options": lambda response: response.set_cookie(
        "full",
        "v",
        max_age=60,
        expires=dt.datetime(2030, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc),
        path="/app",
        domain="example.org",
        secure=True,
        httponly=True,
        samesite="strict",
    ),
    "expires-seconds": lambda response: response.set_cookie("later", "x", expires=3600),
    "expires-string": lambda response: response.set_cookie("text", "x", expires="Thu, 01 Jan 2099 00:00:00 GMT"),
    "no-path-no-samesite": lambda response: response.set_cookie("bare", "x", path=None, samesite=None),
    "samesite-none": lambda response: response.set_cookie("cross", "x", samesite="none", secure=True),
    "quoted-value": lambda response: response.set_cookie("q", 'needs "quotes"; and, commas'),
    "unicode-value": lambda response: response.set_cookie("u", "é"),
    "delete": lambda response: response.delete_cookie("session"),
    "delete-options": lambda response: response.delete_cookie(
        "session", path="/a", domain="example.org", secure=True, httponly=True, samesite=None
    ),
    "two-cookies": lambda response: (response.set_cookie("a", "1"), response.set_cookie("b", "2")),
}


@pytest.mark.parametrize("name", list(_COOKIE_CALLS))
def test_response_set_cookie_header(differential: Differential, name: str) -> None:
    def builder(fw: Framework) -> Any:
        response = fw.responses.PlainTextResponse("cookie")
        _COOKIE_CALLS[name](response)
        return response

    (outcome,) = differential.compare(_serve(builder), call("GET", "/"), normalize=_normalize_cookie_dates)
    assert outcome.error is None


@pytest.mark.parametrize(
    ("key", "value", "samesite"),
    [("bad key", "v", "lax"), ("k", "v", "sideways"), ("k", "v", "LAX"), ("k;", "v", "lax")],
)
def test_response_set_cookie_invalid(differential: Differential, key: str, value: str, samesite: str) -> None:
    def build(fw: Framework) -> Any:
        response = fw.responses.Response()
        response.set_cookie(key, value, samesite=samesite)
        return response.raw_headers

    differential.compare_call(build, label=f"set_cookie({key!r}, {value!r}, samesite={samesite!r})")


def test_response_headers_mutation(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        response = fw.responses.JSONResponse({"ok": True}, headers={"X-Remove": "gone", "X-Keep": "1"})
        response.headers["X-Added"] = "set"
        response.headers.append("X-Multi", "a")
        response.headers.append("x-multi", "b")
        del response.headers["x-remove"]
        response.headers.setdefault("x-keep", "not used")
        response.headers["content-type"] = "application/problem+json"
        return response

    (outcome,) = differential.compare(_serve(builder), call("GET", "/"))
    assert outcome.header("x-added") == "set"


def test_response_background_task_runs_after_body(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        events: list[str] = []

        async def record_async(label: str) -> None:
            events.append(f"async {label}")

        def record_sync(label: str, *, suffix: str) -> None:
            events.append(f"sync {label}{suffix}")

        async def endpoint(request: Any) -> Any:
            tasks = fw.background.BackgroundTasks()
            tasks.add_task(record_async, "one")
            tasks.add_task(record_sync, "two", suffix="!")
            return fw.responses.PlainTextResponse("queued", background=tasks)

        async def single(request: Any) -> Any:
            task = fw.background.BackgroundTask(record_sync, "single", suffix="?")
            return fw.responses.Response("queued", background=task)

        async def show(request: Any) -> Any:
            return fw.responses.JSONResponse(events)

        return fw.applications.Starlette(
            routes=[
                fw.routing.Route("/", endpoint),
                fw.routing.Route("/single", single),
                fw.routing.Route("/events", show),
            ]
        )

    outcomes = differential.compare(factory, call("GET", "/"), call("GET", "/single"), call("GET", "/events"))
    assert outcomes[2].body == b'["async one","sync two!","sync single?"]'


def test_response_background_task_error(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        def fail() -> None:
            raise ValueError("background failed")

        return fw.responses.PlainTextResponse("sent first", background=fw.background.BackgroundTask(fail))

    (outcome,) = differential.compare(_serve(builder), call("GET", "/"))
    assert outcome.error == ("builtins.ValueError", "background failed")


def test_response_attributes_after_init(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        responses = fw.responses
        plain = responses.PlainTextResponse("x", status_code=201)
        redirect = responses.RedirectResponse("/r")
        json_response = responses.JSONResponse({"a": 1})
        return [
            (type(item).__name__, item.status_code, item.media_type, item.charset, bytes(item.body), item.raw_headers)
            for item in (plain, redirect, json_response, responses.Response(), responses.HTMLResponse("h"))
        ]

    differential.compare_call(describe, label="response attributes after __init__")


_FILE_CONTENT = bytes(range(256)) * 40


@pytest.fixture(scope="module")
def served_file(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("files") / "data.bin"
    path.write_bytes(_FILE_CONTENT)
    return path


def _file_app(path: Any, **options: Any) -> Callable[[Framework], Any]:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            target = path if request.url.path == "/file" else path.parent / request.url.path.lstrip("/")
            return fw.responses.FileResponse(target, **options)

        return fw.applications.Starlette(routes=[fw.routing.Route("/{name:path}", endpoint, methods=["GET", "HEAD", "POST"])])

    return factory


def _normalize_multipart_boundary(outcome: Outcome) -> Outcome:
    """Replace the random `multipart/byteranges` boundary, which `secrets.token_hex` draws per response."""
    content_type = outcome.header("content-type") or ""
    if "boundary=" not in content_type:
        return outcome
    boundary = content_type.split("boundary=", 1)[1].encode("latin-1")
    headers = tuple((key, value.replace(boundary, b"<boundary>")) for key, value in outcome.headers)
    return replace(outcome, headers=headers, body=outcome.body.replace(boundary, b"<boundary>"))


@pytest.mark.parametrize(
    "range_header",
    [
        None,
        "bytes=0-9",
        "bytes=10-",
        "bytes=-20",
        "bytes=0-0",
        "bytes=10239-",
        "bytes=0-99999",
        "bytes=0-9, 20-29",
        "bytes=0-9, 5-15, 100-110",
        "bytes=20-29, 0-9",
        "bytes=99999-",
        "bytes=9-0",
        "bytes=",
        "bytes=abc",
        "bytes=-",
        "items=0-9",
        "bytes 0-9",
        " BYTES = 0-9",
        "bytes=0-9," * 101,
        "bytes=-0",
    ],
)
def test_file_response_range_requests(differential: Differential, served_file: Any, range_header: str | None) -> None:
    headers = {} if range_header is None else {"Range": range_header}
    outcomes = differential.compare(
        _file_app(served_file),
        call("GET", "/file", headers=headers),
        call("HEAD", "/file", headers=headers),
        normalize=_normalize_multipart_boundary,
    )
    assert outcomes[0].status in (200, 206, 400, 416)


def test_file_response_if_range(differential: Differential, served_file: Any) -> None:
    def factory(fw: Framework) -> Any:
        return _file_app(served_file)(fw)

    (plain,) = differential.compare(factory, call("GET", "/file"))
    etag = plain.header("etag") or ""
    last_modified = plain.header("last-modified") or ""
    outcomes = differential.compare(
        factory,
        call("GET", "/file", headers={"Range": "bytes=0-4", "If-Range": etag}),
        call("GET", "/file", headers={"Range": "bytes=0-4", "If-Range": last_modified}),
        call("GET", "/file", headers={"Range": "bytes=0-4", "If-Range": '"stale"'}),
        call("GET", "/file", headers={"Range": "bytes=0-4", "If-Range": "W/" + etag}),
        call("POST", "/file", headers={"Range": "bytes=0-4"}),
    )
    assert [outcome.status for outcome in outcomes] == [206, 206, 200, 200, 200]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"filename": "report.csv"},
        {"filename": "résumé final.pdf"},
        {"filename": "x.txt", "content_disposition_type": "inline"},
        {"media_type": "text/plain"},
        {"status_code": 203},
        {"headers": {"Content-Length": "1", "X-Extra": "yes"}},
    ],
    ids=str,
)
def test_file_response_headers(differential: Differential, served_file: Any, options: dict[str, Any]) -> None:
    differential.compare(_file_app(served_file, **options), call("GET", "/file"), call("HEAD", "/file"))


@pytest.mark.parametrize("name", ["missing.bin", ""])
def test_file_response_missing_or_directory(differential: Differential, served_file: Any, name: str) -> None:
    (outcome,) = differential.compare(_file_app(served_file), call("GET", f"/{name}"))
    assert outcome.error is not None
