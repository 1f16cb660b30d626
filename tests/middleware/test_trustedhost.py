from __future__ import annotations

from typing import Any

import pytest

from differential import Differential, Framework, http_scope


def _trusted_app(allowed_hosts: list[str] | None, www_redirect: bool = True) -> Any:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.PlainTextResponse(str(request.url))

        trustedhost = fw.module("middleware.trustedhost")
        return fw.applications.Starlette(
            routes=[fw.routing.Route("/{path:path}", endpoint)],
            middleware=[
                fw.middleware.Middleware(
                    trustedhost.TrustedHostMiddleware, allowed_hosts=allowed_hosts, www_redirect=www_redirect
                )
            ],
        )

    return factory


_HOSTS = [b"example.org", b"www.example.org", b"EXAMPLE.ORG", b"example.org:8000", b"api.example.org", b"evil.test",
          b"", b"example.org.evil.test", b"[::1]:80", b"bad host"]


@pytest.mark.parametrize("host", _HOSTS)
@pytest.mark.parametrize(
    ("allowed_hosts", "www_redirect"),
    [
        (["example.org"], True),
        (["www.example.org"], True),
        (["www.example.org"], False),
        (["*.example.org"], True),
        (["*"], True),
        (None, True),
    ],
)
def test_trusted_host_middleware(
    differential: Differential, allowed_hosts: list[str] | None, www_redirect: bool, host: bytes
) -> None:
    scope = http_scope("/some/path", query_string=b"q=1")
    scope["headers"] = [(b"host", host)]
    differential.compare_scope(_trusted_app(allowed_hosts, www_redirect), scope)


@pytest.mark.parametrize("pattern", ["example.*", "*example.org", "a.*.org", "*.example.org"])
def test_trusted_host_rejects_bad_wildcards(differential: Differential, pattern: str) -> None:
    def build(fw: Framework) -> Any:
        middleware = fw.module("middleware.trustedhost").TrustedHostMiddleware(None, allowed_hosts=[pattern])
        return (middleware.allowed_hosts, middleware.allow_any, middleware.www_redirect)

    differential.compare_call(build, label=f"TrustedHostMiddleware(allowed_hosts=[{pattern!r}])")
