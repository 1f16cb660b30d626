"""Response behaviour that tests/test_responses.py leaves out, and what plugins rely on.

The first part compares cookies, the Content-Length and Content-Type rules, HEAD
requests, streaming with a client that leaves, background tasks and the trailers and
debug extensions on both frameworks. The second part builds the small subclasses that
FastAPI, sse-starlette and the orjson and ujson integrations write, and checks the
attributes and hooks they use.
"""

from __future__ import annotations

import array
import copy
import datetime as dt
import functools
import inspect
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import anyio
import orjson
import pytest

from differential import Differential, Framework, Outcome, call, describe_exception, http_scope

Log = list[Any]
RawAppBuilder = Callable[[Framework, Log], Any]


def _serve(builder: Callable[[Framework], Any]) -> Callable[[Framework], Any]:
    """Build a factory for an app whose only route returns `builder(fw)`."""

    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return builder(fw)

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint, methods=["GET", "HEAD", "POST"])])

    return factory


def _scope(method: str = "GET", *, spec_version: str | None = "2.4", type_: str = "http") -> dict[str, Any]:
    """Build a request scope. `spec_version=None` leaves it out, as ASGI servers before 2.4 do."""
    scope = http_scope("/", method=method)
    scope["asgi"] = {"version": "3.0"} if spec_version is None else {"version": "3.0", "spec_version": spec_version}
    if type_ == "websocket":
        scope["type"] = "websocket"
        scope["scheme"] = "ws"
        scope["extensions"] = {"websocket.http.response": {}}
        del scope["method"]
    return scope


def _record(message: dict[str, Any]) -> dict[str, Any]:
    """Copy a sent message with bytes in place of memoryviews and tuples in place of lists."""
    recorded = dict(message)
    if "body" in recorded:
        recorded["body"] = bytes(recorded["body"])
    if "headers" in recorded:
        recorded["headers"] = tuple((bytes(key), bytes(value)) for key, value in recorded["headers"])
    return recorded


def _run_raw(
    fw: Framework,
    build: RawAppBuilder,
    scope: dict[str, Any],
    *,
    leave_after_chunks: int | None = None,
    leave_by: str = "disconnect",
) -> tuple[Log, tuple[str, str] | None]:
    """Drive the app from `build(fw, log)` once and return the log and the escaped exception.

    `send` appends every message to the log, and the app may append its own events.
    After `leave_after_chunks` body messages the client leaves. With `leave_by="disconnect"`
    that `send` never returns and `receive` reports `http.disconnect`. With
    `leave_by="send-error"` that `send` raises `OSError`, as ASGI 2.4 servers do.
    """
    log: Log = []
    app = build(fw, log)

    async def drive() -> tuple[str, str] | None:
        client_gone = anyio.Event()
        request_read = False
        body_chunks = 0

        async def receive() -> dict[str, Any]:
            nonlocal request_read
            if not request_read:
                request_read = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await client_gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal body_chunks
            log.append(_record(message))
            if not message["type"].endswith("http.response.body"):
                return
            body_chunks += 1
            if not message.get("more_body", False):
                client_gone.set()
            if leave_after_chunks is not None and body_chunks >= leave_after_chunks:
                if leave_by == "send-error":
                    raise OSError("connection reset by peer")
                client_gone.set()
                await anyio.sleep_forever()

        # A response that keeps waiting after the client left fails the test instead of hanging it.
        with anyio.fail_after(10):
            try:
                await app(dict(scope), receive, send)
            except Exception as exc:
                return describe_exception(exc, fw.package)
        return None

    return log, anyio.run(drive)


def _compare_raw(differential: Differential, build: RawAppBuilder, scope: dict[str, Any], **options: Any) -> Any:
    expected = _run_raw(differential.reference, build, scope, **options)
    actual = _run_raw(differential.candidate, build, scope, **options)
    assert actual == expected, f"--- starlette\n{expected!r}\n--- {differential.candidate.package}\n{actual!r}"
    return expected


# Cookies.


def _cookie_headers(fw: Framework, *calls: Callable[[Any], object]) -> list[tuple[bytes, bytes]]:
    response = fw.responses.Response("cookie", media_type="text/plain")
    for apply in calls:
        apply(response)
    # `expires` given in seconds and `delete_cookie` give dates computed from the clock.
    return [
        (key, re.sub(rb"expires=[^;]*", b"expires=<now-based>", value) if b"GMT" in value else value)
        for key, value in response.raw_headers
    ]


_UTC = dt.timezone.utc
_CET = dt.timezone(dt.timedelta(hours=1))

_COOKIES: dict[str, Callable[[Any], object]] = {
    "max-age-int": lambda r: r.set_cookie("k", "v", max_age=3600),
    "max-age-zero": lambda r: r.set_cookie("k", "v", max_age=0),
    "max-age-negative": lambda r: r.set_cookie("k", "v", max_age=-1),
    "max-age-string": lambda r: r.set_cookie("k", "v", max_age="60"),
    "expires-utc-datetime": lambda r: r.set_cookie("k", "v", expires=dt.datetime(2031, 2, 3, 4, 5, 6, tzinfo=_UTC)),
    "expires-zero": lambda r: r.set_cookie("k", "v", expires=0),
    "expires-negative": lambda r: r.set_cookie("k", "v", expires=-10),
    "expires-text": lambda r: r.set_cookie("k", "v", expires="never"),
    "path-none": lambda r: r.set_cookie("k", "v", path=None),
    "path-with-space": lambda r: r.set_cookie("k", "v", path="/a b"),
    "domain": lambda r: r.set_cookie("k", "v", domain=".example.org"),
    "secure-only": lambda r: r.set_cookie("k", "v", secure=True),
    "httponly-only": lambda r: r.set_cookie("k", "v", httponly=True),
    "samesite-mixed-case": lambda r: r.set_cookie("k", "v", samesite="Strict"),
    "samesite-upper-none": lambda r: r.set_cookie("k", "v", samesite="NONE", secure=True),
    "samesite-none-value": lambda r: r.set_cookie("k", "v", samesite=None),
    "every-attribute": lambda r: r.set_cookie(
        "every",
        "value with space",
        max_age=10,
        expires="Wed, 21 Oct 2037 07:28:00 GMT",
        path="/p",
        domain="example.org",
        secure=True,
        httponly=True,
        samesite="none",
    ),
    "value-needs-quoting": lambda r: r.set_cookie("k", 'a,b;c"d\\e'),
    "value-control-character": lambda r: r.set_cookie("k", "a\x01b\x7f"),
    "value-latin-1": lambda r: r.set_cookie("k", "café"),
    "value-not-str": lambda r: r.set_cookie("k", 5),
    "key-mixed-case": lambda r: r.set_cookie("SessionID", "v"),
    "same-key-twice": lambda r: (r.set_cookie("k", "1"), r.set_cookie("k", "2")),
    "delete-defaults": lambda r: r.delete_cookie("k"),
    "delete-every-attribute": lambda r: r.delete_cookie(
        "k", path="/p", domain="example.org", secure=True, httponly=True, samesite="strict"
    ),
    "delete-no-samesite": lambda r: r.delete_cookie("k", samesite=None),
}


@pytest.mark.parametrize("name", list(_COOKIES))
def test_set_cookie_attributes(differential: Differential, name: str) -> None:
    result = differential.compare_call(lambda fw: _cookie_headers(fw, _COOKIES[name]), label=name)
    assert result[0] == "returned"


_INVALID_COOKIES: dict[str, Callable[[Any], object]] = {
    "key-with-space": lambda r: r.set_cookie("a b", "v"),
    "key-with-equals": lambda r: r.set_cookie("a=b", "v"),
    "key-empty": lambda r: r.set_cookie("", "v"),
    "key-reserved": lambda r: r.set_cookie("Expires", "v"),
    "key-not-str": lambda r: r.set_cookie(1, "v"),
    "value-not-latin-1": lambda r: r.set_cookie("k", "€"),
    "domain-not-latin-1": lambda r: r.set_cookie("k", "v", domain="пример.рф"),
    "samesite-unknown": lambda r: r.set_cookie("k", "v", samesite="sideways"),
    "samesite-empty": lambda r: r.set_cookie("k", "v", samesite=""),
    "expires-naive-datetime": lambda r: r.set_cookie("k", "v", expires=dt.datetime(2030, 1, 1)),
    "expires-non-utc-datetime": lambda r: r.set_cookie("k", "v", expires=dt.datetime(2030, 1, 1, tzinfo=_CET)),
    "naive-datetime-and-bad-samesite": lambda r: r.set_cookie(
        "k", "v", expires=dt.datetime(2030, 1, 1), samesite="bad"
    ),
    "partitioned": lambda r: r.set_cookie("k", "v", partitioned=True),
    "partitioned-and-bad-samesite": lambda r: r.set_cookie(
        "k", "v", partitioned=True, samesite="bad"
    ),
    "delete-partitioned": lambda r: r.delete_cookie("k", partitioned=True),
    "delete-bad-samesite": lambda r: r.delete_cookie("k", samesite="bad"),
}


@pytest.mark.parametrize("name", list(_INVALID_COOKIES))
def test_set_cookie_validation_errors(differential: Differential, name: str) -> None:
    result = differential.compare_call(lambda fw: _cookie_headers(fw, _INVALID_COOKIES[name]), label=name)
    assert result[0] == "raised"


def test_cookies_on_the_wire_with_other_headers(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        response = fw.responses.JSONResponse({"ok": True}, headers={"Set-Cookie": "given=1", "X-A": "a"})
        response.set_cookie("first", "1", httponly=True)
        response.delete_cookie("old", path="/old")
        response.set_cookie("last", "2", samesite="strict", secure=True)
        return response

    def normalize(outcome: Outcome) -> Outcome:
        headers = tuple(
            (key, re.sub(rb"expires=[^;]*", b"expires=<now-based>", value)) for key, value in outcome.headers
        )
        return replace(outcome, headers=headers)

    (outcome,) = differential.compare(_serve(builder), call("GET", "/"), normalize=normalize)
    assert outcome.header("set-cookie") == "given=1"


# Content-Length, Content-Type and charset.


def _latin1_text(fw: Framework) -> Any:
    class Latin1Response(fw.responses.PlainTextResponse):  # type: ignore[misc, name-defined]
        charset = "latin-1"

    return Latin1Response("café")


def _utf16_html(fw: Framework) -> Any:
    class Utf16Response(fw.responses.HTMLResponse):  # type: ignore[misc, name-defined]
        charset = "utf-16"

    return Utf16Response("<p>é</p>")


_HEADER_RULES: dict[str, Callable[[Framework], Any]] = {
    "status-100": lambda fw: fw.responses.Response("x", status_code=100),
    "status-103": lambda fw: fw.responses.Response("x", status_code=103, media_type="text/plain"),
    "status-199": lambda fw: fw.responses.Response("x", status_code=199),
    "status-204-with-body": lambda fw: fw.responses.Response("x", status_code=204),
    "status-205": lambda fw: fw.responses.Response("", status_code=205),
    "status-304-with-body": lambda fw: fw.responses.Response("x", status_code=304),
    "status-404": lambda fw: fw.responses.PlainTextResponse("missing", status_code=404),
    "status-0": lambda fw: fw.responses.Response("x", status_code=0),
    "charset-class-attribute": _latin1_text,
    "charset-utf-16-mixin": _utf16_html,
    "charset-in-media-type-upper": lambda fw: fw.responses.Response("x", media_type="text/plain; CHARSET=ascii"),
    "charset-word-elsewhere": lambda fw: fw.responses.Response("x", media_type="text/plain; format=charset"),
    "media-type-upper-text": lambda fw: fw.responses.Response("x", media_type="TEXT/html"),
    "media-type-empty": lambda fw: fw.responses.Response("x", media_type=""),
    "media-type-xml": lambda fw: fw.responses.Response("<a/>", media_type="application/xml"),
    "media-type-overrides-class": lambda fw: fw.responses.HTMLResponse("x", media_type="text/x-custom"),
    "no-media-type-text": lambda fw: fw.responses.Response("no type"),
    "content-length-mixed-case": lambda fw: fw.responses.Response("abc", headers={"Content-LENGTH": "2"}),
    "content-type-mixed-case": lambda fw: fw.responses.HTMLResponse("abc", headers={"CONTENT-type": "a/b"}),
    "headers-order-kept": lambda fw: fw.responses.HTMLResponse("h", headers={"Z": "1", "A": "2", "M": "3"}),
    "headers-duplicates-from-headers-object": lambda fw: fw.responses.Response(
        "d", headers=fw.datastructures.Headers(raw=[(b"x-dup", b"1"), (b"x-dup", b"2"), (b"content-length", b"1")])
    ),
    "memoryview-of-ints": lambda fw: fw.responses.Response(memoryview(array.array("i", [1, 2, 3]))),
    "memoryview-strided": lambda fw: fw.responses.Response(memoryview(b"0123456789")[::3]),
    "memoryview-empty": lambda fw: fw.responses.Response(memoryview(b"")),
    "str-subclass-content": lambda fw: fw.responses.PlainTextResponse(type("Text", (str,), {})("sub")),
    "redirect-body-empty": lambda fw: fw.responses.RedirectResponse("/to", status_code=302),
    "redirect-own-location": lambda fw: fw.responses.RedirectResponse("/to", headers={"Location": "/other"}),
    "redirect-303-media-type": lambda fw: fw.responses.RedirectResponse("/x y", 303),
}


@pytest.mark.parametrize("name", list(_HEADER_RULES))
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_response_header_rules(differential: Differential, name: str, method: str) -> None:
    outcome = differential.compare_scope(_serve(_HEADER_RULES[name]), http_scope("/", method=method))
    assert outcome.error is None


_CONSTRUCTIONS: dict[str, Callable[[Framework], Any]] = {
    "bytearray": lambda fw: fw.responses.Response(bytearray(b"x")),
    "header-not-latin-1": lambda fw: fw.responses.Response(b"x", headers={"X-Euro": "€"}),
    # `render` encodes with the class's charset, not with the one in media_type.
    "charset-parameter-ignored": lambda fw: fw.responses.Response("€", media_type="text/plain; charset=latin-1"),
    "charset-cannot-encode": lambda fw: type(_latin1_text(fw))("€"),
    "media-type-not-latin-1": lambda fw: fw.responses.Response("x", media_type="text/ä"),
    "redirect-int-url": lambda fw: fw.responses.RedirectResponse(42),
}


@pytest.mark.parametrize("name", list(_CONSTRUCTIONS))
def test_response_construction_outcomes(differential: Differential, name: str) -> None:
    def build(fw: Framework) -> Any:
        response = _CONSTRUCTIONS[name](fw)
        return bytes(response.body), response.raw_headers

    differential.compare_call(build, label=name)


# HEAD requests for every class.


def _chunks() -> Iterator[str | bytes]:
    yield "one,"
    yield b"two,"
    yield "three"


async def _chunks_async() -> AsyncIterator[str | bytes]:
    for chunk in _chunks():
        yield chunk


_EVERY_CLASS: dict[str, Callable[[Framework], Any]] = {
    "response": lambda fw: fw.responses.Response("body", media_type="text/plain"),
    "html": lambda fw: fw.responses.HTMLResponse("<b>x</b>"),
    "plain": lambda fw: fw.responses.PlainTextResponse("plain"),
    "json": lambda fw: fw.responses.JSONResponse({"a": [1, 2]}),
    "redirect": lambda fw: fw.responses.RedirectResponse("/elsewhere"),
    "streaming-sync": lambda fw: fw.responses.StreamingResponse(_chunks(), media_type="text/plain"),
    "streaming-async": lambda fw: fw.responses.StreamingResponse(_chunks_async()),
}


@pytest.mark.parametrize("name", list(_EVERY_CLASS))
def test_head_request_messages(differential: Differential, name: str) -> None:
    def build(fw: Framework, log: Log) -> Any:
        return _EVERY_CLASS[name](fw)

    log, error = _compare_raw(differential, build, _scope("HEAD"))
    assert error is None
    assert log[0]["type"] == "http.response.start"


@pytest.mark.parametrize("name", list(_EVERY_CLASS))
def test_head_request_through_client(differential: Differential, name: str) -> None:
    (outcome,) = differential.compare(
        _serve(_EVERY_CLASS[name]), call("HEAD", "/"), client_options={"follow_redirects": False}
    )
    assert outcome.body == b""


@pytest.mark.parametrize("name", list(_EVERY_CLASS))
def test_websocket_denial_messages(differential: Differential, name: str) -> None:
    def build(fw: Framework, log: Log) -> Any:
        return _EVERY_CLASS[name](fw)

    log, error = _compare_raw(differential, build, _scope(type_="websocket"))
    assert error is None
    assert log[0]["type"] == "websocket.http.response.start"


# StreamingResponse.


def _logged_stream(log: Log, count: int, *, sync: bool) -> Any:
    def produce() -> Iterator[bytes]:
        for index in range(count):
            log.append(f"produced {index}")
            yield f"chunk {index};".encode()

    async def produce_async() -> AsyncIterator[bytes]:
        for chunk in produce():
            yield chunk

    return produce() if sync else produce_async()


def _streaming_app(*, sync: bool, count: int = 5) -> RawAppBuilder:
    def build(fw: Framework, log: Log) -> Any:
        async def done() -> None:
            log.append("background ran")

        task = fw.background.BackgroundTask(done)
        return fw.responses.StreamingResponse(_logged_stream(log, count, sync=sync), background=task)

    return build


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
@pytest.mark.parametrize("spec_version", ["2.4", None], ids=["asgi-2.4", "asgi-2.0"])
def test_streaming_complete(differential: Differential, sync: bool, spec_version: str | None) -> None:
    log, error = _compare_raw(differential, _streaming_app(sync=sync), _scope(spec_version=spec_version))
    assert error is None
    assert log[-1] == "background ran"


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_streaming_stops_on_disconnect(differential: Differential, sync: bool) -> None:
    log, error = _compare_raw(
        differential, _streaming_app(sync=sync, count=50), _scope(spec_version=None), leave_after_chunks=3
    )
    assert error is None
    assert "produced 10" not in log
    assert log[-1] == "background ran"


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_streaming_send_error_raises_client_disconnect(differential: Differential, sync: bool) -> None:
    log, error = _compare_raw(
        differential, _streaming_app(sync=sync, count=50), _scope(), leave_after_chunks=2, leave_by="send-error"
    )
    assert error == ("<framework>.requests.ClientDisconnect", "")
    assert "background ran" not in log


def _failing_stream() -> Iterator[Any]:
    yield b"before,"
    raise RuntimeError("stream broke")


async def _failing_stream_async() -> AsyncIterator[Any]:
    for chunk in _failing_stream():
        yield chunk


async def _bad_chunk_stream() -> AsyncIterator[Any]:
    yield "fine"
    yield 42


_STREAMS: dict[str, Callable[[Framework], Any]] = {
    "list-of-chunks": lambda fw: fw.responses.StreamingResponse(["a", b"b", memoryview(b"c")]),
    "empty": lambda fw: fw.responses.StreamingResponse(iter(())),
    "empty-chunks": lambda fw: fw.responses.StreamingResponse(iter([b"", "", b"end"])),
    "raises-sync": lambda fw: fw.responses.StreamingResponse(_failing_stream()),
    "raises-async": lambda fw: fw.responses.StreamingResponse(_failing_stream_async()),
    "int-chunk": lambda fw: fw.responses.StreamingResponse(_bad_chunk_stream()),
    "bytearray-chunk": lambda fw: fw.responses.StreamingResponse(iter([bytearray(b"x")])),
    "charset-class-attribute": lambda fw: type(
        "Latin1Stream", (fw.responses.StreamingResponse,), {"charset": "latin-1", "media_type": "text/csv"}
    )(iter(["é"])),
    "status-and-headers": lambda fw: fw.responses.StreamingResponse(
        iter(["x"]), status_code=202, headers={"X-Stream": "1", "Content-Length": "1"}, media_type="text/plain"
    ),
    "status-204": lambda fw: fw.responses.StreamingResponse(iter([]), status_code=204),
}


@pytest.mark.parametrize("name", list(_STREAMS))
@pytest.mark.parametrize("spec_version", ["2.4", None], ids=["asgi-2.4", "asgi-2.0"])
def test_streaming_bodies(differential: Differential, name: str, spec_version: str | None) -> None:
    def build(fw: Framework, log: Log) -> Any:
        return _STREAMS[name](fw)

    _compare_raw(differential, build, _scope(spec_version=spec_version))


@pytest.mark.parametrize("name", ["list-of-chunks", "raises-async", "int-chunk", "charset-class-attribute"])
def test_streaming_bodies_through_client(differential: Differential, name: str) -> None:
    differential.compare(_serve(_STREAMS[name]), call("GET", "/"))


# Background tasks.


class _AsyncCallable:
    def __init__(self, log: Log) -> None:
        self.log = log

    async def __call__(self, label: str) -> None:
        self.log.append(f"callable object {label}")


def test_background_task_attributes(differential: Differential) -> None:
    async def coroutine_function(value: int) -> None:
        pass

    def plain_function(value: int) -> None:
        pass

    def describe(fw: Framework) -> Any:
        background = fw.background
        tasks = [
            background.BackgroundTask(plain_function, 1),
            background.BackgroundTask(coroutine_function, 2, extra=3),
            background.BackgroundTask(functools.partial(coroutine_function, 4)),
            background.BackgroundTask(_AsyncCallable([]), "x"),
            background.BackgroundTask(print),
        ]
        rows = [(task.is_async, task.args, task.kwargs) for task in tasks]
        given = [tasks[0]]
        group = background.BackgroundTasks(given)
        group.add_task(plain_function, 5)
        empty = background.BackgroundTasks()
        return (
            rows,
            tasks[1].func is coroutine_function,
            len(group.tasks),
            group.tasks is given,
            given == [tasks[0]],
            empty.tasks,
            background.BackgroundTasks(None).tasks,
            isinstance(group, background.BackgroundTask),
        )

    differential.compare_call(describe, label="BackgroundTask attributes")


def _background_app(kind: str) -> RawAppBuilder:
    def build(fw: Framework, log: Log) -> Any:
        def record_sync(label: str, *, suffix: str = "") -> None:
            log.append(f"sync {label}{suffix}")

        async def record_async(label: str) -> None:
            log.append(f"async {label}")

        def fail() -> None:
            log.append("failing task ran")
            raise KeyError("task failed")

        tasks = fw.background.BackgroundTasks(
            [fw.background.BackgroundTask(record_sync, "given", suffix="!")]
        )
        tasks.add_task(functools.partial(record_async, "partial"))
        tasks.add_task(_AsyncCallable(log), "called")
        if kind == "failing":
            tasks.add_task(fail)
        tasks.add_task(record_async, "last")

        responses = fw.responses
        if kind in ("tasks", "failing"):
            return responses.PlainTextResponse("body", background=tasks)
        if kind == "streaming":
            return responses.StreamingResponse(iter([b"a", b"b"]), background=tasks)
        if kind == "redirect":
            return responses.RedirectResponse("/next", background=tasks)
        if kind == "json-assigned":
            response = responses.JSONResponse([1])
            response.background = tasks
            return response
        raise AssertionError(kind)

    return build


@pytest.mark.parametrize("kind", ["tasks", "failing", "streaming", "redirect", "json-assigned"])
def test_background_tasks_after_body(differential: Differential, kind: str) -> None:
    log, error = _compare_raw(differential, _background_app(kind), _scope())
    if kind == "failing":
        assert error == ("builtins.KeyError", "'task failed'")
        assert "async last" not in log
    else:
        assert error is None
        assert log[-1] == "async last"


def test_background_tasks_through_client(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        events: list[str] = []

        async def endpoint(request: Any) -> Any:
            tasks = fw.background.BackgroundTasks()
            tasks.add_task(events.append, request.url.path)
            return fw.responses.PlainTextResponse("ok", background=tasks)

        async def show(request: Any) -> Any:
            return fw.responses.JSONResponse(events)

        routes = [fw.routing.Route("/events", show), fw.routing.Route("/{name}", endpoint)]
        return fw.applications.Starlette(routes=routes)

    outcomes = differential.compare(factory, call("GET", "/a"), call("GET", "/b"), call("GET", "/events"))
    assert outcomes[-1].body == b'["/a","/b"]'


# Trailers and the debug extension pass through the app's middleware.


def _extension_app(fw: Framework) -> Any:
    class TrailerResponse(fw.responses.Response):  # type: ignore[misc, name-defined]
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            trailers = "http.response.trailers" in scope.get("extensions", {})
            await send({"type": "http.response.debug", "info": {"template": "page.html", "context": {"n": 1}}})
            start = {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            await send({**start, "trailers": trailers})
            await send({"type": "http.response.body", "body": self.body})
            if trailers:
                await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})

    async def endpoint(request: Any) -> Any:
        return TrailerResponse("with trailers", media_type="text/plain")

    return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])


def test_trailers_and_debug_through_app(differential: Differential) -> None:
    def request(fw: Framework) -> Any:
        with fw.testclient.TestClient(_extension_app(fw)) as client:
            response = client.get("/")
        return (
            response.status_code,
            response.headers.raw,
            response.content,
            response.extensions.get("http.response.trailers"),
            response.extensions.get("http.response.debug"),
            response.template,
            response.context,
        )

    result = differential.compare_call(request, label="trailers and debug messages")
    assert result[1][3] == [(b"x-checksum", b"abc")]


# What FastAPI, sse-starlette and serializer integrations rely on.


def test_response_without_arguments(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        response = fw.responses.Response()
        return response.status_code, response.body, response.raw_headers, response.media_type, response.background

    differential.compare_call(build, label="Response()")


def test_assigned_attributes_on_the_wire(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        response = fw.responses.PlainTextResponse("original")
        response.status_code = 418
        # Content-Length was computed in __init__ and is not updated by a new body.
        response.body = b"replaced body"
        return response

    (outcome,) = differential.compare(_serve(builder), call("GET", "/"))
    assert outcome.status == 418


def test_headers_raw_is_raw_headers(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        response = fw.responses.JSONResponse({})
        first = response.headers
        same_list = response.headers.raw is response.raw_headers
        response.raw_headers.append((b"x-appended", b"1"))
        seen = response.headers.get("x-appended")
        response.raw_headers = [(b"x-replaced", b"2")]
        return same_list, seen, response.headers is first, response.headers.raw is response.raw_headers

    differential.compare_call(build, label="headers and raw_headers identity")


def test_fastapi_sub_response_merge(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        # FastAPI's dependency-injected Response: no Content-Length, no status, then merged.
        sub_response = fw.responses.Response()
        del sub_response.headers["content-length"]
        sub_response.status_code = None
        sub_response.set_cookie("dependency", "1")
        sub_response.headers["X-From-Dependency"] = "yes"
        sub_response.status_code = 201

        response = fw.responses.JSONResponse({"id": 1})
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    (outcome,) = differential.compare(_serve(builder), call("POST", "/"))
    assert outcome.status == 201
    assert outcome.header("x-from-dependency") == "yes"


def test_media_type_is_class_attribute(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        responses = fw.responses
        names = ["Response", "HTMLResponse", "PlainTextResponse", "JSONResponse", "RedirectResponse"]
        names += ["StreamingResponse", "FileResponse"]
        return [
            (name, "media_type" in vars(getattr(responses, name)), getattr(responses, name).media_type)
            for name in names
        ] + [("charset", responses.Response.charset), ("chunk_size", responses.FileResponse.chunk_size)]

    differential.compare_call(describe, label="class attributes")


def _signature_rows(target: Any) -> list[tuple[str, str, str, str]]:
    signature = inspect.signature(target)
    rows = [
        (name, parameter.kind.name, repr(parameter.default), str(parameter.annotation))
        for name, parameter in signature.parameters.items()
    ]
    rows.append(("return", "", "", str(signature.return_annotation)))
    return rows


_SIGNATURES = [
    "Response",
    "HTMLResponse",
    "PlainTextResponse",
    "JSONResponse",
    "RedirectResponse",
    "StreamingResponse",
    "FileResponse",
    "Response.render",
    "Response.init_headers",
    "Response.set_cookie",
    "Response.delete_cookie",
    "Response.__call__",
    "JSONResponse.render",
    "StreamingResponse.listen_for_disconnect",
    "StreamingResponse.stream_response",
    "StreamingResponse.__call__",
    "FileResponse.set_stat_headers",
    "FileResponse.__call__",
    "FileResponse.generate_multipart",
    "MalformedRangeHeader",
    "RangeNotSatisfiable",
]


@pytest.mark.parametrize("name", _SIGNATURES)
def test_signatures_match(differential: Differential, name: str) -> None:
    def inspect_signature(fw: Framework) -> Any:
        target: Any = fw.responses
        for part in name.split("."):
            target = getattr(target, part)
        return _signature_rows(target)

    differential.compare_call(inspect_signature, label=f"signature of {name}")


@pytest.mark.parametrize("name", ["BackgroundTask", "BackgroundTasks", "BackgroundTasks.add_task"])
def test_background_signatures_match(differential: Differential, name: str) -> None:
    def inspect_signature(fw: Framework) -> Any:
        target: Any = fw.background
        for part in name.split("."):
            target = getattr(target, part)
        return _signature_rows(target)

    differential.compare_call(inspect_signature, label=f"signature of {name}")


def test_redirect_default_status(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        redirect = fw.responses.RedirectResponse
        default = inspect.signature(redirect).parameters["status_code"].default
        return default, redirect("/x").status_code

    assert differential.compare_call(describe, label="RedirectResponse default") == ("returned", (307, 307))


def _event_source_class(fw: Framework) -> Any:
    """Return a response class shaped like sse-starlette's `EventSourceResponse`."""

    class EventSourceResponse(fw.responses.Response):  # type: ignore[misc, name-defined]
        def __init__(self, content: Any, status_code: int = 200, headers: Any = None, ping: int = 15) -> None:
            # As sse-starlette does: no Response.__init__, no body, the headers built by hand.
            self.body_iterator = content
            self.status_code = status_code
            self.media_type = "text/event-stream"
            self.background = None
            self.ping_interval = ping
            merged = {"Cache-Control": "no-store", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
            merged.update(headers or {})
            self.init_headers(merged)

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for event in self.body_iterator:
                await send({"type": "http.response.body", "body": f"data: {event}\r\n\r\n".encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return EventSourceResponse


async def _events() -> AsyncIterator[str]:
    for number in range(3):
        yield f"event {number}"


def test_event_source_subclass_skips_init(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        return _event_source_class(fw)(_events(), headers={"X-Stream": "sse"})

    (outcome,) = differential.compare(_serve(builder), call("GET", "/"))
    assert outcome.header("content-type") == "text/event-stream; charset=utf-8"
    assert outcome.header("content-length") is None

    def attributes(fw: Framework) -> Any:
        response = _event_source_class(fw)(_events())
        return response.raw_headers, hasattr(response, "body"), response.headers["cache-control"]

    differential.compare_call(attributes, label="EventSourceResponse attributes")


def _orjson_response_class(fw: Framework) -> Any:
    class ORJSONResponse(fw.responses.JSONResponse):  # type: ignore[misc, name-defined]
        def render(self, content: Any) -> bytes:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)

    return ORJSONResponse


def _ujson_response_class(fw: Framework) -> Any:
    class UJSONResponse(fw.responses.JSONResponse):  # type: ignore[misc, name-defined]
        def render(self, content: Any) -> bytes:
            # ujson is not a test dependency. The stdlib call takes its place with the same
            # arguments that the ujson integration passes.
            return json.dumps(content, ensure_ascii=False).encode("utf-8")

    return UJSONResponse


_RENDER_CONTENT = {"text": "é ✓", 1: [1.5, None, True], "nested": {"list": [1e16]}}


@pytest.mark.parametrize("make_class", [_orjson_response_class, _ujson_response_class], ids=["orjson", "ujson"])
def test_json_subclass_overriding_render(differential: Differential, make_class: Callable[[Framework], Any]) -> None:
    def builder(fw: Framework) -> Any:
        return make_class(fw)(_RENDER_CONTENT, status_code=202, headers={"X-Render": "own"})

    outcomes = differential.compare(_serve(builder), call("GET", "/"), call("HEAD", "/"))
    assert outcomes[0].status == 202
    assert outcomes[0].header("content-type") == "application/json"


def test_body_iterator_is_public_and_replaceable(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        response = fw.responses.StreamingResponse(_chunks_async(), media_type="text/plain")
        original = response.body_iterator

        # Instrumentation libraries wrap the iterator to observe each chunk.
        async def observed() -> AsyncIterator[Any]:
            async for chunk in original:
                yield chunk.upper() if isinstance(chunk, str) else chunk

        response.body_iterator = observed()
        return response

    (outcome,) = differential.compare(_serve(builder), call("GET", "/"))
    assert outcome.body == b"ONE,two,THREE"


def test_sync_iterator_becomes_async(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        from_list = fw.responses.StreamingResponse(["a"]).body_iterator
        given = _chunks_async()
        from_async = fw.responses.StreamingResponse(given).body_iterator
        return hasattr(from_list, "__aiter__"), from_async is given

    differential.compare_call(describe, label="body_iterator types")


def test_subclass_overriding_call(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        class TaggedResponse(fw.responses.PlainTextResponse):  # type: ignore[misc, name-defined]
            async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
                self.headers["X-Tagged"] = scope["method"]
                await super().__call__(scope, receive, send)

        return TaggedResponse("tagged")

    differential.compare(_serve(builder), call("GET", "/"), call("POST", "/"))


def test_copied_response_is_independent(differential: Differential) -> None:
    def builder(fw: Framework) -> Any:
        template = fw.responses.PlainTextResponse("template", headers={"X-Base": "1"})
        copied = copy.copy(template)
        copied.raw_headers = list(template.raw_headers)
        copied.headers["X-Copy"] = "2"
        copied.status_code = 202
        return copied

    (outcome,) = differential.compare(_serve(builder), call("GET", "/"))
    assert outcome.header("x-copy") == "2"
