"""Time the response classes on rustlette, starlette, a bare ASGI app and orjson.

Run from the repository root with `python -m benches.responses` or
`python benches/responses.py`. `--quick` makes a short run, `--scenario NAME`
(repeatable) picks scenarios and `--self-check` runs starlette in the rustlette column
to show the noise. The JSON scenarios have a fourth column, orjson: for
construction it is `orjson.dumps(content)` alone, and end to end it is a bare ASGI app
that renders with orjson. Every payload is chosen so that orjson's bytes equal
starlette's, and every column's output is compared with starlette's before timing.

`RESPONSE_SCENARIOS` offers the same scenarios to `benches.run`, which times the
rustlette, starlette and bare columns only.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import email.utils
import functools
import hashlib
import importlib
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.to_thread

if __package__ in (None, ""):
    # Run as a script: make `benches` importable from the repository root.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benches._harness import (  # noqa: E402
    BARE,
    PLAIN_REQUEST_HEADERS,
    RUSTLETTE,
    STARLETTE,
    AppContender,
    CallContender,
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

ORJSON = "orjson"
COLUMNS = (RUSTLETTE, STARLETTE, BARE, ORJSON)


def _import_orjson() -> ModuleType | None:
    # Without orjson the table shows "-" in its column.
    try:
        return importlib.import_module("orjson")
    except ImportError:
        return None


_ORJSON_MODULE = _import_orjson()


def _dump_orjson(content: Any) -> bytes:
    assert _ORJSON_MODULE is not None, "the orjson column is built only when orjson is installed"
    rendered: bytes = _ORJSON_MODULE.dumps(content)
    return rendered


def _require_orjson() -> None:
    if _ORJSON_MODULE is None:
        raise _Unavailable("orjson is not installed")


# Payloads. Floats have at most two decimals, so orjson and json.dumps spell them alike.


def _item(number: int) -> dict[str, Any]:
    return {
        "id": number,
        "name": f"Item number {number}",
        "description": "Größe M, Farbe grün ✓" if number % 3 == 0 else "size M, colour green",
        "price": round(9.99 + number * 1.25, 2),
        "tags": ["alpha", "beta", "gamma"],
        "in_stock": number % 2 == 0,
        "rating": None,
    }


def _payload(items: int) -> dict[str, Any]:
    return {"page": 1, "per_page": items, "total": items, "next": None, "items": [_item(n) for n in range(items)]}


_PAYLOAD_1K = _payload(7)
_PAYLOAD_1M = _payload(6760)


class _Unavailable(Exception):
    """A column that a scenario does not have, such as orjson for a file."""


# Scenario: JSONResponse(content) alone, rendering included.


def _response_body(response: Any) -> bytes:
    return bytes(response.body)


@dataclass(frozen=True)
class _JsonBuildScenario:
    """`JSONResponse(content)` per call. The bare column is the `json.dumps` call starlette makes."""

    name: str
    summary: str
    content: dict[str, Any]
    unit: str = "call"

    def build(self, column: str, package: str, runner: asyncio.Runner) -> CallContender:
        if column == BARE:
            return CallContender(dump_json, self.content, bytes)
        if column == ORJSON:
            _require_orjson()
            return CallContender(_dump_orjson, self.content, bytes)
        return CallContender(symbol(package, "responses", "JSONResponse"), self.content, _response_body)


# Scenarios driven through an app: JSON, streaming and files.


def _single_route_app(package: str, path: str, endpoint: Callable[[Any], Any]) -> ASGIApp:
    starlette_class = symbol(package, "applications", "Starlette")
    route_class = symbol(package, "routing", "Route")
    app: ASGIApp = starlette_class(routes=[route_class(path, endpoint)])
    return app


def _json_app(content: dict[str, Any]) -> Callable[[str], ASGIApp]:
    def make_app(package: str) -> ASGIApp:
        json_response = symbol(package, "responses", "JSONResponse")

        async def endpoint(request: Any) -> Any:
            return json_response(content)

        return _single_route_app(package, "/json", endpoint)

    return make_app


def _bare_json_app(dump: Callable[[Any], bytes], content: dict[str, Any]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send_response(send, dump(content), b"application/json")

    return app


_STREAM_SIZE = 1024 * 1024
_STREAM_TYPE = b"application/octet-stream"


def _stream_chunks(chunk_size: int) -> list[bytes]:
    block = bytes(range(256)) * (chunk_size // 256)
    return [block] * (_STREAM_SIZE // chunk_size)


def _streaming_app(chunk_size: int) -> Callable[[str], ASGIApp]:
    chunks = _stream_chunks(chunk_size)

    def make_app(package: str) -> ASGIApp:
        streaming_response = symbol(package, "responses", "StreamingResponse")

        async def generate() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        async def endpoint(request: Any) -> Any:
            return streaming_response(generate(), media_type=_STREAM_TYPE.decode("latin-1"))

        return _single_route_app(package, "/stream", endpoint)

    return make_app


def _bare_streaming_app(chunk_size: int) -> ASGIApp:
    chunks = _stream_chunks(chunk_size)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", _STREAM_TYPE)]})
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


_FILE_SIZE = 1024 * 1024
_FILE_CHUNK = 64 * 1024


@functools.cache
def _served_file() -> Path:
    """Write the 1 MiB file that the file scenarios serve, once per process, and remove it at exit."""
    directory = Path(tempfile.mkdtemp(prefix="rustlette-bench-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "payload.bin"
    path.write_bytes(bytes(range(256)) * (_FILE_SIZE // 256))
    return path


def _file_app(package: str) -> ASGIApp:
    file_response = symbol(package, "responses", "FileResponse")
    path = _served_file()

    async def endpoint(request: Any) -> Any:
        return file_response(path)

    return _single_route_app(package, "/file", endpoint)


def _parse_single_range(scope: Scope) -> tuple[int, int] | None:
    """Read `bytes=START-END` from the request, the only form the bare file app serves."""
    for key, value in scope["headers"]:
        if key == b"range":
            start, end = value.decode("latin-1").removeprefix("bytes=").split("-")
            return int(start), int(end) + 1
    return None


async def _bare_file_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve the file with the headers FileResponse sends, reading it in worker threads as FileResponse does."""
    path = _served_file()
    stat = await anyio.to_thread.run_sync(os.stat, path)
    digest = hashlib.md5(f"{stat.st_mtime}-{stat.st_size}".encode(), usedforsecurity=False).hexdigest()
    span = _parse_single_range(scope)
    start, end = span if span is not None else (0, stat.st_size)
    headers = [
        (b"content-type", b"application/octet-stream"),
        (b"accept-ranges", b"bytes"),
        (b"content-length", str(end - start).encode("latin-1")),
        (b"last-modified", email.utils.formatdate(stat.st_mtime, usegmt=True).encode("latin-1")),
        (b"etag", f'"{digest}"'.encode("latin-1")),
    ]
    if span is not None:
        headers.append((b"content-range", f"bytes {start}-{end - 1}/{stat.st_size}".encode("latin-1")))
    await send({"type": "http.response.start", "status": 200 if span is None else 206, "headers": headers})

    async with await anyio.open_file(path, "rb") as file:
        await file.seek(start)
        position = start
        while position < end:
            chunk = await file.read(min(_FILE_CHUNK, end - position))
            position += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": position < end})


_FILE_RANGE = (1000, 50999)


def _expected_file_body(span: tuple[int, int] | None) -> bytes:
    content = bytes(range(256)) * (_FILE_SIZE // 256)
    return content if span is None else content[span[0] : span[1] + 1]


@dataclass(frozen=True)
class _AppScenario:
    """One GET request to an app built on each framework, to a bare app and, for JSON, to an orjson app."""

    name: str
    summary: str
    path: str
    make_app: Callable[[str], ASGIApp]
    bare_app: Callable[[], ASGIApp]
    expected_body: Callable[[], bytes]
    orjson_app: Callable[[], ASGIApp] | None = None
    headers: tuple[tuple[bytes, bytes], ...] = PLAIN_REQUEST_HEADERS
    expected_status: int = 200
    unit: str = "request"

    def build(self, column: str, package: str, runner: asyncio.Runner) -> AppContender:
        scope = build_scope("GET", self.path, headers=self.headers)
        # The bare and orjson apps handle only HTTP scopes, so they get no lifespan.
        if column == BARE:
            driver = AppDriver(self.bare_app(), scope, lifespan="off")
        elif column == ORJSON:
            if self.orjson_app is None:
                raise _Unavailable(f"{self.name} has no orjson column")
            _require_orjson()
            driver = AppDriver(self.orjson_app(), scope, lifespan="off")
        else:
            driver = AppDriver(self.make_app(package), scope, lifespan="auto")
        return AppContender(runner, driver, self.expected_status, self.expected_body())


ResponseScenario = _JsonBuildScenario | _AppScenario

RESPONSE_SCENARIOS: tuple[ResponseScenario, ...] = (
    _JsonBuildScenario(
        name="json-build-1k",
        summary=f"JSONResponse(content) for a {len(dump_json(_PAYLOAD_1K))}-byte document, per call.",
        content=_PAYLOAD_1K,
    ),
    _JsonBuildScenario(
        name="json-build-1m",
        summary=f"JSONResponse(content) for a {len(dump_json(_PAYLOAD_1M))}-byte document, per call.",
        content=_PAYLOAD_1M,
    ),
    _AppScenario(
        name="json-e2e-1k",
        summary="GET /json returning JSONResponse of the json-build-1k document.",
        path="/json",
        make_app=_json_app(_PAYLOAD_1K),
        bare_app=lambda: _bare_json_app(dump_json, _PAYLOAD_1K),
        orjson_app=lambda: _bare_json_app(_dump_orjson, _PAYLOAD_1K),
        expected_body=lambda: dump_json(_PAYLOAD_1K),
    ),
    _AppScenario(
        name="json-e2e-1m",
        summary="GET /json returning JSONResponse of the json-build-1m document.",
        path="/json",
        make_app=_json_app(_PAYLOAD_1M),
        bare_app=lambda: _bare_json_app(dump_json, _PAYLOAD_1M),
        orjson_app=lambda: _bare_json_app(_dump_orjson, _PAYLOAD_1M),
        expected_body=lambda: dump_json(_PAYLOAD_1M),
    ),
    _AppScenario(
        name="stream-1m-1k",
        summary="GET /stream returning a 1 MiB StreamingResponse from an async generator of 1 KiB chunks.",
        path="/stream",
        make_app=_streaming_app(1024),
        bare_app=lambda: _bare_streaming_app(1024),
        expected_body=lambda: b"".join(_stream_chunks(1024)),
    ),
    _AppScenario(
        name="stream-1m-64k",
        summary="GET /stream returning a 1 MiB StreamingResponse from an async generator of 64 KiB chunks.",
        path="/stream",
        make_app=_streaming_app(64 * 1024),
        bare_app=lambda: _bare_streaming_app(64 * 1024),
        expected_body=lambda: b"".join(_stream_chunks(64 * 1024)),
    ),
    _AppScenario(
        name="file-full",
        summary="GET /file returning FileResponse of a 1 MiB file, read in 64 KiB chunks.",
        path="/file",
        make_app=_file_app,
        bare_app=lambda: _bare_file_app,
        expected_body=lambda: _expected_file_body(None),
    ),
    _AppScenario(
        name="file-range",
        summary=f"GET /file with Range: bytes={_FILE_RANGE[0]}-{_FILE_RANGE[1]} on the same file (206, 50000 bytes).",
        path="/file",
        make_app=_file_app,
        bare_app=lambda: _bare_file_app,
        expected_body=lambda: _expected_file_body(_FILE_RANGE),
        headers=(*PLAIN_REQUEST_HEADERS, (b"range", f"bytes={_FILE_RANGE[0]}-{_FILE_RANGE[1]}".encode("latin-1"))),
        expected_status=206,
    ),
)


# Running the scenarios on their own, with the orjson column.


def _build_checked(
    scenario: ResponseScenario, runner: asyncio.Runner, self_check: bool
) -> dict[str, CallContender | AppContender]:
    """Build every column of `scenario` and check that each output equals starlette's."""
    contenders: dict[str, CallContender | AppContender] = {}
    outputs: dict[str, object] = {}
    for column in COLUMNS:
        package = STARLETTE if self_check and column == RUSTLETTE else column
        try:
            contender = scenario.build(column, package, runner)
        except _Unavailable:
            continue
        outputs[column] = contender.check()
        contenders[column] = contender
    for column, output in outputs.items():
        if output != outputs[STARLETTE]:
            raise ResponseMismatch(f"{scenario.name}: {column} differs from starlette: {output!r:.300}")
    return contenders


def _run_scenario(scenario: ResponseScenario, settings: Settings, runner: asyncio.Runner, self_check: bool) -> str:
    contenders = _build_checked(scenario, runner, self_check)
    samples = sample_in_turn(contenders, settings)
    for contender in contenders.values():
        contender.close()

    def ratio(other: str) -> str:
        if other not in samples:
            return "-"
        return f"{per_round_ratio(samples[RUSTLETTE], samples[other]):.2f}"

    cells = [f"{statistics.median(samples[column]):.2f}" if column in samples else "-" for column in COLUMNS]
    return _ROW.format(scenario.name, *cells, ratio(STARLETTE), ratio(BARE), ratio(ORJSON))


_ROW = "{:<14} {:>12} {:>12} {:>10} {:>10} {:>12} {:>8} {:>10}"


def _parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [scenario.name for scenario in RESPONSE_SCENARIOS]
    parser = argparse.ArgumentParser(prog="python -m benches.responses", description=__doc__.splitlines()[0])
    add_timing_arguments(parser, "scenario")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this scenario, and repeat the option for more (one of: {', '.join(names)})",
    )
    add_self_check_argument(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    selected = [s for s in RESPONSE_SCENARIOS if arguments.scenario is None or s.name in arguments.scenario]
    orjson_version = _ORJSON_MODULE.__version__ if _ORJSON_MODULE is not None else "not installed"
    settings = begin_run(
        arguments, COLUMNS, self_check=arguments.self_check, extra_versions=[f"orjson {orjson_version}"]
    )
    print("Median µs per request (per call for json-build-*). Each ratio is rustlette's time divided by")
    print("the other column's, the median over rounds: below 1.00 rustlette is faster.")
    headings = ("rustlette µs", "starlette µs", "bare µs", "orjson µs", "rs/starlette", "rs/bare", "rs/orjson")
    print(_ROW.format("scenario", *headings))

    with asyncio.Runner() as runner:
        for scenario in selected:
            print(_run_scenario(scenario, settings, runner, arguments.self_check), flush=True)
    print(f"At the end: {describe_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
