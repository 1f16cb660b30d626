from __future__ import annotations

from typing import Any

import pytest

from differential import Differential, Framework, call


@pytest.mark.parametrize(
    ("status_code", "detail", "headers"),
    [
        (400, None, None),
        (404, None, None),
        (418, None, None),
        (599, None, None),
        (422, "", None),
        (401, "log in first", {"WWW-Authenticate": "Bearer"}),
        (429, "slow down", {"Retry-After": "30", "X-Rate-Limit": "0"}),
        (500, "server side", None),
        (204, "no body expected", {"X-Empty": "yes"}),
        (304, None, None),
        (200, "odd but allowed", None),
    ],
)
def test_http_exception_attributes(
    differential: Differential, status_code: int, detail: str | None, headers: dict[str, str] | None
) -> None:
    def describe(fw: Framework) -> Any:
        exc = fw.exceptions.HTTPException(status_code, detail=detail, headers=headers)
        return (str(exc), repr(exc), exc.status_code, exc.detail, exc.headers, exc.args)

    differential.compare_call(describe, label=f"HTTPException({status_code}, {detail!r}, {headers!r})")


@pytest.mark.parametrize(
    ("status_code", "detail", "headers"),
    [
        (400, None, None),
        (401, "log in first", {"WWW-Authenticate": "Bearer"}),
        (418, "teapot", {"X-A": "1", "x-b": "2"}),
        (599, None, None),
        (204, "dropped", {"X-Empty": "yes"}),
        (304, None, None),
        (500, "explicit 500", None),
        (405, None, {"Allow": "GET"}),
    ],
)
def test_http_exception_response(
    differential: Differential, status_code: int, detail: str | None, headers: dict[str, str] | None
) -> None:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            raise fw.exceptions.HTTPException(status_code, detail=detail, headers=headers)

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])

    (outcome,) = differential.compare(factory, call("GET", "/"))
    assert outcome.status == status_code


def test_http_exception_from_sync_endpoint(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        def endpoint(request: Any) -> Any:
            raise fw.exceptions.HTTPException(403, headers={"X-Sync": "1"})

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])

    (outcome,) = differential.compare(factory, call("GET", "/"))
    assert outcome.status == 403


def test_http_exception_outside_application(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            raise fw.exceptions.HTTPException(409, detail="bare router")

        return fw.routing.Router(routes=[fw.routing.Route("/", endpoint)])

    (outcome,) = differential.compare(factory, call("GET", "/"))
    assert outcome.error is not None


@pytest.mark.parametrize(("code", "reason"), [(1008, None), (1011, "broken"), (4000, "")])
def test_websocket_exception_attributes(differential: Differential, code: int, reason: str | None) -> None:
    def describe(fw: Framework) -> Any:
        exc = fw.exceptions.WebSocketException(code, reason=reason)
        return (str(exc), repr(exc), exc.code, exc.reason)

    differential.compare_call(describe, label=f"WebSocketException({code}, {reason!r})")


def test_deprecation_warning_class(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        warning = fw.exceptions.StarletteDeprecationWarning
        return ([base.__qualname__ for base in warning.__mro__], issubclass(warning, DeprecationWarning))

    differential.compare_call(describe, label="StarletteDeprecationWarning bases")


def test_exception_classes_subclass_exception(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        return [
            [base.__qualname__ for base in cls.__mro__]
            for cls in (
                fw.exceptions.HTTPException,
                fw.exceptions.WebSocketException,
                fw.requests.ClientDisconnect,
                fw.routing.NoMatchFound,
            )
        ]

    differential.compare_call(describe, label="exception class hierarchies")
