from __future__ import annotations

from typing import Any

import pytest

from differential import Differential, Framework, http_scope


class _Problem(Exception):
    pass


def _raising_app(fw: Framework, failure: str) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if failure == "http":
            raise fw.exceptions.HTTPException(404, headers={"X-Missing": "yes"})
        if failure == "http-304":
            raise fw.exceptions.HTTPException(304)
        if failure == "problem":
            raise _Problem("custom problem")
        await fw.responses.PlainTextResponse("fine")(scope, receive, send)

    return app


@pytest.mark.parametrize("failure", ["none", "http", "http-304", "problem"])
@pytest.mark.parametrize("handlers", ["defaults", "status", "class"])
def test_exception_middleware_alone(differential: Differential, failure: str, handlers: str) -> None:
    def factory(fw: Framework) -> Any:
        async def handle(request: Any, exc: Exception) -> Any:
            return fw.responses.PlainTextResponse(f"handled {type(exc).__name__}", status_code=299)

        tables: dict[str, dict[Any, Any]] = {"defaults": {}, "status": {404: handle}, "class": {_Problem: handle}}
        table = tables[handlers]
        return fw.exceptions_middleware.ExceptionMiddleware(_raising_app(fw, failure), handlers=table)

    differential.compare_scope(factory, http_scope("/"))


@pytest.mark.parametrize("failure", ["http", "problem"])
def test_exception_middleware_add_handler(differential: Differential, failure: str) -> None:
    def factory(fw: Framework) -> Any:
        async def handle(request: Any, exc: Exception) -> Any:
            return fw.responses.PlainTextResponse(f"added for {type(exc).__name__}", status_code=299)

        middleware = fw.exceptions_middleware.ExceptionMiddleware(_raising_app(fw, failure))
        middleware.add_exception_handler(404, handle)
        middleware.add_exception_handler(_Problem, handle)
        return middleware

    outcome = differential.compare_scope(factory, http_scope("/"))
    assert outcome.status == 299


def test_exception_middleware_rejects_non_exception_key(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        middleware = fw.exceptions_middleware.ExceptionMiddleware(None)
        middleware.add_exception_handler(str, lambda request, exc: None)

    differential.compare_call(build, label="add_exception_handler(str, ...)")
