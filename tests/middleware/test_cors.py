from __future__ import annotations

from typing import Any

import pytest

from differential import Differential, Framework, call

_CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "explicit": {
        "allow_origins": ["https://a.test"],
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["X-Custom"],
        "expose_headers": ["X-Exposed", "X-Other"],
        "max_age": 100,
    },
    "wildcards": {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"]},
    "wildcard-credentials": {"allow_origins": ["*"], "allow_credentials": True, "allow_headers": ["*"]},
    "regex-private-network": {
        "allow_origin_regex": r"https://.*\.example\.org",
        "allow_private_network": True,
        "allow_methods": ["PUT"],
    },
    "defaults": {},
}

_REQUESTS = {
    "no-origin": call("GET", "/"),
    "allowed-origin": call("GET", "/", headers={"Origin": "https://a.test"}),
    "other-origin": call("GET", "/", headers={"Origin": "https://evil.test"}),
    "regex-origin": call("GET", "/", headers={"Origin": "https://api.example.org"}),
    "regex-suffix-origin": call("GET", "/", headers={"Origin": "https://api.example.org.evil.test"}),
    "credentials-cookie": call("GET", "/", headers={"Origin": "https://a.test", "Cookie": "session=1"}),
    "preflight": call(
        "OPTIONS",
        "/",
        headers={
            "Origin": "https://a.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Custom, content-type",
        },
    ),
    "preflight-bad-method": call(
        "OPTIONS", "/", headers={"Origin": "https://a.test", "Access-Control-Request-Method": "DELETE"}
    ),
    "preflight-bad-header": call(
        "OPTIONS",
        "/",
        headers={
            "Origin": "https://a.test",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-Not-Allowed",
        },
    ),
    "preflight-other-origin": call(
        "OPTIONS", "/", headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"}
    ),
    "preflight-private-network": call(
        "OPTIONS",
        "/",
        headers={
            "Origin": "https://api.example.org",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Private-Network": "true",
        },
    ),
    "options-without-request-method": call("OPTIONS", "/", headers={"Origin": "https://a.test"}),
}


def _cors_app(configuration: dict[str, Any]) -> Any:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.PlainTextResponse("body", headers={"Vary": "Accept-Language"})

        cors = fw.module("middleware.cors")
        return fw.applications.Starlette(
            routes=[fw.routing.Route("/", endpoint, methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"])],
            middleware=[fw.middleware.Middleware(cors.CORSMiddleware, **configuration)],
        )

    return factory


@pytest.mark.parametrize("request_name", list(_REQUESTS))
@pytest.mark.parametrize("configuration", list(_CONFIGURATIONS))
def test_cors_middleware_headers(differential: Differential, configuration: str, request_name: str) -> None:
    differential.compare(_cors_app(_CONFIGURATIONS[configuration]), _REQUESTS[request_name])


def test_cors_middleware_computed_attributes(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        cors = fw.module("middleware.cors")
        middleware = cors.CORSMiddleware(None, allow_methods=["*"], allow_headers=["x-b", "X-A"])
        return (middleware.allow_methods, middleware.allow_headers, middleware.preflight_headers, cors.ALL_METHODS)

    differential.compare_call(build, label="CORSMiddleware attributes")
