from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from differential import Differential, Framework, call, http_scope


def _describe_exception(exc: BaseException) -> dict[str, str]:
    return {"type": f"{type(exc).__module__}.{type(exc).__qualname__}", "message": str(exc)}


def _request_app(fw: Framework) -> Any:
    JSONResponse = fw.responses.JSONResponse
    PlainTextResponse = fw.responses.PlainTextResponse
    Route = fw.routing.Route

    async def echo(request: Any) -> Any:
        client = request.client
        return JSONResponse(
            {
                "method": request.method,
                "url": str(request.url),
                "url_parts": [request.url.scheme, request.url.netloc, request.url.path, request.url.query],
                "base_url": str(request.base_url),
                "headers": request.headers.items(),
                "query_params": request.query_params.multi_items(),
                "query_string": str(request.query_params),
                "path_params": request.path_params,
                "cookies": request.cookies,
                "client": None if client is None else [client.host, client.port],
                "scope_keys": sorted(key for key in request if key not in ("app", "router", "route", "endpoint")),
            }
        )

    async def query_only(request: Any) -> Any:
        params = request.query_params
        return JSONResponse(
            {
                "items": params.multi_items(),
                "keys": list(params.keys()),
                "dict": dict(params),
                "str": str(params),
                "len": len(params),
            }
        )

    async def cookies_only(request: Any) -> Any:
        return JSONResponse(request.cookies)

    async def body(request: Any) -> Any:
        data = await request.body()
        again = await request.body()
        return JSONResponse({"body": data.decode("latin-1"), "same_object": data is again})

    async def stream(request: Any) -> Any:
        chunks = [chunk.decode("latin-1") async for chunk in request.stream()]
        try:
            await request.body()
        except Exception as exc:
            after = _describe_exception(exc)
        else:
            after = {"type": "none", "message": ""}
        return JSONResponse({"chunks": chunks, "body_after_stream": after})

    async def body_then_stream(request: Any) -> Any:
        data = await request.body()
        chunks = [chunk.decode("latin-1") async for chunk in request.stream()]
        return JSONResponse({"body": data.decode("latin-1"), "chunks": chunks})

    async def parse_json(request: Any) -> Any:
        return JSONResponse({"parsed": await request.json()})

    async def parse_json_or_400(request: Any) -> Any:
        try:
            data = await request.json()
        except json.JSONDecodeError as exc:
            return JSONResponse(
                {"error": _describe_exception(exc), "pos": exc.pos, "lineno": exc.lineno, "colno": exc.colno},
                status_code=400,
            )
        return JSONResponse({"parsed": data})

    async def state(request: Any) -> Any:
        request.state.marker = "set in endpoint"
        return PlainTextResponse(f"{request.state.marker} {request.scope['state']!r}")

    async def connection_mapping(request: Any) -> Any:
        return JSONResponse(
            {
                "path": request["path"],
                "type": request["type"],
                "len_matches_scope": len(request) == len(request.scope),
                "equal_to_itself": request == request,
                "equal_to_other": request == fw.requests.Request(request.scope),
                "receive_is_callable": callable(request.receive),
                "app_is_starlette": request.app is request.scope["app"],
            }
        )

    return fw.applications.Starlette(
        routes=[
            Route("/echo/{name}", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
            Route("/query", query_only),
            Route("/cookies", cookies_only),
            Route("/body", body, methods=["POST"]),
            Route("/stream", stream, methods=["POST"]),
            Route("/body-then-stream", body_then_stream, methods=["POST"]),
            Route("/json", parse_json, methods=["POST"]),
            Route("/json-or-400", parse_json_or_400, methods=["POST"]),
            Route("/state", state),
            Route("/mapping", connection_mapping),
        ]
    )


@pytest.mark.parametrize(
    "request_call",
    [
        call("GET", "/echo/plain"),
        call("POST", "/echo/with%20space?x=1&x=2&y="),
        call("PUT", "/echo/q", params={"a": "1", "b": ["2", "3"], "é": "ü"}),
        call("DELETE", "/echo/h", headers={"X-Custom": "one", "X-Empty": "", "Accept": "text/plain"}),
        call("PATCH", "/echo/c", headers={"Cookie": "session=abc; theme=dark"}),
        call("OPTIONS", "/echo/unicode-%C3%A9"),
        call("GET", "http://example.org:8080/echo/host"),
        call("GET", "https://example.org/echo/secure"),
        call("GET", "https://example.org:443/echo/default-port"),
        call("GET", "/echo/host-header", headers={"Host": "other.test:1234"}),
        call("GET", "/echo/bad-host", headers={"Host": "bad host/"}),
        call("GET", "/echo/ipv6", headers={"Host": "[::1]:8000"}),
    ],
    ids=str,
)
def test_request_exposes_connection_details(differential: Differential, request_call: Any) -> None:
    (outcome,) = differential.compare(_request_app, request_call)
    assert outcome.status == 200


@pytest.mark.parametrize(
    "client_options",
    [
        {"client": ("10.0.0.7", 4321)},
        {"root_path": "/prefix"},
        {"base_url": "https://api.test:8443"},
        {"headers": {"X-Default": "from client"}, "cookies": {"jar": "value"}},
    ],
    ids=str,
)
def test_request_client_options(differential: Differential, client_options: dict[str, Any]) -> None:
    (outcome,) = differential.compare(_request_app, call("GET", "/echo/options?k=v"), client_options=client_options)
    assert outcome.status == 200


def test_request_client_missing_from_scope(differential: Differential) -> None:
    scope = http_scope("/echo/noclient", query_string=b"a=1")
    del scope["client"]
    outcome = differential.compare_scope(_request_app, scope)
    assert b'"client":null' in outcome.body


def test_request_server_without_host_header(differential: Differential) -> None:
    scope = http_scope("/echo/nohost")
    scope["headers"] = []
    scope["server"] = ("::1", 8000)
    outcome = differential.compare_scope(_request_app, scope)
    assert b"[::1]:8000" in outcome.body


@pytest.mark.parametrize(
    "content",
    [b"", b"plain", b"\x00\xff binary", "é".encode(), b"x" * 70_000],
    ids=["empty", "text", "binary", "utf8", "large"],
)
def test_request_body_read_twice(differential: Differential, content: bytes) -> None:
    (outcome,) = differential.compare(_request_app, call("POST", "/body", content=content))
    assert outcome.status == 200


def test_request_stream_chunks(differential: Differential) -> None:
    outcomes = differential.compare(
        _request_app,
        call("POST", "/stream", content=b"one-chunk"),
        call("POST", "/stream", content=b""),
        call("POST", "/body-then-stream", content=b"cached"),
    )
    assert all(outcome.status == 200 for outcome in outcomes)


def test_request_stream_from_chunked_upload(differential: Differential) -> None:
    def generator() -> Any:
        yield b"first,"
        yield b"second"

    # A generator can be consumed once, so each framework gets its own.
    def factory(fw: Framework) -> Any:
        return _request_app(fw)

    reference = differential.reference
    candidate = differential.candidate
    results = []
    for fw in (reference, candidate):
        with fw.testclient.TestClient(factory(fw)) as client:
            response = client.post("/stream", content=generator())
            results.append((response.status_code, response.headers.raw, response.content))
    assert results[0] == results[1], f"starlette: {results[0]!r}\n{candidate.package}: {results[1]!r}"


@pytest.mark.parametrize(
    "content",
    [
        b'{"a": [1, 2.5, null, true], "b": {"c": "d"}}',
        b'"just a string"',
        b"123",
        "{\"unicode\": \"\u00e9\u4e2d\"}".encode(),
        b'{"big": 123456789012345678901234567890}',
        b"[]",
        b'{"dup": 1, "dup": 2}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_request_json_valid_body(differential: Differential, content: bytes) -> None:
    (outcome,) = differential.compare(_request_app, call("POST", "/json", content=content))
    assert outcome.status == 200


@pytest.mark.parametrize("content", [b"NaN", b"-Infinity", b"[Infinity]"])
def test_request_json_nan_cannot_be_echoed(differential: Differential, content: bytes) -> None:
    (outcome,) = differential.compare(_request_app, call("POST", "/json", content=content))
    assert outcome.error == ("builtins.ValueError", "Out of range float values are not JSON compliant")


_INVALID_JSON_BODIES = [
    b"",
    b"{",
    b"{'single': 'quotes'}",
    b'{"a": 1,}',
    b"[1, 2",
    b"tru",
    b'{"a": 1} trailing',
    b"\xff\xfe",
    b'"unterminated',
    b"   ",
]


@pytest.mark.parametrize("content", _INVALID_JSON_BODIES)
def test_request_json_invalid_raises(differential: Differential, content: bytes) -> None:
    (outcome,) = differential.compare(_request_app, call("POST", "/json", content=content))
    assert outcome.error is not None


@pytest.mark.parametrize("content", _INVALID_JSON_BODIES)
def test_request_json_invalid_caught_in_endpoint(differential: Differential, content: bytes) -> None:
    (outcome,) = differential.compare(_request_app, call("POST", "/json-or-400", content=content))
    assert outcome.status in (200, 400)


def test_request_invalid_json_returns_500(differential: Differential) -> None:
    (outcome,) = differential.compare(
        _request_app,
        call("POST", "/json", content=b"{not json"),
        client_options={"raise_server_exceptions": False},
    )
    assert outcome.status == 500


def test_request_state_and_mapping(differential: Differential) -> None:
    outcomes = differential.compare(_request_app, call("GET", "/state"), call("GET", "/mapping"))
    assert outcomes[1].status == 200


# Query strings as servers deliver them: raw bytes, never re-encoded by a client.
_ODD_QUERY_STRINGS = [
    b"",
    b"%",
    b"%%",
    b"%zz",
    b"%4",
    b"a=%",
    b"a=%zz&b=%4g",
    b"+",
    b"a=+b+",
    b"a+b=c+d",
    b"a=%2B",
    b";",
    b"a=1;b=2",
    b"&&",
    b"&a=1&&b=2&",
    b"=",
    b"==",
    b"=value",
    b"key=",
    b"key",
    b"a=1=2",
    b"a=1&a=2&a=3",
    b"a=%00",
    b"a=%C3%A9",
    b"a=%E9",
    b"a=%ff%fe",
    b"%C3%A9=%C3%A9",
    b"a=\xc3\xa9",
    b"\xe9=\xff",
    b"a=\xff\xfe",
    b"a=b#fragment",
    b"a=b c",
    b"a=%20&b=%2",
    b"?a=1",
    b"a=%u00e9",
    b"a[]=1&a[]=2",
    b"a=%c3%28",
    b"\x00=\x7f",
]


@pytest.mark.parametrize("query_string", _ODD_QUERY_STRINGS)
def test_request_query_params_odd_input(differential: Differential, query_string: bytes) -> None:
    outcome = differential.compare_scope(_request_app, http_scope("/query", query_string=query_string))
    assert outcome.status == 200


@pytest.mark.parametrize("query_string", _ODD_QUERY_STRINGS)
def test_request_url_with_odd_query(differential: Differential, query_string: bytes) -> None:
    outcome = differential.compare_scope(_request_app, http_scope("/echo/raw", query_string=query_string))
    assert outcome.status == 200 or outcome.error is not None


@pytest.mark.parametrize("url", ["/query?%", "/query?%zz", "/query?+", "/query?a=1;b=2", "/query?&&", "/query?="])
def test_request_query_params_through_client(differential: Differential, url: str) -> None:
    (outcome,) = differential.compare(_request_app, call("GET", url))
    assert outcome.status == 200


@settings(max_examples=150)
@given(query_string=st.binary(max_size=40) | st.text(alphabet="ab=&;%+2fFzé \x00", max_size=30).map(str.encode))
def test_request_query_params_fuzzed(differential: Differential, query_string: bytes) -> None:
    differential.compare_scope(_request_app, http_scope("/query", query_string=query_string))


# Cookie headers as raw bytes. ASGI servers pass any byte through, and Starlette reads them as Latin-1.
_ODD_COOKIE_HEADERS = [
    b"",
    b"a=1",
    b"a=1; b=2",
    b"a=1;b=2;",
    b";",
    b";;;",
    b"=",
    b"=value",
    b"name=",
    b"novalue",
    b"a=1; novalue; b=2",
    b"a=1; a=2",
    b" spaced = value ; other=x ",
    b'quoted="a b"',
    b'escaped="a\\"b"',
    b'octal="\\303\\251"',
    b'half="open',
    b"a=b=c",
    b"na me=v",
    b"\xc3\xa9=\xc3\xa9",
    b"raw=\xff\xfe",
    b"a=%20b",
    b"a=1,b=2",
    b"$Version=1; a=b",
    b"a=\tb\t",
    b"a=1;;b=2",
    b"  ",
]


@pytest.mark.parametrize("cookie_header", _ODD_COOKIE_HEADERS)
def test_request_cookies_odd_input(differential: Differential, cookie_header: bytes) -> None:
    scope = http_scope("/cookies", headers=[(b"cookie", cookie_header)])
    outcome = differential.compare_scope(_request_app, scope)
    assert outcome.status == 200


def test_request_cookies_from_several_headers(differential: Differential) -> None:
    scope = http_scope("/cookies", headers=[(b"cookie", b"a=1; b=2"), (b"cookie", b"b=3; c=4"), (b"cookie", b"")])
    outcome = differential.compare_scope(_request_app, scope)
    assert outcome.body == b'{"a":"1","b":"3","c":"4"}'


@settings(max_examples=150)
@given(cookie_header=st.binary(max_size=40) | st.text(alphabet='ab=; "\\,\t0é', max_size=30).map(str.encode))
def test_request_cookies_fuzzed(differential: Differential, cookie_header: bytes) -> None:
    scope = http_scope("/cookies", headers=[(b"cookie", cookie_header)])
    differential.compare_scope(_request_app, scope)


@pytest.mark.parametrize(
    "cookie_string",
    ["", "a=1; b=2", "a", "=", '"q"', 'x="\\101"', "a=1;a=2", "é=ÿ", " ; k = v ; "],
)
def test_cookie_parser_function(differential: Differential, cookie_string: str) -> None:
    differential.compare_call(
        lambda fw: fw.requests.cookie_parser(cookie_string), label=f"cookie_parser({cookie_string!r})"
    )


@pytest.mark.parametrize("scope_type", ["http", "websocket", "lifespan"])
def test_request_requires_http_scope(differential: Differential, scope_type: str) -> None:
    def build(fw: Framework) -> Any:
        scope = http_scope("/x")
        scope["type"] = scope_type
        request = fw.requests.Request(scope)
        return (request.method, str(request.url))

    differential.compare_call(build, label=f"Request(scope with type {scope_type!r})")


def test_request_without_receive_channel(differential: Differential) -> None:
    def read_body(fw: Framework) -> Any:
        import anyio

        async def main() -> Any:
            return await fw.requests.Request(http_scope("/x")).body()

        return anyio.run(main)

    differential.compare_call(read_body, label="Request(scope).body() without a receive channel")


def test_request_url_for_outside_application(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        return fw.requests.Request(http_scope("/x")).url_for("anything")

    differential.compare_call(build, label="Request.url_for without app or router in the scope")


@pytest.mark.parametrize("attribute", ["session", "auth", "user"])
def test_request_middleware_attributes_missing(differential: Differential, attribute: str) -> None:
    def build(fw: Framework) -> Any:
        return getattr(fw.requests.Request(http_scope("/x")), attribute)

    differential.compare_call(build, label=f"Request.{attribute} without its middleware")


def _form_app(fw: Framework) -> Any:
    async def show_form(request: Any) -> Any:
        items = []
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, str):
                    items.append([key, value])
                else:
                    items.append([key, value.filename, value.content_type, (await value.read()).decode("latin-1")])
        return fw.responses.JSONResponse(items)

    return fw.applications.Starlette(routes=[fw.routing.Route("/form", show_form, methods=["POST"])])


@pytest.mark.parametrize(
    "request_call",
    [
        call("POST", "/form", data={"a": "1", "b": ["2", "3"], "space": "x y"}),
        call("POST", "/form", content=b"a=%zz&b=+&&c", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        call("POST", "/form", files={"upload": ("notes.txt", b"file body", "text/plain")}, data={"field": "v"}),
        call("POST", "/form", content=b"ignored", headers={"Content-Type": "text/plain"}),
        call("POST", "/form", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}),
        call("POST", "/form", content=b"junk", headers={"Content-Type": "multipart/form-data"}),
    ],
    ids=["urlencoded", "urlencoded-odd", "multipart", "other-type", "multipart-truncated", "multipart-no-boundary"],
)
def test_request_form_bodies(differential: Differential, request_call: Any) -> None:
    differential.compare(_form_app, request_call)
