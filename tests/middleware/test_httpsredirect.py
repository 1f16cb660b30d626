from __future__ import annotations

from typing import Any

import pytest

from differential import Differential, Framework, http_scope


def _redirect_app(fw: Framework) -> Any:
    async def endpoint(request: Any) -> Any:
        return fw.responses.PlainTextResponse("secure")

    httpsredirect = fw.module("middleware.httpsredirect")
    return fw.applications.Starlette(
        routes=[fw.routing.Route("/{path:path}", endpoint)],
        middleware=[fw.middleware.Middleware(httpsredirect.HTTPSRedirectMiddleware)],
    )


@pytest.mark.parametrize(
    ("scheme", "host", "path", "query_string"),
    [
        ("http", b"example.org", "/", b""),
        ("http", b"example.org:80", "/a b/é", b"x=1&y=%20"),
        ("http", b"example.org:8080", "/p", b""),
        ("http", b"example.org:443", "/p", b""),
        ("https", b"example.org", "/already", b""),
        ("http", b"", "/no-host", b""),
        ("http", b"[::1]:8000", "/ipv6", b""),
    ],
)
def test_https_redirect_middleware(
    differential: Differential, scheme: str, host: bytes, path: str, query_string: bytes
) -> None:
    scope = http_scope(path, query_string=query_string)
    scope["scheme"] = scheme
    scope["headers"] = [(b"host", host)] if host else []
    differential.compare_scope(_redirect_app, scope)
