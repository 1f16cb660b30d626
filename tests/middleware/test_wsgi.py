"""Differential tests for `middleware.wsgi`, which warns that it is deprecated when imported."""

from __future__ import annotations

import importlib
import io
import json
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from types import ModuleType
from typing import Any

import anyio
import pytest

from differential import Differential, Framework, Outcome, call, describe_exception, http_scope

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _wsgi_module(fw: Framework) -> ModuleType:
    """Import the framework's wsgi module without letting its import-time warning fail the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.exceptions.StarletteDeprecationWarning)
        return fw.module("middleware.wsgi")


def _hello_world(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "13")])
    return [b"Hello World!\n"]


def _echo_body(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    body = environ["wsgi.input"].read()
    start_response("201 Created", [("Content-Type", "application/octet-stream"), ("X-Length", str(len(body)))])
    return [body]


def _echo_environ(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    described = {key: value for key, value in environ.items() if key not in ("wsgi.input", "wsgi.errors")}
    described["wsgi.errors is stdout"] = environ["wsgi.errors"] is sys.stdout
    described["wsgi.input type"] = type(environ["wsgi.input"]).__name__
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(described, sort_keys=True).encode()]


def _stream(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [(" X-Padded ", " value "), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    yield b"first,"
    yield b""
    yield b"second"


def _raise_error(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    raise RuntimeError("Something went wrong")


def _raise_while_streaming(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [])
    yield b"partial"
    raise ValueError("broken stream")


def _return_exc_info(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    try:
        raise RuntimeError("Something went wrong")
    except RuntimeError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], exc_info=sys.exc_info())
        return [b"Internal Server Error"]


def _status_without_reason(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200", [])
    return [b""]


def _non_ascii_header(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("X-Name", "café")])
    return [b""]


def _no_start_response(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    return []


_APPS: dict[str, WSGIApp] = {
    "hello": _hello_world,
    "echo-body": _echo_body,
    "environ": _echo_environ,
    "stream": _stream,
    "error": _raise_error,
    "error-while-streaming": _raise_while_streaming,
    "exc-info": _return_exc_info,
    "status-without-reason": _status_without_reason,
    "non-ascii-header": _non_ascii_header,
    "no-start-response": _no_start_response,
}


def _wrap(name: str) -> Callable[[Framework], Any]:
    def factory(fw: Framework) -> Any:
        return _wsgi_module(fw).WSGIMiddleware(_APPS[name])

    return factory


_CALLS = [
    call("GET", "/"),
    call("POST", "/path/caf%C3%A9?q=1&r=%20", content=b"request body \x00\xff"),
    call("PUT", "https://example.org:8443/x", headers={"X-Repeat": "a", "Content-Type": "text/plain"}),
    call("HEAD", "/head"),
]


@pytest.mark.parametrize("name", list(_APPS))
def test_wsgi_app_responses(differential: Differential, name: str) -> None:
    differential.compare(_wrap(name), *_CALLS)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("error", 500),
        # The status line has gone out before the error, so the client keeps the 200.
        ("error-while-streaming", 200),
        ("exc-info", 500),
        ("status-without-reason", 500),
    ],
)
def test_wsgi_errors_without_raising(differential: Differential, name: str, status: int) -> None:
    def drop_body(outcome: Outcome) -> Outcome:
        # The failure cancels the task that forwards body chunks, so whether a chunk sent
        # just before it arrives depends on scheduling, in Starlette too.
        return replace(outcome, body=b"")

    outcomes = differential.compare(
        _wrap(name),
        call("GET", "/"),
        client_options={"raise_server_exceptions": False},
        normalize=drop_body if name == "error-while-streaming" else None,
    )
    assert outcomes[0].status == status


def test_wsgi_exc_info_is_raised(differential: Differential) -> None:
    outcomes = differential.compare(_wrap("exc-info"), call("GET", "/"))
    assert outcomes[0].error == ("builtins.RuntimeError", "Something went wrong")


def test_wsgi_environ_from_client(differential: Differential) -> None:
    outcomes = differential.compare(_wrap("environ"), *_CALLS)
    environ = json.loads(outcomes[1].body)
    assert environ["PATH_INFO"] == "/path/cafÃ©"
    assert environ["SERVER_PORT"] == 80


_SCOPES = {
    "plain": http_scope("/"),
    "root-path": http_scope("/app/users", root_path="/app"),
    "root-path-equal": http_scope("/app", root_path="/app"),
    "root-path-prefix-only": http_scope("/application", root_path="/app"),
    "root-path-trailing-slash": http_scope("/app/x", root_path="/app/"),
    "unicode-path": http_scope("/caf\u00e9/\u4e2d", root_path="/caf\u00e9"),
    "query": http_scope("/q", query_string=b"a=1&b=%20&c"),
    "repeated-headers": http_scope(
        "/h",
        headers=[
            (b"accept", b"text/html"),
            (b"accept", b"application/json"),
            (b"content-type", b"text/plain"),
            (b"content-length", b"3"),
            (b"x-latin", b"caf\xe9"),
            (b"x-dashed-name", b"1"),
        ],
    ),
}


@pytest.mark.parametrize("name", list(_SCOPES))
def test_wsgi_environ_from_scope(differential: Differential, name: str) -> None:
    differential.compare_scope(_wrap("environ"), _SCOPES[name], body=b"abc")


def _describe_environ(environ: dict[str, Any]) -> dict[str, Any]:
    described = dict(environ)
    described["wsgi.input"] = environ["wsgi.input"].read()
    described["wsgi.errors"] = environ["wsgi.errors"] is sys.stdout
    return described


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"server": None, "client": None},
        {"server": ("unix", None), "client": ["10.0.0.1", 1234]},
        {"scheme": "https", "http_version": "2"},
        {"headers": []},
    ],
)
def test_build_environ_function(differential: Differential, extra: dict[str, Any]) -> None:
    def build(fw: Framework) -> Any:
        scope = {**http_scope("/a b", query_string=b"x=1"), **extra}
        return _describe_environ(_wsgi_module(fw).build_environ(scope, b"body"))

    differential.compare_call(build, label=f"build_environ with {extra}")


def test_build_environ_minimal_scope(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "http_version": "1.1"}
        return _describe_environ(_wsgi_module(fw).build_environ(scope, b""))

    differential.compare_call(build, label="build_environ without optional scope keys")


def test_wsgi_mounted_under_application(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        wsgi_app = _wsgi_module(fw).WSGIMiddleware(_echo_environ)
        return fw.applications.Starlette(routes=[fw.routing.Mount("/legacy", app=wsgi_app)])

    outcomes = differential.compare(factory, call("GET", "/legacy/page?x=1"), call("GET", "/legacy"))
    environ = json.loads(outcomes[0].body)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/legacy", "/page")


def test_wsgi_body_in_several_messages(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        app = _wsgi_module(fw).WSGIMiddleware(_echo_body)
        incoming = [
            {"type": "http.request", "body": b"one,", "more_body": True},
            {"type": "http.request", "more_body": True},
            {"type": "http.request", "body": b"two", "more_body": False},
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return incoming.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        anyio.run(app, http_scope("/", method="POST"), receive, send)
        return sent

    _, sent = differential.compare_call(run, label="request body in three messages")
    assert sent[1]["body"] == b"one,two"


def test_wsgi_rejects_websocket_scope(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        app = _wsgi_module(fw).WSGIMiddleware(_hello_world)

        async def receive() -> dict[str, Any]:  # pragma: no cover
            return {"type": "websocket.connect"}

        async def send(message: dict[str, Any]) -> None:  # pragma: no cover
            pass

        try:
            anyio.run(app, {"type": "websocket", "path": "/"}, receive, send)
        except AssertionError as exc:
            return describe_exception(exc, fw.package)
        return None  # pragma: no cover

    assert differential.compare_call(run, label="WSGIMiddleware with a websocket scope")[1] is not None


def test_wsgi_responder_attributes(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        responder = _wsgi_module(fw).WSGIResponder(_hello_world, http_scope("/"))
        described = (
            responder.app is _hello_world,
            responder.status,
            responder.response_headers,
            responder.response_started,
            responder.exc_info,
            type(responder.stream_send).__name__,
            responder.stream_send.statistics().max_buffer_size,
        )
        responder.stream_send.close()
        responder.stream_receive.close()
        return described

    differential.compare_call(describe, label="WSGIResponder initial state")


def test_import_warns_deprecation(differential: Differential) -> None:
    def reimport(fw: Framework) -> Any:
        name = f"{fw.package}.middleware.wsgi"
        previous = sys.modules.pop(name, None)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                importlib.import_module(name)
        finally:
            if previous is not None:
                sys.modules[name] = previous
        return [(warning.category.__name__, str(warning.message)) for warning in caught]

    _, caught = differential.compare_call(reimport, label="import of middleware.wsgi")
    assert [category for category, _ in caught] == ["StarletteDeprecationWarning"]


def test_wsgi_errors_stream_is_stdout_at_call_time(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        replacement = io.StringIO()
        original = sys.stdout
        sys.stdout = replacement
        try:
            environ = _wsgi_module(fw).build_environ(http_scope("/"), b"")
        finally:
            sys.stdout = original
        return environ["wsgi.errors"] is replacement

    assert differential.compare_call(build, label="wsgi.errors follows sys.stdout") == ("returned", True)
