from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from differential import Differential, Framework, call


def _base_app(fw: Framework) -> Any:
    base = fw.module("middleware.base")
    responses = fw.responses

    class AddHeader(base.BaseHTTPMiddleware):  # type: ignore[misc, name-defined]
        async def dispatch(self, request: Any, call_next: Any) -> Any:
            if request.url.path == "/short-circuit":
                return responses.PlainTextResponse("answered by middleware", status_code=202)
            response = await call_next(request)
            response.headers["X-Middleware"] = f"saw {request.method} {response.status_code}"
            return response

    async def home(request: Any) -> Any:
        return responses.JSONResponse({"body": (await request.body()).decode()})

    async def streamed(request: Any) -> Any:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"one,"
            yield b"two"

        return responses.StreamingResponse(chunks())

    async def crash(request: Any) -> Any:
        raise ValueError("endpoint failed behind BaseHTTPMiddleware")

    async def http_error(request: Any) -> Any:
        raise fw.exceptions.HTTPException(418, detail="teapot")

    Route = fw.routing.Route
    return fw.applications.Starlette(
        routes=[
            Route("/", home, methods=["GET", "POST"]),
            Route("/streamed", streamed),
            Route("/crash", crash),
            Route("/teapot", http_error),
        ],
        middleware=[fw.middleware.Middleware(AddHeader)],
    )


@pytest.mark.parametrize(
    "request_call",
    [
        call("GET", "/"),
        call("POST", "/", content=b"posted body"),
        call("GET", "/streamed"),
        call("GET", "/short-circuit"),
        call("GET", "/teapot"),
        call("GET", "/missing"),
        call("PUT", "/"),
        call("GET", "/crash"),
    ],
    ids=str,
)
def test_base_http_middleware(differential: Differential, request_call: Any) -> None:
    differential.compare(_base_app, request_call)


def test_base_http_middleware_crash_returns_500(differential: Differential) -> None:
    (outcome,) = differential.compare(
        _base_app, call("GET", "/crash"), client_options={"raise_server_exceptions": False}
    )
    assert outcome.status == 500


def test_base_http_middleware_requires_dispatch(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        base = fw.module("middleware.base")

        async def endpoint(request: Any) -> Any:
            return fw.responses.PlainTextResponse("x")

        app = fw.applications.Starlette(
            routes=[fw.routing.Route("/", endpoint)], middleware=[fw.middleware.Middleware(base.BaseHTTPMiddleware)]
        )
        with fw.testclient.TestClient(app) as client:
            return client.get("/").text

    differential.compare_call(run, label="BaseHTTPMiddleware without dispatch")
