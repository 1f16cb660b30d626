"""Time the same requests on rustlette, on starlette and on a bare ASGI app.

Run from the repository root with `python -m benches.run` or `python benches/run.py`.
`--quick` makes a short run, `--scenario NAME` (repeatable) picks scenarios,
`--list` prints them, and `--self-check` runs starlette in the rustlette column to
show the noise. The three contenders of a scenario are sampled in turn
(rustlette, starlette, bare, and again) in one process, and the table reports the
median time per request of each and rustlette's time divided by the others'.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

if __package__ in (None, ""):
    # Run as a script: make `benches` importable from the repository root.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benches._harness import (  # noqa: E402
    BARE,
    COLUMNS,
    PLAIN_REQUEST_HEADERS,
    RUSTLETTE,
    STARLETTE,
    AppContender,
    CallContender,
    Contender,
    Settings,
    add_self_check_argument,
    add_timing_arguments,
    begin_run,
    describe_load,
    dump_json,
    per_round_ratio,
    sample_in_turn,
    send_response,
    symbol,
)
from benches.driver import AppDriver, ASGIApp, Receive, ResponseMismatch, Scope, Send, build_scope  # noqa: E402
from benches.forms import FORM_SCENARIOS, FormScenario  # noqa: E402
from benches.request_side import (  # noqa: E402
    QUERY_KEYS,
    QUERY_PAIRS,
    QUERY_STRING,
    REQUEST_SIDE_SCENARIOS,
    RequestSideScenario,
)
from benches.responses import RESPONSE_SCENARIOS, ResponseScenario  # noqa: E402
from benches.routing import ROUTING_SCENARIOS, RoutingScenario  # noqa: E402

_NOT_AVAILABLE = "not available"


# Scenario: plaintext GET.

_PLAINTEXT = b"Hello, World!"


def _plaintext_app(package: str) -> ASGIApp:
    starlette_class = symbol(package, "applications", "Starlette")
    route_class = symbol(package, "routing", "Route")
    plain_text_response = symbol(package, "responses", "PlainTextResponse")

    async def plaintext(request: Any) -> Any:
        return plain_text_response("Hello, World!")

    app: ASGIApp = starlette_class(routes=[route_class("/plaintext", plaintext)])
    return app


async def _bare_plaintext(scope: Scope, receive: Receive, send: Send) -> None:
    await send_response(send, _PLAINTEXT, b"text/plain; charset=utf-8")


# Scenario: JSON GET with a payload of about 1 KiB.

_JSON_PAYLOAD: dict[str, Any] = {
    "page": 1,
    "per_page": 9,
    "total": 9,
    "next": None,
    "items": [
        {
            "id": number,
            "name": f"Item number {number}",
            "price": round(9.99 + number * 1.5, 2),
            "tags": ["alpha", "beta", "gamma"],
            "in_stock": number % 2 == 0,
            "rating": None,
        }
        for number in range(9)
    ],
}


def _json_app(package: str) -> ASGIApp:
    starlette_class = symbol(package, "applications", "Starlette")
    route_class = symbol(package, "routing", "Route")
    json_response = symbol(package, "responses", "JSONResponse")

    async def listing(request: Any) -> Any:
        return json_response(_JSON_PAYLOAD)

    app: ASGIApp = starlette_class(routes=[route_class("/items", listing)])
    return app


async def _bare_json(scope: Scope, receive: Receive, send: Send) -> None:
    await send_response(send, dump_json(_JSON_PAYLOAD), b"application/json")


# Scenario: a path parameter on the last of 100 routes.

_ROUTE_COUNT = 100
_USER_PREFIX = "/api/v1/users/"


def _path_param_app(package: str) -> ASGIApp:
    starlette_class = symbol(package, "applications", "Starlette")
    route_class = symbol(package, "routing", "Route")
    plain_text_response = symbol(package, "responses", "PlainTextResponse")

    async def item_detail(request: Any) -> Any:
        return plain_text_response(f"item {request.path_params['item_id']}")

    async def user_detail(request: Any) -> Any:
        return plain_text_response(f"user {request.path_params['user_id'] + 1}")

    # The decoys share the "/api/v1/" prefix, so each regex reads a few characters
    # before it fails, as it would in a real API.
    routes = [route_class(f"/api/v1/items{number}/{{item_id}}", item_detail) for number in range(_ROUTE_COUNT - 1)]
    routes.append(route_class(_USER_PREFIX + "{user_id:int}", user_detail))
    app: ASGIApp = starlette_class(routes=routes)
    return app


async def _bare_path_param(scope: Scope, receive: Receive, send: Send) -> None:
    path: str = scope["path"]
    user_id = path[len(_USER_PREFIX) :]
    if path.startswith(_USER_PREFIX) and user_id.isascii() and user_id.isdigit():
        await send_response(send, f"user {int(user_id) + 1}".encode(), b"text/plain; charset=utf-8")
    else:
        await send_response(send, b"Not Found", b"text/plain; charset=utf-8", status=404)


# Scenario: 20 query parameters and 15 request headers read by the endpoint. The query
# string is the one the query-params-20 scenario of benches/request_side.py sends.

_REQUEST_HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    (b"accept", b"application/json, text/plain, */*"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
    (b"accept-language", b"en-GB,en;q=0.9,de;q=0.8"),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    (b"cookie", b"session=0123456789abcdef; theme=dark"),
    (b"referer", b"http://127.0.0.1:8000/search"),
    (b"dnt", b"1"),
    (b"sec-fetch-mode", b"cors"),
    (b"sec-fetch-site", b"same-origin"),
    (b"x-forwarded-for", b"127.0.0.1"),
    (b"x-forwarded-proto", b"http"),
    (b"x-request-id", b"9f1c2e7a-5b3d-4c8e-a6f0-1d2e3f4a5b6c"),
]


def _search_summary(
    values: list[str], tags: list[str], user_agent: str, language: str, request_id: str, api_version: str
) -> dict[str, Any]:
    """Build the small JSON document that every contender of the scenario returns."""
    return {
        "params": len(values) + len(tags),
        "chars": sum(len(value) for value in values),
        "tags": tags,
        "user_agent": user_agent[:16],
        "language": language,
        "request_id": request_id,
        "api_version": api_version,
    }


def _query_headers_app(package: str) -> ASGIApp:
    starlette_class = symbol(package, "applications", "Starlette")
    route_class = symbol(package, "routing", "Route")
    json_response = symbol(package, "responses", "JSONResponse")

    async def search(request: Any) -> Any:
        params = request.query_params
        headers = request.headers
        values = [params[key] for key in QUERY_KEYS]
        summary = _search_summary(
            values,
            params.getlist("tag"),
            headers["user-agent"],
            headers["accept-language"],
            headers["x-request-id"],
            headers.get("x-api-version", "1"),
        )
        return json_response(summary)

    app: ASGIApp = starlette_class(routes=[route_class("/search", search)])
    return app


async def _bare_query_headers(scope: Scope, receive: Receive, send: Send) -> None:
    pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    headers: dict[bytes, str] = {}
    for key, value in scope["headers"]:
        headers.setdefault(key, value.decode("latin-1"))
    summary = _search_summary(
        [params[key] for key in QUERY_KEYS],
        [value for key, value in pairs if key == "tag"],
        headers[b"user-agent"],
        headers[b"accept-language"],
        headers[b"x-request-id"],
        headers.get(b"x-api-version", "1"),
    )
    await send_response(send, dump_json(summary), b"application/json")


def _expected_search_body() -> bytes:
    values = dict(QUERY_PAIRS)
    summary = _search_summary(
        [values[key] for key in QUERY_KEYS],
        ["web", "async"],
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "en-GB,en;q=0.9,de;q=0.8",
        "9f1c2e7a-5b3d-4c8e-a6f0-1d2e3f4a5b6c",
        "1",
    )
    return dump_json(summary)


# Scenario: the query-string parser alone.


def _parse_query_bytes(raw: bytes) -> list[tuple[str, str]]:
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True)


# Scenarios defined here: HTTP requests and the query-string parser.


@dataclass(frozen=True)
class _HttpScenario:
    """One GET request sent to an app built on each framework and to a bare app."""

    name: str
    summary: str
    path: str
    make_app: Callable[[str], ASGIApp]
    bare_app: ASGIApp
    expected_body: bytes
    query_string: bytes = b""
    headers: Sequence[tuple[bytes, bytes]] = PLAIN_REQUEST_HEADERS
    expected_status: int = 200
    unit: str = "request"

    def build(self, column: str, package: str, runner: asyncio.Runner) -> Contender:
        scope = build_scope("GET", self.path, query_string=self.query_string, headers=self.headers)
        if column == BARE:
            # The bare apps handle only HTTP scopes, so they get no lifespan.
            driver = AppDriver(self.bare_app, scope, lifespan="off")
        else:
            driver = AppDriver(self.make_app(package), scope, lifespan="auto")
        return AppContender(runner, driver, self.expected_status, self.expected_body)


@dataclass(frozen=True)
class _ParserScenario:
    """`QueryParams(raw)` on each framework against `urllib.parse.parse_qsl`."""

    name: str
    summary: str
    raw: bytes
    expected: list[tuple[str, str]] = field(default_factory=list)
    unit: str = "call"

    def build(self, column: str, package: str, runner: asyncio.Runner) -> Contender:
        if column == BARE:
            return CallContender(_parse_query_bytes, self.raw, list)
        query_params = symbol(package, "datastructures", "QueryParams")
        return CallContender(query_params, self.raw, _query_params_items)


def _query_params_items(query_params: Any) -> object:
    return list(query_params.multi_items())


_Scenario = _HttpScenario | _ParserScenario | RoutingScenario | ResponseScenario | RequestSideScenario | FormScenario

SCENARIOS: tuple[_Scenario, ...] = (
    _HttpScenario(
        name="plaintext",
        summary="GET /plaintext returning PlainTextResponse('Hello, World!') from one route.",
        path="/plaintext",
        make_app=_plaintext_app,
        bare_app=_bare_plaintext,
        expected_body=_PLAINTEXT,
    ),
    _HttpScenario(
        name="json-1k",
        summary=f"GET /items returning a {len(dump_json(_JSON_PAYLOAD))}-byte JSONResponse built per request.",
        path="/items",
        make_app=_json_app,
        bare_app=_bare_json,
        expected_body=dump_json(_JSON_PAYLOAD),
    ),
    _HttpScenario(
        name="path-param-100",
        summary="GET /api/v1/users/42 matching '/api/v1/users/{user_id:int}', the last of 100 routes.",
        path="/api/v1/users/42",
        make_app=_path_param_app,
        bare_app=_bare_path_param,
        expected_body=b"user 43",
    ),
    _HttpScenario(
        name="query-headers",
        summary=(
            f"GET /search with {len(QUERY_PAIRS)} query parameters and {len(_REQUEST_HEADERS)} headers; "
            "the endpoint reads every parameter and 4 headers and returns a small JSON."
        ),
        path="/search",
        make_app=_query_headers_app,
        bare_app=_bare_query_headers,
        expected_body=_expected_search_body(),
        query_string=QUERY_STRING,
        headers=tuple(_REQUEST_HEADERS),
    ),
    _ParserScenario(
        name="query-parser",
        summary=(
            f"QueryParams(raw) on a {len(QUERY_PAIRS)}-parameter, {len(QUERY_STRING)}-byte query string; "
            "bare is parse_qsl(raw.decode('latin-1'), keep_blank_values=True)."
        ),
        raw=QUERY_STRING,
        expected=list(QUERY_PAIRS),
    ),
    # Larger route tables, defined with the routing benchmark in benches/routing.py.
    *ROUTING_SCENARIOS,
    # Response classes, defined with their own benchmark in benches/responses.py.
    *RESPONSE_SCENARIOS,
    # What endpoints read from a request, defined in benches/request_side.py.
    *REQUEST_SIDE_SCENARIOS,
    # Multipart forms posted in chunks, defined in benches/forms.py.
    *FORM_SCENARIOS,
)


# Running a scenario.


@dataclass
class _Result:
    """Per-request medians in microseconds, rustlette's ratios, and why a column has none."""

    scenario: str
    unit: str
    medians: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def _build_contenders(
    scenario: _Scenario, packages: Mapping[str, str], runner: asyncio.Runner, result: _Result
) -> dict[str, Contender]:
    """Build and check every contender. A rustlette problem goes into `result` and is not raised.

    `packages` maps each framework column to the package its app is built from.
    """
    contenders: dict[str, Contender] = {}
    outputs: dict[str, object] = {}
    for column in COLUMNS:
        contender = None
        try:
            contender = scenario.build(column, packages.get(column, ""), runner)
            outputs[column] = contender.check()
        except Exception as error:
            # A half-finished rustlette must not stop the starlette and bare columns.
            if column != RUSTLETTE:
                raise
            if contender is not None:
                contender.close()
            result.problems[column] = _describe_problem(error)
            continue
        contenders[column] = contender

    if isinstance(scenario, _ParserScenario):
        expected: object = scenario.expected
    else:
        expected = outputs[STARLETTE]
    for column, output in outputs.items():
        if output != expected:
            if column != RUSTLETTE:
                raise ResponseMismatch(f"{scenario.name}: {column} returned {output!r}, expected {expected!r}")
            result.problems[column] = f"differs from starlette: {output!r} != {expected!r}"
            contenders.pop(column).close()
    return contenders


def _describe_problem(error: Exception) -> str:
    if isinstance(error, ImportError | AttributeError):
        return f"{_NOT_AVAILABLE}: {type(error).__name__}: {error}"
    if isinstance(error, ResponseMismatch):
        return f"wrong response: {error}"
    return f"failed: {type(error).__name__}: {error}"


def _run_scenario(
    scenario: _Scenario, settings: Settings, packages: Mapping[str, str], runner: asyncio.Runner
) -> _Result:
    result = _Result(scenario.name, scenario.unit)
    contenders = _build_contenders(scenario, packages, runner, result)

    samples = sample_in_turn(contenders, settings)
    for column, contender in contenders.items():
        contender.close()
        result.medians[column] = statistics.median(samples[column])

    if RUSTLETTE in samples:
        for other in (STARLETTE, BARE):
            result.ratios[other] = per_round_ratio(samples[RUSTLETTE], samples[other])
    return result


# Output.

_ROW = "{:<16} {:>14} {:>14} {:>10} {:>14} {:>9}"


def _format_row(result: _Result) -> str:
    def cell(column: str) -> str:
        if column in result.medians:
            return f"{result.medians[column]:.2f}"
        return "n/a" if result.problems.get(column, "").startswith(_NOT_AVAILABLE) else "error"

    def ratio(other: str) -> str:
        return f"{result.ratios[other]:.2f}" if other in result.ratios else "-"

    return _ROW.format(result.scenario, cell(RUSTLETTE), cell(STARLETTE), cell(BARE), ratio(STARLETTE), ratio(BARE))


def _parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [scenario.name for scenario in SCENARIOS]
    parser = argparse.ArgumentParser(prog="python -m benches.run", description=__doc__.splitlines()[0])
    add_timing_arguments(parser, "scenario")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this scenario, and repeat the option for more (one of: {', '.join(names)})",
    )
    parser.add_argument("--list", action="store_true", help="print the scenarios and exit")
    add_self_check_argument(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    if arguments.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:<16} {scenario.summary}")
        return 0

    selected = [s for s in SCENARIOS if arguments.scenario is None or s.name in arguments.scenario]
    packages = {RUSTLETTE: STARLETTE if arguments.self_check else RUSTLETTE, STARLETTE: STARLETTE}
    settings = begin_run(arguments, COLUMNS, self_check=arguments.self_check)
    print()
    print("Median µs per request (per call for query-parser). Each ratio is rustlette's time divided")
    print("by the other column's, the median over rounds: below 1.00 rustlette is faster.")
    print(_ROW.format("scenario", "rustlette µs", "starlette µs", "bare µs", "rs/starlette", "rs/bare"))

    results = []
    with asyncio.Runner() as runner:
        for scenario in selected:
            result = _run_scenario(scenario, settings, packages, runner)
            results.append(result)
            print(_format_row(result), flush=True)

    print(f"At the end: {describe_load()}")
    notes = [(result.scenario, column, problem) for result in results for column, problem in result.problems.items()]
    if notes:
        print()
        for scenario_name, column, problem in notes:
            print(f"{scenario_name}: {column} {problem}")
    failed = any(not problem.startswith(_NOT_AVAILABLE) for _, _, problem in notes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
