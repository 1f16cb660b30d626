from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from differential import Differential, Framework, Outcome, call


class _TeapotError(Exception):
    pass


class _SpecificTeapotError(_TeapotError):
    pass


class _HeaderMiddleware:
    """A plain ASGI middleware that appends one response header, to show middleware order."""

    def __init__(self, app: Any, name: str, value: str = "1") -> None:
        self.app = app
        self.name = name.encode("latin-1")
        self.value = value.encode("latin-1")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (self.name, self.value)]}
            await send(message)

        await self.app(scope, receive, send_with_header)


def _application(fw: Framework, *, debug: bool = False, **options: Any) -> Any:
    JSONResponse = fw.responses.JSONResponse
    PlainTextResponse = fw.responses.PlainTextResponse
    HTTPException = fw.exceptions.HTTPException
    Route = fw.routing.Route

    async def home(request: Any) -> Any:
        return PlainTextResponse("home")

    async def teapot(request: Any) -> Any:
        raise _TeapotError("short and stout")

    async def specific_teapot(request: Any) -> Any:
        raise _SpecificTeapotError("tip me over")

    async def forbidden(request: Any) -> Any:
        raise HTTPException(status_code=403, detail="no entry", headers={"X-Reason": "policy"})

    async def conflict(request: Any) -> Any:
        raise HTTPException(status_code=409)

    async def crash(request: Any) -> Any:
        raise RuntimeError("the endpoint crashed")

    def sync_crash(request: Any) -> Any:
        raise KeyError("missing-key")

    async def read_state(request: Any) -> Any:
        return JSONResponse({"app_state": request.app.state.greeting, "has_router": "router" in request.scope})

    return fw.applications.Starlette(
        debug=debug,
        routes=[
            Route("/", home),
            Route("/teapot", teapot),
            Route("/specific-teapot", specific_teapot),
            Route("/forbidden", forbidden),
            Route("/conflict", conflict),
            Route("/crash", crash),
            Route("/sync-crash", sync_crash),
            Route("/state", read_state),
        ],
        **options,
    )


def _with_app_state(fw: Framework) -> Any:
    app = _application(fw)
    app.state.greeting = "hello from app.state"
    return app


def test_application_serves_routes(differential: Differential) -> None:
    outcomes = differential.compare(_with_app_state, call("GET", "/"), call("GET", "/state"), call("GET", "/none"))
    assert [outcome.status for outcome in outcomes] == [200, 200, 404]


def test_application_middleware_order(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        Middleware = fw.middleware.Middleware
        return _application(
            fw,
            middleware=[
                Middleware(_HeaderMiddleware, name="x-outer"),
                Middleware(_HeaderMiddleware, "x-inner", value="2"),
            ],
        )

    outcomes = differential.compare(factory, call("GET", "/"), call("GET", "/none"), call("GET", "/forbidden"))
    assert outcomes[0].headers[-2:] == ((b"x-inner", b"2"), (b"x-outer", b"1"))


def test_application_add_middleware_runs_outermost(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        app = _application(fw, middleware=[fw.middleware.Middleware(_HeaderMiddleware, name="x-declared")])
        app.add_middleware(_HeaderMiddleware, name="x-added")
        return app

    (outcome,) = differential.compare(factory, call("GET", "/"))
    assert outcome.headers[-1] == (b"x-added", b"1")


def test_application_add_middleware_after_start(differential: Differential) -> None:
    def add_late(fw: Framework) -> Any:
        app = _application(fw)
        with fw.testclient.TestClient(app) as client:
            client.get("/")
            app.add_middleware(_HeaderMiddleware, name="x-late")
        return None

    differential.compare_call(add_late, label="add_middleware after the first request")


def _handlers_app(fw: Framework) -> Any:
    JSONResponse = fw.responses.JSONResponse
    PlainTextResponse = fw.responses.PlainTextResponse

    async def not_found(request: Any, exc: Any) -> Any:
        return JSONResponse({"missing": request.url.path, "detail": exc.detail}, status_code=exc.status_code)

    def conflict(request: Any, exc: Any) -> Any:
        return PlainTextResponse(f"sync handler: {exc.detail}", status_code=409, headers={"X-Handler": "sync"})

    async def teapot(request: Any, exc: Exception) -> Any:
        return PlainTextResponse(f"{type(exc).__name__}: {exc}", status_code=418)

    return _application(
        fw,
        exception_handlers={404: not_found, 409: conflict, _TeapotError: teapot},
    )


@pytest.mark.parametrize(
    ("url", "expected_status"),
    [
        ("/does-not-exist", 404),
        ("/conflict", 409),
        ("/teapot", 418),
        ("/specific-teapot", 418),
        ("/forbidden", 403),
    ],
)
def test_application_exception_handlers(differential: Differential, url: str, expected_status: int) -> None:
    (outcome,) = differential.compare(_handlers_app, call("GET", url))
    assert outcome.status == expected_status


def test_application_http_exception_class_handler(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def every_http_error(request: Any, exc: Any) -> Any:
            return fw.responses.JSONResponse(
                {"status": exc.status_code, "detail": exc.detail, "headers": exc.headers},
                status_code=exc.status_code,
                headers=exc.headers,
            )

        return _application(fw, exception_handlers={fw.exceptions.HTTPException: every_http_error})

    outcomes = differential.compare(
        factory,
        call("GET", "/forbidden"),
        call("GET", "/conflict"),
        call("GET", "/nowhere"),
        call("POST", "/"),
    )
    assert [outcome.status for outcome in outcomes] == [403, 409, 404, 405]


def test_application_add_exception_handler(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def handler(request: Any, exc: Exception) -> Any:
            return fw.responses.PlainTextResponse("added later", status_code=599)

        app = _application(fw)
        app.add_exception_handler(_TeapotError, handler)
        app.add_exception_handler(403, handler)
        return app

    outcomes = differential.compare(factory, call("GET", "/teapot"), call("GET", "/forbidden"))
    assert [outcome.status for outcome in outcomes] == [599, 599]


def test_application_handler_returning_none(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def swallow(request: Any, exc: Exception) -> None:
            return None

        return _application(fw, exception_handlers={_TeapotError: swallow})

    (outcome,) = differential.compare(factory, call("GET", "/teapot"))
    assert outcome.error is not None


@pytest.mark.parametrize("url", ["/crash", "/sync-crash", "/teapot"])
def test_application_server_error_raises(differential: Differential, url: str) -> None:
    (outcome,) = differential.compare(_application, call("GET", url))
    assert outcome.error is not None
    assert outcome.status is None


@pytest.mark.parametrize("url", ["/crash", "/sync-crash"])
def test_application_server_error_returns_500(differential: Differential, url: str) -> None:
    (outcome,) = differential.compare(
        _application, call("GET", url), client_options={"raise_server_exceptions": False}
    )
    assert outcome.status == 500
    assert outcome.body == b"Internal Server Error"


@pytest.mark.parametrize("key", [500, Exception])
@pytest.mark.parametrize("handler_kind", ["async", "sync"])
def test_application_custom_500_handler(differential: Differential, key: Any, handler_kind: str) -> None:
    def factory(fw: Framework) -> Any:
        async def async_handler(request: Any, exc: Exception) -> Any:
            return fw.responses.JSONResponse({"error": repr(exc)}, status_code=500)

        def sync_handler(request: Any, exc: Exception) -> Any:
            return fw.responses.JSONResponse({"error": repr(exc), "sync": True}, status_code=503)

        handler = async_handler if handler_kind == "async" else sync_handler
        return _application(fw, exception_handlers={key: handler})

    outcomes = differential.compare(
        factory,
        call("GET", "/crash"),
        call("GET", "/forbidden"),
        client_options={"raise_server_exceptions": False},
    )
    assert outcomes[0].status in (500, 503)
    assert outcomes[1].status == 403


def _summarize_debug_page(outcome: Outcome) -> Outcome:
    """Keep the parts of a debug traceback page that do not depend on file paths and line numbers.

    A traceback names each framework's own source files, so only the start, the
    exception line and the page titles are comparable.
    """
    text = outcome.body.decode("utf-8")
    if (outcome.header("content-type") or "").startswith("text/html"):
        summary = repr(re.findall(r"<title>(.*?)</title>|<h1>(.*?)</h1>|<h2>(.*?)</h2>", text))
    else:
        lines = text.rstrip("\n").splitlines()
        summary = f"{lines[0]}\n...\n{lines[-1]}" if lines else ""
    headers = tuple((key, value) for key, value in outcome.headers if key != b"content-length")
    return replace(outcome, headers=headers, body=summary.encode("utf-8"))


@pytest.mark.parametrize("accept", ["text/plain", "text/html,application/xhtml+xml", "*/*"])
@pytest.mark.parametrize("url", ["/crash", "/sync-crash"])
def test_application_debug_traceback_page(differential: Differential, accept: str, url: str) -> None:
    def factory(fw: Framework) -> Any:
        return _application(fw, debug=True)

    (outcome,) = differential.compare(
        factory,
        call("GET", url, headers={"Accept": accept}),
        client_options={"raise_server_exceptions": False},
        normalize=_summarize_debug_page,
    )
    assert outcome.status == 500
    assert outcome.body.startswith(b"Traceback") or b"<html>" in outcome.body


def test_application_debug_keeps_handled_errors(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        return _application(fw, debug=True)

    outcomes = differential.compare(factory, call("GET", "/forbidden"), call("GET", "/nowhere"))
    assert [outcome.status for outcome in outcomes] == [403, 404]


def test_application_lifespan_sets_state(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        events: list[str] = []

        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
            events.append(f"startup {type(app).__name__}")
            yield {"database": "connected", "counter": [0]}
            events.append("shutdown")

        async def show_state(request: Any) -> Any:
            request.state.counter[0] += 1
            return fw.responses.JSONResponse(
                {"database": request.state.database, "counter": request.state.counter[0], "events": events}
            )

        return fw.applications.Starlette(routes=[fw.routing.Route("/", show_state)], lifespan=lifespan)

    outcomes = differential.compare(factory, call("GET", "/"), call("GET", "/"), lifespan=True)
    assert outcomes[1].body == b'{"database":"connected","counter":2,"events":["startup Starlette"]}'


def test_application_lifespan_events_run(differential: Differential) -> None:
    def run_lifespan(fw: Framework) -> Any:
        events: list[str] = []

        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[None]:
            events.append("startup")
            yield
            events.append("shutdown")

        app = fw.applications.Starlette(lifespan=lifespan)
        with fw.testclient.TestClient(app):
            events.append("serving")
        return events

    assert differential.compare_call(run_lifespan, label="lifespan events") == (
        "returned",
        ["startup", "serving", "shutdown"],
    )


@pytest.mark.parametrize("phase", ["startup", "shutdown"])
def test_application_lifespan_failure(differential: Differential, phase: str) -> None:
    def run_lifespan(fw: Framework) -> Any:
        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[None]:
            if phase == "startup":
                raise RuntimeError("cannot start")
            yield
            raise RuntimeError("cannot stop")

        app = fw.applications.Starlette(lifespan=lifespan)
        with fw.testclient.TestClient(app):
            pass

    differential.compare_call(run_lifespan, label=f"lifespan failing at {phase}")


def test_application_lifespan_state_without_server_support(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
            yield {"key": "value"}

        return fw.applications.Starlette(lifespan=lifespan)

    def run_without_state(fw: Framework) -> Any:
        import anyio

        app = factory(fw)
        sent: list[dict[str, Any]] = []
        incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def receive() -> Any:
            return next(incoming)

        async def send(message: Any) -> None:
            sent.append({"type": message["type"], "has_message": bool(message.get("message"))})

        async def main() -> None:
            await app({"type": "lifespan"}, receive, send)

        anyio.run(main)
        return sent

    differential.compare_call(run_without_state, label="stateful lifespan on a server without state")


@pytest.mark.parametrize("size", [0, 10, 11, 5000])
def test_application_max_body_size(differential: Differential, size: int) -> None:
    def factory(fw: Framework) -> Any:
        async def echo_size(request: Any) -> Any:
            body = await request.body()
            return fw.responses.PlainTextResponse(str(len(body)))

        return fw.applications.Starlette(
            routes=[fw.routing.Route("/upload", echo_size, methods=["POST"])], max_body_size=10
        )

    (outcome,) = differential.compare(factory, call("POST", "/upload", content=b"x" * size))
    assert outcome.status == (200 if size <= 10 else 413)


def test_application_url_path_for_and_routes(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        app = _application(fw)

        async def extra(request: Any) -> Any:
            return fw.responses.PlainTextResponse("extra")

        app.add_route("/extra/{n:int}", extra, name="extra", methods=["POST"])
        return (
            str(app.url_path_for("extra", n=4)),
            [repr(route) for route in app.routes],
            app.routes is app.router.routes,
            app.debug,
            type(app.state).__name__,
            app.user_middleware,
            app.middleware_stack,
        )

    differential.compare_call(describe, label="Starlette.url_path_for, routes and defaults")


def test_application_url_path_for_missing_route(differential: Differential) -> None:
    def lookup(fw: Framework) -> Any:
        return _application(fw).url_path_for("nothing", a=1, b=2)

    differential.compare_call(lookup, label="url_path_for an unknown route name")


def test_application_state_attribute_errors(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        app = fw.applications.Starlette()
        app.state.name = "value"
        del app.state.name
        return app.state.name

    differential.compare_call(describe, label="State attribute deleted then read")


def test_middleware_repr_and_iteration(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        middleware = fw.middleware.Middleware(_HeaderMiddleware, "x-name", value="v")
        cls, args, kwargs = middleware
        return (repr(middleware), cls is _HeaderMiddleware, args, kwargs)

    differential.compare_call(describe, label="Middleware repr and unpacking")
