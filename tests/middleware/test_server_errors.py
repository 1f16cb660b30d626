from __future__ import annotations

from typing import Any

import pytest

from differential import Differential, Framework, call, http_scope


def _failing_asgi_app(scope: Any, receive: Any, send: Any) -> Any:
    async def fail() -> None:
        if scope["path"] == "/after-start":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        raise RuntimeError("plain ASGI app failed")

    return fail()


@pytest.mark.parametrize("path", ["/", "/after-start"])
@pytest.mark.parametrize("handler_kind", ["none", "async", "sync"])
def test_server_error_middleware_alone(differential: Differential, path: str, handler_kind: str) -> None:
    def factory(fw: Framework) -> Any:
        async def async_handler(request: Any, exc: Exception) -> Any:
            return fw.responses.PlainTextResponse(f"async handled {exc}", status_code=500)

        def sync_handler(request: Any, exc: Exception) -> Any:
            return fw.responses.PlainTextResponse(f"sync handled {exc}", status_code=503)

        handler = {"none": None, "async": async_handler, "sync": sync_handler}[handler_kind]
        errors = fw.errors_middleware
        return errors.ServerErrorMiddleware(_failing_asgi_app, handler=handler)

    differential.compare_scope(factory, http_scope(path))


def test_server_error_middleware_through_client(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        return fw.errors_middleware.ServerErrorMiddleware(_failing_asgi_app)

    outcomes = differential.compare(factory, call("GET", "/"), client_options={"raise_server_exceptions": False})
    assert outcomes[0].status == 500


def test_server_error_debug_plain_text(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        middleware = fw.errors_middleware.ServerErrorMiddleware(_failing_asgi_app, debug=True)
        try:
            raise KeyError("<key>")
        except KeyError as exc:
            text = middleware.generate_plain_text(exc)
            html = middleware.generate_html(exc)
        return (text.splitlines()[0], text.splitlines()[-1], "&lt;key&gt;" in html, "<key>" in html)

    differential.compare_call(describe, label="ServerErrorMiddleware debug text and escaping")
