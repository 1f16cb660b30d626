from __future__ import annotations

from typing import Any

import pytest

from differential import Differential, Framework, http_scope


class _CustomError(Exception):
    pass


class _ChildError(_CustomError):
    pass


def _failing_app(fw: Framework, failure: str) -> Any:
    """A plain ASGI app that fails in the way `failure` names."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if failure == "http-404":
            raise fw.exceptions.HTTPException(404, detail="nothing here")
        if failure == "http-418":
            raise fw.exceptions.HTTPException(418, headers={"X-Pot": "tea"})
        if failure == "child":
            raise _ChildError("child error")
        if failure == "value":
            raise ValueError("plain value error")
        if failure == "after-start":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise _CustomError("too late")
        response = fw.responses.PlainTextResponse("fine")
        await response(scope, receive, send)

    return app


def _handlers(fw: Framework, kind: str) -> tuple[dict[Any, Any], dict[int, Any]]:
    PlainTextResponse = fw.responses.PlainTextResponse

    async def by_class(request: Any, exc: Exception) -> Any:
        return PlainTextResponse(f"class handler: {type(exc).__name__}: {exc}", status_code=501)

    def by_status_sync(request: Any, exc: Any) -> Any:
        return PlainTextResponse(f"sync status handler: {exc.status_code} {exc.detail}", status_code=exc.status_code)

    async def returns_none(request: Any, exc: Exception) -> None:
        return None

    if kind == "none":
        return {}, {}
    if kind == "class":
        return {_CustomError: by_class, fw.exceptions.HTTPException: by_class}, {}
    if kind == "status":
        return {}, {404: by_status_sync}
    if kind == "both":
        return {_CustomError: by_class, fw.exceptions.HTTPException: by_class}, {418: by_status_sync}
    if kind == "returns-none":
        return {Exception: returns_none}, {}
    raise AssertionError(f"unknown handler kind {kind!r}")


@pytest.mark.parametrize("failure", ["ok", "http-404", "http-418", "child", "value", "after-start"])
@pytest.mark.parametrize("kind", ["none", "class", "status", "both", "returns-none", "missing-scope-key"])
def test_wrap_app_handling_exceptions(differential: Differential, failure: str, kind: str) -> None:
    def factory(fw: Framework) -> Any:
        async def outer(scope: Any, receive: Any, send: Any) -> None:
            if kind != "missing-scope-key":
                scope["starlette.exception_handlers"] = _handlers(fw, kind)
            request = fw.requests.Request(scope, receive, send)
            wrapped = fw.exception_handler.wrap_app_handling_exceptions(_failing_app(fw, failure), request)
            await wrapped(scope, receive, send)

        return outer

    differential.compare_scope(factory, http_scope("/"))


def test_wrap_app_clears_reused_exception_traceback(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        import anyio

        shared = _CustomError("reused")

        async def app(scope: Any, receive: Any, send: Any) -> None:
            raise shared

        async def handler(request: Any, exc: Exception) -> Any:
            return fw.responses.Response(status_code=204)

        async def main() -> Any:
            scope = http_scope("/")
            scope["starlette.exception_handlers"] = ({_CustomError: handler}, {})
            request = fw.requests.Request(scope)

            async def send(message: Any) -> None:
                pass

            await fw.exception_handler.wrap_app_handling_exceptions(app, request)(scope, request.receive, send)
            return shared.__traceback__ is None

        return anyio.run(main)

    assert differential.compare_call(run, label="traceback of a handled exception") == ("returned", True)
