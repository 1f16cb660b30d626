"""Libraries such as Sentry and OpenTelemetry patch Starlette at run time, and the same patches must work on rustlette."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from differential import Differential, Framework, call


class _Patcher:
    """Apply each patch once per target, even when a factory runs twice on the same framework.

    `--candidate=starlette` builds both apps from the same modules, and wrapping an
    already wrapped function would apply the patch twice.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.patched: set[tuple[int, str]] = set()

    def wrap(self, target: Any, name: str, make_replacement: Callable[[Any], Any]) -> None:
        key = (id(target), name)
        if key in self.patched:
            return
        self.patched.add(key)
        self.monkeypatch.setattr(target, name, make_replacement(getattr(target, name)))


@pytest.fixture
def patcher(monkeypatch: pytest.MonkeyPatch) -> _Patcher:
    return _Patcher(monkeypatch)


def _plain_app(fw: Framework) -> Any:
    async def show_cookies(request: Any) -> Any:
        return fw.responses.JSONResponse(request.cookies)

    def sync_endpoint(request: Any) -> Any:
        return fw.responses.PlainTextResponse("sync")

    return fw.applications.Starlette(
        routes=[fw.routing.Route("/cookies", show_cookies), fw.routing.Route("/sync", sync_endpoint)]
    )


def test_patched_cookie_parser_is_used(differential: Differential, patcher: _Patcher) -> None:
    def shouting(original: Any) -> Any:
        def parse(cookie_string: str) -> dict[str, str]:
            return {key.upper(): value for key, value in original(cookie_string).items()}

        return parse

    def factory(fw: Framework) -> Any:
        patcher.wrap(fw.requests, "cookie_parser", shouting)
        return _plain_app(fw)

    (outcome,) = differential.compare(factory, call("GET", "/cookies", headers={"Cookie": "a=1; b=2"}))
    assert outcome.body == b'{"A":"1","B":"2"}'


def test_patched_run_in_threadpool_is_used(differential: Differential, patcher: _Patcher) -> None:
    def tagging(original: Any) -> Any:
        async def run(func: Any, *args: Any, **kwargs: Any) -> Any:
            response = await original(func, *args, **kwargs)
            response.headers["X-Threadpool"] = "patched"
            return response

        return run

    def factory(fw: Framework) -> Any:
        patcher.wrap(fw.routing, "run_in_threadpool", tagging)
        return _plain_app(fw)

    (outcome,) = differential.compare(factory, call("GET", "/sync"))
    assert outcome.header("x-threadpool") == "patched"


def test_patched_build_middleware_stack(differential: Differential, patcher: _Patcher) -> None:
    def instrumenting(original: Any) -> Any:
        def build(self: Any) -> Any:
            inner = original(self)

            async def app(scope: Any, receive: Any, send: Any) -> None:
                async def tagged_send(message: Any) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message["headers"], (b"x-instrumented", b"1")]
                    await send(message)

                await inner(scope, receive, tagged_send)

            return app

        return build

    def factory(fw: Framework) -> Any:
        patcher.wrap(fw.applications.Starlette, "build_middleware_stack", instrumenting)
        return _plain_app(fw)

    outcomes = differential.compare(factory, call("GET", "/sync"), call("GET", "/missing"))
    assert outcomes[0].header("x-instrumented") == "1"
    assert outcomes[1].header("x-instrumented") == "1"


def test_patched_request_response_is_used(differential: Differential, patcher: _Patcher) -> None:
    def tracing(original: Any) -> Any:
        def wrap(func: Any) -> Any:
            app = original(func)

            async def traced(scope: Any, receive: Any, send: Any) -> None:
                scope.setdefault("state", {})["traced"] = True
                await app(scope, receive, send)

            return traced

        return wrap

    def factory(fw: Framework) -> Any:
        async def show_state(request: Any) -> Any:
            return fw.responses.PlainTextResponse(f"traced={request.state.traced}")

        patcher.wrap(fw.routing, "request_response", tracing)
        return fw.applications.Starlette(routes=[fw.routing.Route("/", show_state)])

    (outcome,) = differential.compare(factory, call("GET", "/"))
    assert outcome.body == b"traced=True"


def test_patched_json_render_is_used(differential: Differential, patcher: _Patcher) -> None:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.JSONResponse({"ignored": True})

        patcher.wrap(fw.responses.JSONResponse, "render", lambda original: lambda self, content: b"custom")
        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])

    (outcome,) = differential.compare(factory, call("GET", "/"))
    assert outcome.body == b"custom"


def test_subclass_without_calling_init(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        class LazyResponse(fw.responses.Response):  # type: ignore[misc, name-defined]
            def __init__(self, text: str) -> None:
                self.status_code = 200
                self.background = None
                self.body = text.encode()
                self.init_headers()

        class ScopeOnlyRequest(fw.requests.Request):  # type: ignore[misc, name-defined]
            def __init__(self, scope: Any) -> None:
                self.scope = scope

        response = LazyResponse("lazy")
        request = ScopeOnlyRequest({"type": "http", "method": "GET", "path": "/p", "headers": [], "query_string": b"a=1"})
        copied = copy.copy(response)
        return (
            response.raw_headers,
            copied.body,
            request.method,
            request.query_params.multi_items(),
            request.headers.items(),
            request.path_params,
        )

    differential.compare_call(build, label="subclasses that skip __init__")
