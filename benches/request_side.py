"""Request-side scenarios for `benches.run`: what an endpoint reads from a request.

Each scenario sends one request to an app built on rustlette, to the same app built on
starlette, and to a bare ASGI app that does the same work in plain Python:

- `form-1000`: `await request.form()` on a 1,000-field urlencoded body;
- `query-params-20`: every value of a 20-parameter query string via
  `request.query_params`;
- `header-lookups`: six lookups, two of them misses, on a request with 15 headers;
- `cookie-lookups`: four lookups in `request.cookies`, parsed from an 8-cookie header
  among the same 15 headers.

Every endpoint returns a small JSON summary of what it read, so the run compares the
columns on the same bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import cookies as http_cookies
from typing import Any
from urllib.parse import parse_qsl, urlencode

from benches._harness import BARE, AppContender, dump_json, send_response, symbol
from benches.driver import ASGIApp, AppDriver, Receive, Scope, Send, build_scope


async def _send_json(send: Send, content: Any) -> None:
    await send_response(send, dump_json(content), b"application/json")


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _json_route_app(package: str, path: str, methods: list[str], summarize: Callable[[Any], Any]) -> ASGIApp:
    """Build an app with one route whose endpoint returns `await summarize(request)` as JSON."""
    starlette_class = symbol(package, "applications", "Starlette")
    route_class = symbol(package, "routing", "Route")
    json_response = symbol(package, "responses", "JSONResponse")

    async def endpoint(request: Any) -> Any:
        return json_response(await summarize(request))

    app: ASGIApp = starlette_class(routes=[route_class(path, endpoint, methods=methods)])
    return app


# The 15 headers of a browser request behind a proxy. The cookie header has 8 cookies,
# one of them quoted with escapes.

_COOKIE_HEADER = (
    b"session=0123456789abcdef0123456789abcdef; csrftoken=Zx8Qe1vR4tYb7uIo; theme=dark; lang=en-GB; "
    b'_ga=GA1.2.1234567890.1700000000; consent="yes, \\"all\\" \\303\\274"; tz=Europe%2FZurich; seen=1'
)

_REQUEST_HEADERS = (
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
    (b"accept-language", b"en-GB,en;q=0.9,de;q=0.8"),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    (b"cookie", _COOKIE_HEADER),
    (b"referer", b"http://127.0.0.1:8000/search"),
    (b"dnt", b"1"),
    (b"sec-fetch-mode", b"navigate"),
    (b"sec-fetch-site", b"same-origin"),
    (b"x-forwarded-for", b"127.0.0.1"),
    (b"x-forwarded-proto", b"http"),
    (b"x-request-id", b"9f1c2e7a-5b3d-4c8e-a6f0-1d2e3f4a5b6c"),
)


# Scenario: `await request.form()` on 1,000 fields.

_FORM_FIELDS = [(f"field{number}", f"value {number} ✓ a&b=c") for number in range(1000)]
# Spaces become "+", and "✓", "&" and "=" become percent-escapes to decode.
_FORM_BODY = urlencode(_FORM_FIELDS).encode("ascii")
_FORM_HEADERS = (
    (b"host", b"127.0.0.1:8000"),
    (b"content-type", b"application/x-www-form-urlencoded"),
    (b"content-length", str(len(_FORM_BODY)).encode("ascii")),
)


def _form_summary(fields: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    return {
        "fields": len(fields),
        "chars": sum(len(name) + len(value) for name, value in fields),
        "last": list(fields[-1]),
    }


async def _summarize_form(request: Any) -> dict[str, Any]:
    form = await request.form()
    return _form_summary(form.multi_items())


async def _bare_form(scope: Scope, receive: Receive, send: Send) -> None:
    body = await _read_body(receive)
    await _send_json(send, _form_summary(parse_qsl(body.decode("latin-1"), keep_blank_values=True)))


# Scenario: the 20 values of a query string. The query-headers and query-parser
# scenarios of `benches.run` send the same one.

QUERY_PAIRS = [
    ("q", "rust asgi framework"),
    ("page", "3"),
    ("per_page", "50"),
    ("sort", "-created"),
    ("lang", "en-GB"),
    ("tag", "web"),
    ("tag", "async"),
    ("min_price", "10.5"),
    ("max_price", "99"),
    ("currency", "EUR"),
    ("city", "Zürich"),
    ("from", "2024-01-01"),
    ("to", "2024-12-31"),
    ("include", "author,comments"),
    ("fields", "id,title,price"),
    ("debug", ""),
    ("session", "a1b2c3d4e5f6"),
    ("ref", "http://127.0.0.1:8000/search?a=1&b=2"),
    ("utm_source", "newsletter"),
    ("utm_medium", "email"),
]
QUERY_STRING = urlencode(QUERY_PAIRS).encode("ascii")
QUERY_KEYS = tuple(dict.fromkeys(key for key, _ in QUERY_PAIRS if key != "tag"))


def _query_summary(values: list[str], tags: list[str]) -> dict[str, Any]:
    return {"params": len(values) + len(tags), "chars": sum(len(value) for value in values), "tags": tags}


async def _summarize_query(request: Any) -> dict[str, Any]:
    params = request.query_params
    return _query_summary([params[key] for key in QUERY_KEYS], params.getlist("tag"))


async def _bare_query(scope: Scope, receive: Receive, send: Send) -> None:
    pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    tags = [value for key, value in pairs if key == "tag"]
    await _send_json(send, _query_summary([params[key] for key in QUERY_KEYS], tags))


# Scenario: header lookups, near the start, in the middle and at the end of the list,
# and two misses.


async def _summarize_headers(request: Any) -> dict[str, Any]:
    headers = request.headers
    return {
        "host": headers["host"],
        "user_agent": headers["user-agent"][:16],
        "language": headers["accept-language"],
        "request_id": headers["x-request-id"],
        "api_version": headers.get("x-api-version", "1"),
        "authorized": "authorization" in headers,
    }


async def _bare_headers(scope: Scope, receive: Receive, send: Send) -> None:
    headers: dict[bytes, str] = {}
    for key, value in scope["headers"]:
        headers.setdefault(key, value.decode("latin-1"))
    summary = {
        "host": headers[b"host"],
        "user_agent": headers[b"user-agent"][:16],
        "language": headers[b"accept-language"],
        "request_id": headers[b"x-request-id"],
        "api_version": headers.get(b"x-api-version", "1"),
        "authorized": b"authorization" in headers,
    }
    await _send_json(send, summary)


# Scenario: cookie lookups.


async def _summarize_cookies(request: Any) -> dict[str, Any]:
    cookies = request.cookies
    return {
        "session": cookies["session"],
        "csrf": cookies["csrftoken"],
        "consent": cookies.get("consent"),
        "missing": cookies.get("remember_me"),
        "count": len(cookies),
    }


def _parse_cookies(header: str) -> dict[str, str]:
    """Read cookies by Starlette's rules: split on `;` and the first `=`, strip, unquote."""
    cookies = {}
    for pair in header.split(";"):
        name, equals, value = pair.partition("=")
        if not equals:
            name, value = "", name
        name, value = name.strip(), value.strip()
        if name or value:
            cookies[name] = http_cookies._unquote(value)
    return cookies


async def _bare_cookies(scope: Scope, receive: Receive, send: Send) -> None:
    cookies: dict[str, str] = {}
    for key, value in scope["headers"]:
        if key == b"cookie":
            cookies.update(_parse_cookies(value.decode("latin-1")))
    summary = {
        "session": cookies["session"],
        "csrf": cookies["csrftoken"],
        "consent": cookies.get("consent"),
        "missing": cookies.get("remember_me"),
        "count": len(cookies),
    }
    await _send_json(send, summary)


# Contenders and scenarios in the form `benches.run` runs them.


@dataclass(frozen=True)
class RequestSideScenario:
    """One request whose endpoint reads part of it and returns a JSON summary."""

    name: str
    summary: str
    method: str
    path: str
    summarize: Callable[[Any], Any]
    bare_app: ASGIApp
    expected: dict[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = _REQUEST_HEADERS
    query_string: bytes = b""
    body: bytes = b""
    unit: str = "request"

    def build(self, column: str, package: str, runner: asyncio.Runner) -> AppContender:
        scope = build_scope(self.method, self.path, query_string=self.query_string, headers=self.headers)
        if column == BARE:
            # The bare apps handle only HTTP scopes, so they get no lifespan.
            driver = AppDriver(self.bare_app, scope, body=self.body, lifespan="off")
        else:
            app = _json_route_app(package, self.path, [self.method], self.summarize)
            driver = AppDriver(app, scope, body=self.body, lifespan="auto")
        return AppContender(runner, driver, 200, dump_json(self.expected))


REQUEST_SIDE_SCENARIOS: tuple[RequestSideScenario, ...] = (
    RequestSideScenario(
        name="form-1000",
        summary=(
            f"POST /form with a {len(_FORM_BODY)}-byte urlencoded body of {len(_FORM_FIELDS)} fields "
            "read with `await request.form()`; bare is parse_qsl on the body."
        ),
        method="POST",
        path="/form",
        summarize=_summarize_form,
        bare_app=_bare_form,
        expected=_form_summary(_FORM_FIELDS),
        headers=_FORM_HEADERS,
        body=_FORM_BODY,
    ),
    RequestSideScenario(
        name="query-params-20",
        summary=f"GET /search reading the {len(QUERY_PAIRS)} values of a {len(QUERY_STRING)}-byte query string.",
        method="GET",
        path="/search",
        summarize=_summarize_query,
        bare_app=_bare_query,
        expected=_query_summary([dict(QUERY_PAIRS)[key] for key in QUERY_KEYS], ["web", "async"]),
        query_string=QUERY_STRING,
    ),
    RequestSideScenario(
        name="header-lookups",
        summary=f"GET /headers making 4 header lookups and 2 misses on a {len(_REQUEST_HEADERS)}-header request.",
        method="GET",
        path="/headers",
        summarize=_summarize_headers,
        bare_app=_bare_headers,
        expected={
            "host": "127.0.0.1:8000",
            "user_agent": "Mozilla/5.0 (X11",
            "language": "en-GB,en;q=0.9,de;q=0.8",
            "request_id": "9f1c2e7a-5b3d-4c8e-a6f0-1d2e3f4a5b6c",
            "api_version": "1",
            "authorized": False,
        },
    ),
    RequestSideScenario(
        name="cookie-lookups",
        summary="GET /cookies reading 4 names from request.cookies, parsed from an 8-cookie header.",
        method="GET",
        path="/cookies",
        summarize=_summarize_cookies,
        bare_app=_bare_cookies,
        expected={
            "session": "0123456789abcdef0123456789abcdef",
            "csrf": "Zx8Qe1vR4tYb7uIo",
            "consent": 'yes, "all" \xc3\xbc',
            "missing": None,
            "count": 8,
        },
    ),
)
