"""Differential tests for `middleware.opentelemetry`, with a tracer provider that records spans.

Only opentelemetry-api is installed, so the provider below implements the few calls the
middleware makes and records them. The tracer name is the framework's own package name,
so that is compared separately.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from differential import Differential, Framework, call, http_scope

_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class _RecordedSpan:
    def __init__(self, name: str, parent: Any, kind: SpanKind, attributes: dict[str, Any]) -> None:
        self.events: list[Any] = [("start", name, parent, kind.name, dict(attributes))]

    def set_attribute(self, key: str, value: Any) -> None:
        self.events.append(("set_attribute", key, value))

    def set_status(self, status: Any) -> None:
        self.events.append(("set_status", status.status_code.name, status.description))

    def update_name(self, name: str) -> None:
        self.events.append(("update_name", name))


class _RecordingTracer:
    def __init__(self, spans: list[_RecordedSpan]) -> None:
        self.spans = spans

    @contextmanager
    def start_as_current_span(
        self, name: str, context: Any = None, kind: SpanKind = SpanKind.INTERNAL, attributes: Any = None
    ) -> Iterator[_RecordedSpan]:
        parent = trace.get_current_span(context).get_span_context()
        parent_ids = (format(parent.trace_id, "032x"), format(parent.span_id, "016x")) if parent.is_valid else None
        span = _RecordedSpan(name, parent_ids, kind, attributes or {})
        self.spans.append(span)
        try:
            yield span
        except BaseException as exc:
            span.events.append(("exit", type(exc).__name__))
            raise
        span.events.append(("exit", None))


class _RecordingTracerProvider(trace.TracerProvider):
    def __init__(self) -> None:
        self.spans: list[_RecordedSpan] = []
        self.tracers: list[tuple[str, str | None]] = []

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> Any:
        self.tracers.append((instrumenting_module_name, instrumenting_library_version))
        return _RecordingTracer(self.spans)


def _app(fw: Framework, provider: Any, **options: Any) -> Any:
    PlainTextResponse = fw.responses.PlainTextResponse

    async def homepage(request: Any) -> Any:
        return PlainTextResponse("home")

    async def user(request: Any) -> Any:
        return PlainTextResponse(f"user {request.path_params['user_id']}")

    async def fail(request: Any) -> Any:
        raise ValueError("endpoint failed")

    async def unavailable(request: Any) -> Any:
        raise fw.exceptions.HTTPException(503)

    async def websocket_endpoint(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    async def raw_app(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("raw")(scope, receive, send)

    Route = fw.routing.Route
    inner = fw.routing.Router(routes=[Route("/items/{item_id:int}", homepage)])
    routes = [
        Route("/", homepage),
        Route("/users/{user_id:int}", user),
        Route("/fail", fail),
        Route("/unavailable", unavailable),
        Route("/only-get", homepage, methods=["GET"]),
        fw.routing.WebSocketRoute("/ws", websocket_endpoint),
        fw.routing.Mount("/api", app=inner),
        fw.routing.Mount("/raw", app=raw_app),
    ]
    opentelemetry = fw.module("middleware.opentelemetry")
    middleware = [fw.middleware.Middleware(opentelemetry.OpenTelemetryMiddleware, tracer_provider=provider, **options)]
    return fw.applications.Starlette(routes=routes, middleware=middleware)


def _record(fw: Framework, requests: list[Any], client_options: dict[str, Any] | None = None, **options: Any) -> Any:
    provider = _RecordingTracerProvider()
    client = fw.testclient.TestClient(_app(fw, provider, **options), **(client_options or {}))
    statuses = []
    with client:
        for method, url, headers in requests:
            try:
                statuses.append(client.request(method, url, headers=headers).status_code)
            except ValueError as exc:
                statuses.append(str(exc))
    return statuses, [span.events for span in provider.spans], provider.tracers


_REQUESTS = [
    ("GET", "/", {}),
    ("GET", "/users/42?verbose=1&x=%20", {"User-Agent": "probe/1.0", "traceparent": _TRACEPARENT}),
    ("POST", "/only-get", {}),
    ("GET", "/missing", {}),
    ("GET", "/fail", {}),
    ("GET", "/unavailable", {}),
    ("GET", "/api/items/7", {}),
    ("GET", "/raw/anything", {}),
    ("GET", "http://example.org:8080/", {"Host": "example.org:8080"}),
]


def test_spans_for_requests(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        statuses, spans, tracers = _record(fw, _REQUESTS, client_options={"raise_server_exceptions": False})
        return statuses, spans, [name == fw.package for name, _ in tracers]

    _, (statuses, spans, _) = differential.compare_call(run, label="spans for a set of requests")
    assert statuses == [200, 200, 405, 404, 500, 503, 200, 200, 200]
    names = [next(event[1] for event in reversed(span) if event[0] in ("start", "update_name")) for span in spans]
    assert names == [
        "GET /",
        "GET /users/{user_id}",
        "POST /only-get",
        "GET",
        "GET /fail",
        "GET /unavailable",
        "GET /api/items/{item_id}",
        "GET /raw",
        "GET /",
    ]
    assert spans[1][0][2] == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert ("set_status", StatusCode.ERROR.name, None) in spans[5]


def test_tracer_named_after_package(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        _, _, tracers = _record(fw, [("GET", "/", {})])
        package_version = importlib.import_module(fw.package).__version__
        return [(name == fw.package, version == package_version) for name, version in tracers]

    assert differential.compare_call(run, label="tracer name and version") == ("returned", [(True, True)])


def test_exception_recorded_and_raised(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        statuses, spans, _ = _record(fw, [("GET", "/fail", {})])
        return statuses, spans[0][1:]

    _, (statuses, events) = differential.compare_call(run, label="exception escaping the app")
    assert statuses == ["endpoint failed"]
    assert events[0] == ("set_attribute", "error.type", "ValueError")
    assert events[-1] == ("exit", "ValueError")


@pytest.mark.parametrize(
    "excluded_urls",
    ["", "/users/.*,  ^http://testserver/$ ", ["fail$", "api"], ("nothing-matches",), "testserver"],
)
def test_excluded_urls(differential: Differential, excluded_urls: Any) -> None:
    def run(fw: Framework) -> Any:
        statuses, spans, _ = _record(
            fw, _REQUESTS, client_options={"raise_server_exceptions": False}, excluded_urls=excluded_urls
        )
        return statuses, spans

    differential.compare_call(run, label=f"excluded_urls={excluded_urls!r}")


def test_websocket_and_lifespan_pass_through(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        provider = _RecordingTracerProvider()
        client = fw.testclient.TestClient(_app(fw, provider))
        with client, client.websocket_connect("/ws") as session:
            text = session.receive_text()
        return text, len(provider.spans)

    assert differential.compare_call(run, label="websocket and lifespan") == ("returned", ("hello", 0))


def test_nested_middleware_opens_one_span(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        provider = _RecordingTracerProvider()
        middleware_class = fw.module("middleware.opentelemetry").OpenTelemetryMiddleware
        inner = middleware_class(_app(fw, provider), tracer_provider=provider)
        scope = http_scope("/users/1")
        statuses = _drive(middleware_class(inner, tracer_provider=provider), scope)
        return statuses, [span.events for span in provider.spans], "starlette.opentelemetry" in scope

    _, (statuses, spans, marker_left) = differential.compare_call(run, label="two nested middlewares")
    assert (statuses, len(spans), marker_left) == ([200, None], 1, False)


def _drive(app: Any, scope: dict[str, Any]) -> list[Any]:
    """Send one request straight to `app` and return the statuses it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    return [message.get("status") for message in sent]


_RAW_SCOPES: dict[str, dict[str, Any]] = {
    "lower-case-method": http_scope("/users/5", method="get"),
    "mixed-case-method": http_scope("/users/5", method="Patch", query_string=b"a=1"),
    "root-path": http_scope("/prefix/users/5", root_path="/prefix"),
    "root-path-mount": http_scope("/prefix/raw/x", root_path="/prefix"),
    "repeated-user-agent": {
        **http_scope("/users/5"),
        "headers": [(b"host", b"example.org"), (b"user-agent", b"first"), (b"User-Agent", b"second")],
    },
    "no-server-client-or-host": {
        **http_scope("/"),
        "headers": [],
        "server": None,
        "client": None,
        "http_version": "",
    },
    "server-without-port": {**http_scope("/"), "headers": [], "server": ("unix-socket", None)},
    "host-with-port": {**http_scope("/"), "headers": [(b"host", b"example.org:9000")]},
}


@pytest.mark.parametrize("name", list(_RAW_SCOPES))
def test_span_attributes_from_raw_scope(differential: Differential, name: str) -> None:
    def run(fw: Framework) -> Any:
        provider = _RecordingTracerProvider()
        statuses = _drive(_app(fw, provider), dict(_RAW_SCOPES[name]))
        return statuses, [span.events for span in provider.spans]

    differential.compare_call(run, label=f"raw scope {name}")


def test_noop_tracer_provider_skips_spans(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        provider = trace.NoOpTracerProvider()
        client = fw.testclient.TestClient(_app(fw, provider))
        response = client.get("/users/3")
        return response.status_code, response.text

    assert differential.compare_call(run, label="NoOpTracerProvider") == ("returned", (200, "user 3"))


def test_default_provider_is_global(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        middleware = fw.module("middleware.opentelemetry").OpenTelemetryMiddleware(None)
        return (
            middleware._tracer_provider is trace.get_tracer_provider(),
            middleware._meter_provider,
            middleware._excluded_urls,
        )

    differential.compare_call(run, label="default providers")
