"""Exception handling on the request path: handlers, late failures and replaced helpers, against Starlette."""
from __future__ import annotations
from typing import Any
import pytest
from differential import Differential, Framework, call, run_scope, http_scope


class Boom(Exception):
    pass


def _app(fw: Framework, *, route_mw: bool = False, handler_kind: str = "async") -> Any:
    responses = fw.responses

    async def ok(request: Any) -> Any:
        return responses.PlainTextResponse("ok")

    async def boom(request: Any) -> Any:
        raise Boom("boom")

    async def http_exc(request: Any) -> Any:
        raise fw.exceptions.HTTPException(418, "teapot", headers={"X-A": "1"})

    async def stream_then_fail(request: Any) -> Any:
        async def gen() -> Any:
            yield b"a"
            raise Boom("late")
        return responses.StreamingResponse(gen())

    async def stream_then_http(request: Any) -> Any:
        async def gen() -> Any:
            yield b"a"
            raise fw.exceptions.HTTPException(400)
        return responses.StreamingResponse(gen())

    def sync_boom(request: Any) -> Any:
        raise Boom("sync")

    async def body_then_boom(request: Any) -> Any:
        await request.body()
        raise Boom("after body")

    async def unhandled(request: Any) -> Any:
        raise KeyError("nope")

    async def raw_start_then_fail(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise Boom("raw")

    if handler_kind == "async":
        async def on_boom(request: Any, exc: Exception) -> Any:
            body = await request.body()
            return responses.PlainTextResponse(f"handled {exc} {body!r} {type(request).__name__}", status_code=500 + 1)
    else:
        def on_boom(request: Any, exc: Exception) -> Any:  # type: ignore[misc]
            return responses.PlainTextResponse(f"handled sync {exc}", status_code=502)

    async def on_400(request: Any, exc: Exception) -> Any:
        return responses.PlainTextResponse("four hundred", status_code=400)

    async def on_404(request: Any, exc: Exception) -> Any:
        return responses.PlainTextResponse(f"missing {request.url.path}", status_code=404)

    routes = [
        fw.routing.Route("/ok", ok),
        fw.routing.Route("/boom", boom),
        fw.routing.Route("/http", http_exc, methods=["GET", "POST"]),
        fw.routing.Route("/stream", stream_then_fail),
        fw.routing.Route("/stream-http", stream_then_http),
        fw.routing.Route("/sync", sync_boom),
        fw.routing.Route("/body", body_then_boom, methods=["POST"]),
        fw.routing.Route("/unhandled", unhandled),
        fw.routing.Route("/raw", raw_start_then_fail),
        fw.routing.Mount("/m", routes=[fw.routing.Route("/boom", boom), fw.routing.Route("/p/{x:int}", ok)]),
    ]
    return fw.applications.Starlette(
        routes=routes, exception_handlers={Boom: on_boom, 400: on_400, 404: on_404}
    )


REQUESTS = [
    call("GET", "/ok"),
    call("GET", "/boom"),
    call("GET", "/http"),
    call("DELETE", "/http"),
    call("GET", "/nowhere"),
    call("GET", "/sync"),
    call("POST", "/body", content=b"payload"),
    call("GET", "/m/boom"),
    call("GET", "/m/p/3"),
    call("GET", "/m/p/x"),
    call("GET", "/ok/"),
]


@pytest.mark.parametrize("handler_kind", ["async", "sync"])
def test_handlers_answer_like_starlette(differential: Differential, handler_kind: str) -> None:
    differential.compare(lambda fw: _app(fw, handler_kind=handler_kind), *REQUESTS)


@pytest.mark.parametrize("path", ["/stream", "/stream-http", "/unhandled", "/raw"])
def test_failure_after_response_start(differential: Differential, path: str) -> None:
    differential.compare(_app, call("GET", path))


def test_replaced_exception_wrapper_is_used(differential: Differential, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    for fw in (differential.reference, differential.candidate):
        for module in (fw.routing, fw.exceptions_middleware):
            original = module.wrap_app_handling_exceptions

            def patched(app: Any, conn: Any, original: Any = original, name: str = module.__name__) -> Any:
                wrapped = original(app, conn)

                async def tagged(scope: Any, receive: Any, send: Any) -> None:
                    seen.append(name.split(".", 1)[1])
                    async def send_tagged(message: Any) -> None:
                        if message["type"] == "http.response.start":
                            message["headers"] = [*message["headers"], (b"x-wrap", name.split(".", 1)[1].encode())]
                        await send(message)
                    await wrapped(scope, receive, send_tagged)

                return tagged

            monkeypatch.setattr(module, "wrap_app_handling_exceptions", patched)
    outcomes = differential.compare(_app, *REQUESTS, call("GET", "/stream"))
    assert outcomes[0].header("x-wrap") is not None
    assert "routing" in seen
    assert "middleware.exceptions" in seen


def test_handler_tables_replaced_after_start(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        app = _app(fw)
        # Build the stack, then replace the handler table of ExceptionMiddleware.
        app.middleware_stack = app.build_middleware_stack()
        layer = app.middleware_stack
        while not isinstance(layer, fw.exceptions_middleware.ExceptionMiddleware):
            layer = layer.app
        async def other(request: Any, exc: Exception) -> Any:
            return fw.responses.PlainTextResponse("other", status_code=409)
        layer._exception_handlers = {**layer._exception_handlers, Boom: other}
        return app
    differential.compare(factory, call("GET", "/boom"), call("GET", "/m/boom"))


def test_bare_router_handles_exceptions(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def boom(request: Any) -> Any:
            raise Boom("x")
        async def ok(request: Any) -> Any:
            return fw.responses.PlainTextResponse("ok")
        return fw.routing.Router([fw.routing.Route("/boom", boom), fw.routing.Route("/ok", ok), fw.routing.Route("/s", ok)])
    differential.compare(factory, call("GET", "/boom"), call("GET", "/ok"), call("POST", "/ok"), call("GET", "/s"))


def test_static_route_methods_mutated_in_place(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def ok(request: Any) -> Any:
            return fw.responses.PlainTextResponse(f"ok {request.scope['route'].path} {request.path_params}")
        routes = [fw.routing.Route("/a", ok), fw.routing.Route("/b", ok), fw.routing.Route("/b", ok, methods=["POST"])]
        app = fw.applications.Starlette(routes=routes)
        return app
    def run(fw: Framework) -> Any:
        app = factory(fw)
        client = fw.testclient.TestClient(app)
        out = [client.get("/b").text, client.post("/b").text]
        app.routes[1].methods.discard("GET"); app.routes[1].methods.discard("HEAD")
        out += [client.get("/b").status_code, client.post("/b").text]
        return out
    differential.compare_call(run, label="methods mutated")


def test_path_params_from_outer_scope(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def ok(request: Any) -> Any:
            return fw.responses.PlainTextResponse(f"{request.path_params} {sorted(request.scope)}")
        inner = fw.routing.Router([fw.routing.Route("/x", ok), fw.routing.Route("/y/{z}", ok)])
        return fw.applications.Starlette(routes=[fw.routing.Mount("/p/{outer}", app=inner)])
    differential.compare(factory, call("GET", "/p/1/x"), call("GET", "/p/1/y/2"))
