"""The TestClient, run against plain ASGI callables under starlette's and rustlette's client.

Each case builds a fresh app, drives it through `fw.testclient.TestClient` and returns
what the app saw and what the client returned, so the differential fixture can compare
the two frameworks.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest

from differential import Differential, Framework

Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


def _summarize(response: Any) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "headers": response.headers.multi_items(),
        "body": response.content,
        "url": str(response.url),
        "history": [(item.status_code, str(item.url)) for item in response.history],
    }


def _text_response(body: bytes = b"ok", status: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        await send({"type": "http.response.body", "body": body})

    return app


def _scope_recorder(seen: list[dict[str, Any]]) -> Any:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        seen.append(dict(scope))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


# HTTP scope


@pytest.mark.parametrize(
    ("client_options", "method", "url", "request_options"),
    [
        ({}, "GET", "/", {}),
        ({}, "DELETE", "/items/1?force=true&x=%20y", {}),
        ({}, "GET", "/a%2525b/caf%C3%A9", {}),
        ({}, "GET", "/path with spaces", {"params": {"q": "a b", "r": "é"}}),
        ({}, "OPTIONS", "https://example.org:8443/deep/path", {}),
        ({}, "GET", "http://[::1]:8000/v6", {}),
        ({}, "QUERY", "/search", {"content": b"select"}),
        ({}, "GET", "/", {"headers": {"X-Custom": "One", "Accept": "text/html", "User-Agent": "mine"}}),
        ({"root_path": "/api"}, "GET", "/api/users", {}),
        ({"client": ("10.1.2.3", 4567)}, "GET", "/", {}),
        ({"base_url": "https://secure.test:444/base/"}, "POST", "relative?a=1", {"json": {"k": [1, 2]}}),
        ({"headers": {"X-Client": "yes", "user-agent": "custom"}}, "GET", "/", {}),
        ({"cookies": {"session": "abc", "theme": "dark"}}, "GET", "/", {}),
    ],
)
def test_http_scope_matches_reference(
    differential: Differential,
    client_options: dict[str, Any],
    method: str,
    url: str,
    request_options: dict[str, Any],
) -> None:
    def scope_seen(fw: Framework) -> dict[str, Any]:
        seen: list[dict[str, Any]] = []
        client = fw.testclient.TestClient(_scope_recorder(seen), **client_options)
        response = client.request(method, url, **request_options)
        assert response.status_code == 204
        return seen[0]

    scope = differential.compare_call(scope_seen, label=f"{method} {url}")
    assert scope[1]["type"] == "http"


def test_http_scope_fields(differential: Differential) -> None:
    def scope_seen(fw: Framework) -> dict[str, Any]:
        seen: list[dict[str, Any]] = []
        fw.testclient.TestClient(_scope_recorder(seen), root_path="/r").get("/x%2Fy?q=1")
        return seen[0]

    _, scope = differential.compare_call(scope_seen, label="scope fields")
    assert scope["path"] == "/x/y"
    assert scope["raw_path"] == b"/x%2Fy"
    assert scope["query_string"] == b"q=1"
    assert scope["root_path"] == "/r"
    assert scope["server"] == ["testserver", 80]
    assert scope["client"] == ("testclient", 50000)
    assert scope["http_version"] == "1.1"
    assert scope["extensions"] == {"http.response.debug": {}, "http.response.trailers": {}}
    assert (b"user-agent", b"testclient") in scope["headers"]


def test_client_headers_argument_left_unchanged() -> None:
    from rustlette.testclient import TestClient

    headers = {"x-a": "1"}
    TestClient(_text_response(), headers=headers)

    assert headers == {"x-a": "1"}


# Request bodies


def _body_recorder(seen: list[Message]) -> Any:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        # Once the response is complete the next message is a disconnect.
        seen.append(await receive())

    return app


def _chunks() -> Iterator[bytes]:
    yield b"first,"
    yield b""
    yield b"second"


@pytest.mark.parametrize(
    "request_options",
    [
        {},
        {"content": b"raw bytes"},
        {"content": "text é"},
        {"json": {"a": 1, "b": ["x", None]}},
        {"data": {"name": "value", "many": ["1", "2"]}},
        {
            "files": {"upload": ("a.txt", b"file body", "text/plain")},
            "data": {"field": "v"},
            "headers": {"Content-Type": "multipart/form-data; boundary=fixedboundary"},
        },
    ],
)
def test_request_body_messages(differential: Differential, request_options: dict[str, Any]) -> None:
    def messages_seen(fw: Framework) -> tuple[list[Message], dict[str, Any]]:
        seen: list[Message] = []
        response = fw.testclient.TestClient(_body_recorder(seen)).post("/", **request_options)
        return seen, _summarize(response)

    (_, (messages, _)) = differential.compare_call(messages_seen, label=repr(request_options))
    assert messages[0]["type"] == "http.request"
    assert messages[1] == {"type": "http.disconnect"}


def test_request_body_from_generator(differential: Differential) -> None:
    def messages_seen(fw: Framework) -> list[Message]:
        seen: list[Message] = []
        fw.testclient.TestClient(_body_recorder(seen)).post("/", content=_chunks())
        return seen

    _, messages = differential.compare_call(messages_seen, label="generator body")
    assert messages[0] == {"type": "http.request", "body": b"first,second"}


# Responses


async def _streaming_app(scope: Any, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"text/plain"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"x-dup", b"1")]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    for chunk in (b"one ", b"", b"two ", b"three"):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": bytearray(b"!")})


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_streamed_response_is_joined(differential: Differential, method: str) -> None:
    def response_seen(fw: Framework) -> dict[str, Any]:
        return _summarize(fw.testclient.TestClient(_streaming_app).request(method, "/"))

    _, response = differential.compare_call(response_seen, label=method)
    assert response["body"] == (b"" if method == "HEAD" else b"one two three!")


def test_response_stream_yields_each_chunk(differential: Differential) -> None:
    def chunks_seen(fw: Framework) -> list[bytes]:
        client = fw.testclient.TestClient(_streaming_app)
        with client.stream("GET", "/") as response:
            return list(response.iter_raw())

    _, chunks = differential.compare_call(chunks_seen, label="iter_raw")
    assert chunks == [b"one ", b"two ", b"three", b"!"]


def test_response_without_headers_key(differential: Differential) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 418})
        await send({"type": "http.response.body"})

    def response_seen(fw: Framework) -> dict[str, Any]:
        return _summarize(fw.testclient.TestClient(app).get("/"))

    differential.compare_call(response_seen, label="no headers key")


def test_unknown_response_messages_ignored(differential: Differential) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": "/nowhere"})
        await send({"type": "http.response.body", "body": b"kept"})

    def response_seen(fw: Framework) -> dict[str, Any]:
        return _summarize(fw.testclient.TestClient(app).get("/"))

    differential.compare_call(response_seen, label="unknown message")


def test_trailers_extension(differential: Differential) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        await send({"type": "http.response.body", "body": b" end"})
        await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"1")], "more_trailers": True})
        await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"2")]})

    def trailers_seen(fw: Framework) -> tuple[dict[str, Any], Any]:
        response = fw.testclient.TestClient(app).get("/")
        return _summarize(response), response.extensions.get("http.response.trailers")

    _, (_, trailers) = differential.compare_call(trailers_seen, label="trailers")
    assert trailers == [(b"x-sum", b"1"), (b"x-sum", b"2")]


def test_debug_extension_sets_template(differential: Differential) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        assert "http.response.debug" in scope["extensions"]
        await send({"type": "http.response.debug", "info": {"template": "index.html", "context": {"a": 1}}})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"page"})

    def debug_seen(fw: Framework) -> tuple[Any, Any, Any]:
        response = fw.testclient.TestClient(app).get("/")
        return response.template, response.context, response.extensions["http.response.debug"]

    differential.compare_call(debug_seen, label="debug extension")


# Cookies and redirects


async def _cookie_app(scope: Any, receive: Receive, send: Send) -> None:
    headers = dict(scope["headers"])
    if scope["path"] == "/set":
        response_headers = [(b"set-cookie", b"token=xyz; Path=/"), (b"set-cookie", b"other=1; Path=/")]
    else:
        response_headers = []
    await send({"type": "http.response.start", "status": 200, "headers": response_headers})
    await send({"type": "http.response.body", "body": headers.get(b"cookie", b"<none>")})


def test_cookies_persist_between_requests(differential: Differential) -> None:
    def cookies_seen(fw: Framework) -> list[bytes]:
        client = fw.testclient.TestClient(_cookie_app, cookies={"initial": "1"})
        bodies = [client.get("/read").content, client.get("/set").content, client.get("/read").content]
        return [*bodies, json.dumps(dict(client.cookies)).encode()]

    _, bodies = differential.compare_call(cookies_seen, label="cookies")
    assert b"token=xyz" in bodies[2]


async def _redirect_app(scope: Any, receive: Receive, send: Send) -> None:
    targets = {
        "/start": (302, b"/middle?x=1"),
        "/middle": (301, b"http://testserver/end"),
        "/other-host": (307, b"https://elsewhere.test:9000/end"),
        "/post": (303, b"/end"),
        "/keep-method": (308, b"/end"),
    }

    request = await receive()
    target = targets.get(scope["path"])
    if target is None:
        body = f"{scope['method']} {scope['scheme']} {scope['server']} ".encode() + request["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    status, location = target
    await send({"type": "http.response.start", "status": status, "headers": [(b"location", location)]})
    await send({"type": "http.response.body", "body": b"moved"})


@pytest.mark.parametrize(
    ("method", "path", "client_options", "request_options"),
    [
        ("GET", "/start", {}, {}),
        ("GET", "/other-host", {}, {}),
        ("POST", "/post", {}, {"content": b"payload"}),
        ("POST", "/keep-method", {}, {"content": b"payload"}),
        ("GET", "/start", {"follow_redirects": False}, {}),
        ("GET", "/start", {}, {"follow_redirects": False}),
        ("GET", "/start", {"follow_redirects": False}, {"follow_redirects": True}),
    ],
)
def test_redirects(
    differential: Differential,
    method: str,
    path: str,
    client_options: dict[str, Any],
    request_options: dict[str, Any],
) -> None:
    def response_seen(fw: Framework) -> dict[str, Any]:
        client = fw.testclient.TestClient(_redirect_app, **client_options)
        return _summarize(client.request(method, path, **request_options))

    differential.compare_call(response_seen, label=f"{method} {path}")


# Exceptions from the application


class _AppError(Exception):
    pass


async def _raise_before_start(scope: Any, receive: Receive, send: Send) -> None:
    raise _AppError("before start")


async def _raise_after_start(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"Internal Server Error"})
    raise _AppError("after the response")


async def _raise_mid_body(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise _AppError("mid body")


async def _no_response(scope: Any, receive: Receive, send: Send) -> None:
    await receive()


async def _double_start(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.start", "status": 200, "headers": []})


async def _body_before_start(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.body", "body": b"x"})


async def _body_after_complete(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"x"})
    await send({"type": "http.response.body", "body": b"y"})


async def _trailers_undeclared(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"x"})
    await send({"type": "http.response.trailers", "headers": []})


async def _trailers_before_body(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
    await send({"type": "http.response.body", "body": b"x", "more_body": True})
    await send({"type": "http.response.trailers", "headers": []})


async def _body_after_trailers(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
    await send({"type": "http.response.body", "body": b"x"})
    await send({"type": "http.response.trailers", "headers": []})
    await send({"type": "http.response.trailers", "headers": []})


_FAILING_APPS = {
    "raise_before_start": _raise_before_start,
    "raise_after_start": _raise_after_start,
    "raise_mid_body": _raise_mid_body,
    "no_response": _no_response,
    "double_start": _double_start,
    "body_before_start": _body_before_start,
    "body_after_complete": _body_after_complete,
    "trailers_undeclared": _trailers_undeclared,
    "trailers_before_body": _trailers_before_body,
    "body_after_trailers": _body_after_trailers,
}


@pytest.mark.parametrize("raise_server_exceptions", [True, False])
@pytest.mark.parametrize("app_name", sorted(_FAILING_APPS))
def test_application_errors(differential: Differential, app_name: str, raise_server_exceptions: bool) -> None:
    app = _FAILING_APPS[app_name]

    def outcome(fw: Framework) -> dict[str, Any]:
        client = fw.testclient.TestClient(app, raise_server_exceptions=raise_server_exceptions)
        return _summarize(client.get("/"))

    differential.compare_call(outcome, label=f"{app_name} raise_server_exceptions={raise_server_exceptions}")


def test_error_after_stream_read_raises_on_close(differential: Differential) -> None:
    def outcome(fw: Framework) -> list[str]:
        client = fw.testclient.TestClient(_raise_after_start)
        steps = []
        with client.stream("GET", "/") as response:
            steps.append(f"status {response.status_code}")
            try:
                response.read()
            except _AppError as exc:
                steps.append(f"read raised {exc}")
        return steps

    _, steps = differential.compare_call(outcome, label="stream then read")
    assert steps == ["status 500", "read raised after the response"]


# Streaming, cancellation and background work


async def _complete_lifespan(receive: Receive, send: Send) -> None:
    for _ in range(2):
        message = await receive()
        await send({"type": message["type"] + ".complete"})


def _slow_stream_app(events: list[str]) -> Any:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _complete_lifespan(receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for index in range(1000):
                await send({"type": "http.response.body", "body": b"%d," % index, "more_body": True})
            await send({"type": "http.response.body", "body": b"end"})
        except anyio.get_cancelled_exc_class():
            events.append("cancelled")
            raise
        events.append("finished")

    return app


def test_closing_stream_early_cancels_app(differential: Differential) -> None:
    def events_seen(fw: Framework) -> tuple[list[bytes], list[str]]:
        events: list[str] = []
        client = fw.testclient.TestClient(_slow_stream_app(events))
        with client.stream("GET", "/") as response:
            chunks = []
            for chunk in response.iter_raw():
                chunks.append(chunk)
                if len(chunks) == 3:
                    break
        return chunks, events

    _, (chunks, events) = differential.compare_call(events_seen, label="early close")
    assert chunks == [b"0,", b"1,", b"2,"]
    assert events == ["cancelled"]


@pytest.mark.parametrize("close_with", ["client_close", "with_exit"])
def test_open_stream_aborted_on_close(differential: Differential, close_with: str) -> None:
    def events_seen(fw: Framework) -> list[str]:
        events: list[str] = []
        client = fw.testclient.TestClient(_slow_stream_app(events))
        # The open response stays referenced, because collecting it would stop its event loop.
        if close_with == "with_exit":
            with client:
                response = client.send(client.build_request("GET", "/"), stream=True)
        else:
            response = client.send(client.build_request("GET", "/"), stream=True)
            client.close()
        return [*events, f"status {response.status_code}"]

    _, events = differential.compare_call(events_seen, label=close_with)
    assert events == ["cancelled", "status 200"]


@pytest.mark.parametrize("mode", ["request", "inside_with", "stream_closed_after_body"])
@pytest.mark.parametrize("raise_server_exceptions", [True, False])
def test_background_work_awaited_before_return(
    differential: Differential, raise_server_exceptions: bool, mode: str
) -> None:
    def events_seen(fw: Framework) -> tuple[bytes, list[str]]:
        events: list[str] = []

        async def app(scope: Any, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan":
                await _complete_lifespan(receive, send)
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"sent"})
            await anyio.sleep(0.01)
            events.append("background done")

        client = fw.testclient.TestClient(app, raise_server_exceptions=raise_server_exceptions)
        if mode == "inside_with":
            with client:
                body = client.get("/").content
                seen = list(events)
        elif mode == "stream_closed_after_body":
            with client:
                with client.stream("GET", "/") as response:
                    body = next(response.iter_raw())
                seen = list(events)
        else:
            body = client.get("/").content
            seen = list(events)
        return body, seen

    _, (_, events) = differential.compare_call(events_seen, label="background work")
    assert events == ["background done"]


def test_event_loop_shared_inside_with(differential: Differential) -> None:
    def loops_seen(fw: Framework) -> tuple[bool, bool, bool]:
        loops: list[object] = []

        async def app(scope: Any, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan":
                await _complete_lifespan(receive, send)
                return
            loops.append(asyncio.get_running_loop())
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        client = fw.testclient.TestClient(app)
        client.get("/")
        client.get("/")
        with client:
            inside_portal = client.portal is not None
            client.get("/")
            client.get("/")
        return loops[0] is loops[1], loops[2] is loops[3] and inside_portal, client.portal is None

    _, shared = differential.compare_call(loops_seen, label="event loops")
    assert shared == (False, True, True)


# Lifespan


def _lifespan_app(events: list[str], *, startup: str = "complete", shutdown: str = "complete") -> Any:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            body = json.dumps(scope["state"]).encode()
            scope["state"]["touched"] = True
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return

        assert scope["type"] == "lifespan"
        message = await receive()
        events.append(message["type"])
        scope["state"]["started"] = 1
        if startup == "raise":
            raise _AppError("startup crashed")
        if startup == "failed":
            await send({"type": "lifespan.startup.failed", "message": "nope"})
            raise _AppError("startup failed")
        await send({"type": "lifespan.startup.complete"})

        message = await receive()
        events.append(message["type"])
        if shutdown == "raise":
            raise _AppError("shutdown crashed")
        if shutdown == "failed":
            await send({"type": "lifespan.shutdown.failed", "message": "nope"})
            raise _AppError("shutdown failed")
        if shutdown == "failed_quietly":
            await send({"type": "lifespan.shutdown.failed", "message": "nope"})
            return
        await send({"type": "lifespan.shutdown.complete"})

    return app


@pytest.mark.parametrize(
    ("startup", "shutdown"),
    [
        ("complete", "complete"),
        ("raise", "complete"),
        ("failed", "complete"),
        ("complete", "raise"),
        ("complete", "failed"),
        ("complete", "failed_quietly"),
    ],
)
def test_lifespan_outcomes(differential: Differential, startup: str, shutdown: str) -> None:
    def events_seen(fw: Framework) -> tuple[list[str], list[bytes]]:
        events: list[str] = []
        bodies: list[bytes] = []
        client = fw.testclient.TestClient(_lifespan_app(events, startup=startup, shutdown=shutdown))
        try:
            with client:
                bodies.append(client.get("/").content)
                bodies.append(client.get("/").content)
        except _AppError as exc:
            events.append(f"raised {exc}")
        return events, bodies

    differential.compare_call(events_seen, label=f"startup={startup} shutdown={shutdown}")


def test_lifespan_state_copied_per_request(differential: Differential) -> None:
    def bodies_seen(fw: Framework) -> list[bytes]:
        client = fw.testclient.TestClient(_lifespan_app([]))
        with client:
            return [client.get("/").content, client.get("/").content, json.dumps(client.app_state).encode()]

    _, bodies = differential.compare_call(bodies_seen, label="lifespan state")
    assert bodies == [b'{"started": 1}', b'{"started": 1}', b'{"started": 1}']


@pytest.mark.parametrize("kind", ["returns", "rejects"])
def test_app_without_lifespan_support(differential: Differential, kind: str) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        if kind == "rejects":
            assert scope["type"] == "http", "only HTTP is served"
        if scope["type"] == "lifespan":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def enter(fw: Framework) -> int:
        with fw.testclient.TestClient(app) as client:
            status: int = client.get("/").status_code
            return status

    differential.compare_call(enter, label=kind)


def test_client_reusable_after_with(differential: Differential) -> None:
    def statuses(fw: Framework) -> list[int]:
        events: list[str] = []
        client = fw.testclient.TestClient(_lifespan_app(events))
        with client:
            first = client.get("/").status_code
        second = client.get("/").status_code
        with client:
            third = client.get("/").status_code
        return [first, second, third, len(events)]

    differential.compare_call(statuses, label="reuse")


# Application styles and client options


class _ClassApp:
    def __init__(self, scope: Any, receive: Receive, send: Send) -> None:
        self.send = send

    def __await__(self) -> Any:
        return self.respond().__await__()

    async def respond(self) -> None:
        await self.send({"type": "http.response.start", "status": 200, "headers": []})
        await self.send({"type": "http.response.body", "body": b"class app"})


def _asgi2_app(scope: Any) -> Any:
    async def instance(receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"asgi2 " + scope["path"].encode()})

    return instance


class _CallableObject:
    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"callable object"})


@pytest.mark.parametrize("app", [_ClassApp, _asgi2_app, _CallableObject()], ids=["class", "asgi2", "callable"])
def test_application_styles(differential: Differential, app: Any) -> None:
    def body(fw: Framework) -> tuple[bytes, str]:
        client = fw.testclient.TestClient(app)
        return client.get("/styled").content, type(client.app).__name__

    differential.compare_call(body, label=repr(app))


def test_timeout_argument_warns(differential: Differential) -> None:
    def warning_seen(fw: Framework) -> tuple[str, str]:
        client = fw.testclient.TestClient(_text_response())
        with pytest.warns(fw.exceptions.StarletteDeprecationWarning) as record:
            client.get("/", timeout=5)
        return type(record[0].message).__name__, str(record[0].message)

    reference = warning_seen(differential.reference)
    candidate = warning_seen(differential.candidate)
    assert candidate[0] == reference[0]
    assert candidate[1].startswith("You should not use the 'timeout' argument with the TestClient.")


def test_backend_options_reach_event_loop(differential: Differential) -> None:
    def debug_flag(fw: Framework) -> bool:
        flags: list[bool] = []

        async def app(scope: Any, receive: Receive, send: Send) -> None:
            flags.append(asyncio.get_running_loop().get_debug())
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        fw.testclient.TestClient(app, backend_options={"debug": True}).get("/")
        return flags[0]

    _, flag = differential.compare_call(debug_flag, label="backend_options")
    assert flag is True


def test_not_collected_by_pytest() -> None:
    from rustlette.testclient import TestClient

    assert TestClient.__test__ is False


def test_public_names_match(differential: Differential) -> None:
    def names(fw: Framework) -> list[str]:
        module = fw.testclient
        return sorted(
            name
            for name in vars(module)
            if name in {"TestClient", "WebSocketTestSession", "WebSocketDenialResponse", "ASGIInstance"}
            or name in {"ASGI2App", "ASGI3App", "_TestClientTransport", "_WrapASGI2", "_AsyncBackend", "_RequestData"}
            or name in {"_is_asgi3", "_Upgrade", "_PortalFactoryType", "_TestClientResponseStream", "httpx"}
        )

    _, found = differential.compare_call(names, label="public names")
    assert len(found) == 15


# Client library fallback

_IMPORT_WITHOUT = """
import sys
import warnings

package, *blocked = sys.argv[1:]
for name in blocked:
    sys.modules[name] = None  # makes `import name` raise ModuleNotFoundError

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        module = __import__(package + ".testclient", fromlist=["TestClient"])
    except RuntimeError as exc:
        print("raised", repr(str(exc)))
        raise SystemExit(0)
for warning in caught:
    print("warned", warning.category.__name__, repr(str(warning.message)))


async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "websocket works"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"http works"})


client = module.TestClient(app)
print(module.httpx.__name__, client.get("/").text)
with client.websocket_connect("/") as session:
    print(session.receive_text())
"""


@pytest.mark.parametrize("blocked", [["httpx2"], ["httpx2", "httpx"]], ids=["httpx", "neither"])
def test_httpx_fallback_and_missing_client(differential: Differential, blocked: list[str]) -> None:
    def output(fw: Framework) -> str:
        command = [sys.executable, "-c", _IMPORT_WITHOUT, fw.package, *blocked]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        return result.stdout

    _, stdout = differential.compare_call(output, label=f"without {blocked}")
    if blocked == ["httpx2"]:
        assert "warned StarletteDeprecationWarning" in stdout
        assert "httpx http works\nwebsocket works\n" in stdout
    else:
        assert stdout.startswith("raised 'The starlette.testclient module requires the httpx2 package")
