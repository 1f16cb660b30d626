from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from differential import Differential, Framework, call, http_scope

_LONG_TEXT = "compressible text " * 100


def _gzip_app(fw: Framework, **options: Any) -> Any:
    responses = fw.responses

    async def large(request: Any) -> Any:
        return responses.PlainTextResponse(_LONG_TEXT)

    async def small(request: Any) -> Any:
        return responses.PlainTextResponse("tiny")

    async def streamed(request: Any) -> Any:
        async def chunks() -> AsyncIterator[str]:
            for index in range(20):
                yield f"chunk {index} " * 20

        return responses.StreamingResponse(chunks(), media_type="text/plain")

    async def encoded(request: Any) -> Any:
        return responses.Response(b"x" * 1000, headers={"Content-Encoding": "br"})

    async def event_stream(request: Any) -> Any:
        return responses.Response(_LONG_TEXT, media_type="text/event-stream")

    async def partial(request: Any) -> Any:
        return responses.Response(_LONG_TEXT, status_code=206, media_type="text/plain")

    async def with_vary(request: Any) -> Any:
        return responses.PlainTextResponse(_LONG_TEXT, headers={"Vary": "Cookie"})

    Route = fw.routing.Route
    gzip = fw.module("middleware.gzip")
    return fw.applications.Starlette(
        routes=[
            Route("/large", large),
            Route("/small", small),
            Route("/streamed", streamed),
            Route("/encoded", encoded),
            Route("/event-stream", event_stream),
            Route("/partial", partial),
            Route("/vary", with_vary),
        ],
        middleware=[fw.middleware.Middleware(gzip.GZipMiddleware, **options)],
    )


_PATHS = ["/large", "/small", "/streamed", "/encoded", "/event-stream", "/partial", "/vary"]


@pytest.mark.parametrize("accept_encoding", [b"gzip", b"gzip, deflate, br", b"identity", b"GZIP", b""])
@pytest.mark.parametrize("path", _PATHS)
def test_gzip_middleware_raw_bytes(differential: Differential, path: str, accept_encoding: bytes) -> None:
    scope = http_scope(path, headers=[(b"accept-encoding", accept_encoding)])
    differential.compare_scope(_gzip_app, scope)


@pytest.mark.parametrize(
    "options",
    [{"minimum_size": 10}, {"minimum_size": 5000}, {"compresslevel": 1}, {"exclude_content_types": ("text/*",)}],
    ids=str,
)
def test_gzip_middleware_options(differential: Differential, options: dict[str, Any]) -> None:
    scope = http_scope("/large", headers=[(b"accept-encoding", b"gzip")])
    differential.compare_scope(lambda fw: _gzip_app(fw, **options), scope)


@pytest.mark.parametrize("path", _PATHS)
def test_gzip_middleware_through_client(differential: Differential, path: str) -> None:
    differential.compare(_gzip_app, call("GET", path), call("HEAD", path))
