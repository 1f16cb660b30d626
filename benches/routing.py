"""Time route matching on large route tables: rustlette, starlette and a bare ASGI app.

Run from the repository root with `python -m benches.routing` or
`python benches/routing.py`. `--quick` makes a short run and `--table NAME`
(repeatable) picks tables. For each table the run sends five requests: a static hit
on the first route, a static and a parameterised hit near the end of the table, a
miss (404) and a wrong method (405). Every request is sampled on every contender in
turn, round after round. The report gives the median time per request, rustlette's
ratios to starlette and to the bare app, and each contender's cost of the last route
relative to the first.

`ROUTING_SCENARIOS` offers a few of these requests to `benches.run` as scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    Settings,
    add_timing_arguments,
    begin_run,
    describe_load,
    per_round_ratio,
    sample_in_turn,
)
from benches.driver import AppDriver, ASGIApp, Receive, ResponseMismatch, Scope, Send, build_scope  # noqa: E402

_GITHUB_ROUTES_FILE = Path(__file__).resolve().parent / "data" / "github-api-routes.tsv"
_TEXT_PLAIN = b"text/plain; charset=utf-8"


# Route tables.


@dataclass(frozen=True)
class _RouteSpec:
    """One `Route` of a table: its methods and its path template."""

    methods: tuple[str, ...]
    path: str


def _rest_table(resources: int) -> tuple[_RouteSpec, ...]:
    """Build four GET routes per resource, `/resourcesN` down to one item of it."""
    routes = []
    for number in range(resources):
        base = f"/resources{number}"
        for path in (base, base + "/{id:int}", base + "/{id:int}/items", base + "/{id:int}/items/{item}"):
            routes.append(_RouteSpec(("GET",), path))
    return tuple(routes)


def _github_table() -> tuple[_RouteSpec, ...]:
    """Read the GitHub REST API table: one route per METHOD<TAB>PATH row."""
    routes = []
    for line in _GITHUB_ROUTES_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            method, path = line.split("\t")
            routes.append(_RouteSpec((method,), path))
    return tuple(routes)


def _route_app(package: str, routes: Sequence[_RouteSpec]) -> ASGIApp:
    """Build an app on `package` whose endpoint echoes its route template and path parameters."""
    starlette_class = importlib.import_module(f"{package}.applications").Starlette
    route_class = importlib.import_module(f"{package}.routing").Route
    plain_text_response = importlib.import_module(f"{package}.responses").PlainTextResponse

    async def endpoint(request: Any) -> Any:
        return plain_text_response(f"{request.scope['route'].path} {request.path_params!r}")

    app: ASGIApp = starlette_class(
        routes=[route_class(spec.path, endpoint, methods=list(spec.methods)) for spec in routes]
    )
    return app


# Requests.


@dataclass(frozen=True)
class _Probe:
    """One request and the response every contender must send for it."""

    label: str
    method: str
    path: str
    status: int
    body: bytes
    allow: str | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Return the headers of Starlette's PlainTextResponse for this probe, in its order."""
        headers = [] if self.allow is None else [(b"allow", self.allow.encode("latin-1"))]
        headers.append((b"content-length", str(len(self.body)).encode("latin-1")))
        headers.append((b"content-type", _TEXT_PLAIN))
        return headers


def _hit(label: str, method: str, path: str, template: str, params: dict[str, Any]) -> _Probe:
    return _Probe(label, method, path, 200, f"{template} {params!r}".encode())


def _miss(path: str) -> _Probe:
    return _Probe("miss", "GET", path, 404, b"Not Found")


def _wrong_method(method: str, path: str, route_methods: Sequence[str]) -> _Probe:
    # The Allow header joins the route's method set, whose order follows string
    # hashing. A set built as `Route.__init__` builds it iterates in the same order
    # within one process.
    methods = {name.upper() for name in route_methods}
    if "GET" in methods:
        methods.add("HEAD")
    return _Probe("wrong-method", method, path, 405, b"Method Not Allowed", ", ".join(methods))


def _rest_probes(resources: int) -> tuple[_Probe, ...]:
    last = f"/resources{resources - 1}"
    return (
        _hit("first-static", "GET", "/resources0", "/resources0", {}),
        _hit("last-static", "GET", last, last, {}),
        _hit("last-param", "GET", f"{last}/7/items/abc", last + "/{id:int}/items/{item}", {"id": 7, "item": "abc"}),
        _miss("/missing/7"),
        _wrong_method("DELETE", f"{last}/7/items/abc", ["GET"]),
    )


def _github_probes() -> tuple[_Probe, ...]:
    # The last rows are GET /user/keys, GET /user/keys/{id}, POST /user/keys and
    # DELETE /user/keys/{id}, so both late hits pass a partial match first.
    return (
        _hit("first-static", "GET", "/authorizations", "/authorizations", {}),
        _hit("last-static", "POST", "/user/keys", "/user/keys", {}),
        _hit("last-param", "DELETE", "/user/keys/5", "/user/keys/{id}", {"id": "5"}),
        _miss("/missing/7"),
        _wrong_method("PATCH", "/user/keys/5", ["GET"]),
    )


@dataclass(frozen=True)
class _Table:
    """A route table and the requests sent to it."""

    name: str
    summary: str
    routes: Callable[[], tuple[_RouteSpec, ...]]
    probes: Callable[[], tuple[_Probe, ...]]


TABLES: tuple[_Table, ...] = (
    _Table(
        "rest-120",
        "30 resources x 4 GET routes: /resourcesN, /{id:int}, /{id:int}/items, /{id:int}/items/{item}",
        lambda: _rest_table(30),
        lambda: _rest_probes(30),
    ),
    _Table("rest-300", "the same with 75 resources", lambda: _rest_table(75), lambda: _rest_probes(75)),
    _Table(
        "github-203",
        "the GitHub REST API, one Route per METHOD/PATH row of benches/data/github-api-routes.tsv",
        _github_table,
        _github_probes,
    ),
)


def _bare_app(probes: Sequence[_Probe]) -> ASGIApp:
    """Build an ASGI app that looks up each probe's response in a dict: routing at no cost."""
    responses = {(probe.method, probe.path): (probe.status, probe.headers(), probe.body) for probe in probes}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = responses[scope["method"], scope["path"]]
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})

    return app


# Contenders.


def _build_contender(
    table: _Table, probe: _Probe, column: str, package: str, runner: asyncio.Runner
) -> AppContender:
    scope = build_scope(probe.method, probe.path, headers=PLAIN_REQUEST_HEADERS)
    if column == BARE:
        # The bare app handles only HTTP scopes, so it gets no lifespan.
        driver = AppDriver(_bare_app(table.probes()), scope, lifespan="off")
    else:
        driver = AppDriver(_route_app(package, table.routes()), scope, lifespan="auto")
    return AppContender(runner, driver, probe.status, probe.body)


@dataclass(frozen=True)
class RoutingScenario:
    """One request to one table, in the form `benches.run` runs its scenarios."""

    name: str
    summary: str
    table: _Table
    label: str
    unit: str = "request"

    def build(self, column: str, package: str, runner: asyncio.Runner) -> AppContender:
        probe = next(probe for probe in self.table.probes() if probe.label == self.label)
        return _build_contender(self.table, probe, column, package, runner)


def _table_named(name: str) -> _Table:
    return next(table for table in TABLES if table.name == name)


ROUTING_SCENARIOS: tuple[RoutingScenario, ...] = (
    RoutingScenario(
        "rest300-first", "GET /resources0, the first of 300 REST routes.", _table_named("rest-300"), "first-static"
    ),
    RoutingScenario(
        "rest300-last",
        "GET /resources74/7/items/abc, the last of 300 REST routes ('{id:int}' and '{item}').",
        _table_named("rest-300"),
        "last-param",
    ),
    RoutingScenario(
        "github-last",
        "DELETE /user/keys/5, the last of the 203 GitHub API routes, after a partial match.",
        _table_named("github-203"),
        "last-param",
    ),
)


# Running a table.


def _build_checked(table: _Table, runner: asyncio.Runner) -> dict[tuple[str, str], AppContender]:
    """Build every contender of `table`, check each response and compare it with starlette's."""
    contenders: dict[tuple[str, str], AppContender] = {}
    for probe in table.probes():
        responses: dict[str, object] = {}
        for column in COLUMNS:
            contender = _build_contender(table, probe, column, column, runner)
            responses[column] = contender.check()
            contenders[probe.label, column] = contender
        for column in (RUSTLETTE, BARE):
            if responses[column] != responses[STARLETTE]:
                raise ResponseMismatch(
                    f"{table.name} {probe.method} {probe.path}: {column} sent {responses[column]!r}, "
                    f"starlette sent {responses[STARLETTE]!r}"
                )
    return contenders


def _run_table(table: _Table, settings: Settings, runner: asyncio.Runner) -> list[str]:
    """Sample every request of `table` on every contender in turn and return the report lines."""
    probes = table.probes()
    contenders = _build_checked(table, runner)
    samples = sample_in_turn(contenders, settings)
    for contender in contenders.values():
        contender.close()

    def ratio(top: tuple[str, str], bottom: tuple[str, str]) -> float:
        return per_round_ratio(samples[top], samples[bottom])

    lines = [f"{table.name}: {len(table.routes())} routes; {table.summary}"]
    lines.append(_ROW.format("request", "rustlette µs", "starlette µs", "bare µs", "rs/starlette", "rs/bare"))
    for probe in probes:
        medians = [statistics.median(samples[probe.label, column]) for column in COLUMNS]
        lines.append(
            _ROW.format(
                f"{probe.label}",
                *(f"{median:.2f}" for median in medians),
                f"{ratio((probe.label, RUSTLETTE), (probe.label, STARLETTE)):.3f}",
                f"{ratio((probe.label, RUSTLETTE), (probe.label, BARE)):.2f}",
            )
        )
    last_to_first = ", ".join(
        f"{column} {ratio(('last-param', column), ('first-static', column)):.2f}" for column in COLUMNS
    )
    lines.append(f"  last-param / first-static: {last_to_first}")
    for label in ("last-static", "last-param"):
        speedup = ratio((label, STARLETTE), (label, RUSTLETTE))
        lines.append(f"  {label}: rustlette is {speedup:.1f}x faster than starlette")
    return lines


_ROW = "  {:<14} {:>13} {:>13} {:>9} {:>13} {:>8}"


def _parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [table.name for table in TABLES]
    parser = argparse.ArgumentParser(prog="python -m benches.routing", description=__doc__.splitlines()[0])
    add_timing_arguments(parser, "table")
    parser.add_argument(
        "--table", action="append", choices=names, metavar="NAME", help=f"run only this table (one of: {', '.join(names)})"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    selected = [table for table in TABLES if arguments.table is None or table.name in arguments.table]
    settings = begin_run(arguments, COLUMNS)
    print("Median µs per request. Each ratio is the median over rounds of the per-round quotient.")

    with asyncio.Runner() as runner:
        for table in selected:
            print()
            for line in _run_table(table, settings, runner):
                print(line, flush=True)
    print(f"At the end: {describe_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
