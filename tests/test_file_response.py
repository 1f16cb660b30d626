"""`FileResponse` on starlette and rustlette: stat headers, ranges, pathsend, disconnects, memory.

Both frameworks serve the same files, whose modification times are set to fixed values,
so Last-Modified and ETag agree. Multipart boundaries are random, so they are replaced
before outcomes are compared.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from differential import Differential, Framework, Outcome, call, describe_exception, http_scope

Log = list[Any]

_CONTENT = bytes(range(256)) * 40
_SIZE = len(_CONTENT)
# A fractional modification time, because the ETag is built from `str(st_mtime)`.
_MTIME = 1_700_000_000.25


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("file-response")
    (root / "data.bin").write_bytes(_CONTENT)
    (root / "notes.txt").write_text("plain text\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "archive.tar.gz").write_bytes(b"not really gzip")
    (root / "no-extension").write_bytes(b"?")
    (root / "link.bin").symlink_to(root / "data.bin")
    (root / "folder").mkdir()
    for path in root.iterdir():
        os.utime(path, (_MTIME, _MTIME), follow_symlinks=False)
    os.utime(root / "data.bin", (_MTIME, _MTIME))
    return root


def _file_app(path: Path, **options: Any) -> Callable[[Framework], Any]:
    """Build a factory for an app whose every route returns `FileResponse(path, **options)`."""

    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.FileResponse(path, **options)

        methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]
        return fw.applications.Starlette(routes=[fw.routing.Route("/{name:path}", endpoint, methods=methods)])

    return factory


def _normalize_boundary(outcome: Outcome) -> Outcome:
    """Replace the random multipart/byteranges boundary in the headers and the body."""
    content_type = outcome.header("content-type") or ""
    if "boundary=" not in content_type:
        return outcome
    boundary = content_type.split("boundary=", 1)[1].encode("latin-1")
    headers = tuple((key, value.replace(boundary, b"<boundary>")) for key, value in outcome.headers)
    return replace(outcome, headers=headers, body=outcome.body.replace(boundary, b"<boundary>"))


def _scope(method: str = "GET", headers: dict[str, str] | None = None, *, spec_version: str | None = "2.4") -> Any:
    raw_headers = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in (headers or {}).items()]
    scope = http_scope("/", method=method, headers=raw_headers)
    scope["asgi"] = {"version": "3.0"} if spec_version is None else {"version": "3.0", "spec_version": spec_version}
    return scope


# Stat headers: Content-Length, Last-Modified and ETag.


def test_stat_headers_values(differential: Differential, files: Path) -> None:
    (outcome,) = differential.compare(_file_app(files / "data.bin"), call("GET", "/"))
    digest = hashlib.md5(f"{_MTIME}-{_SIZE}".encode(), usedforsecurity=False).hexdigest()
    assert outcome.header("etag") == f'"{digest}"'
    assert outcome.header("last-modified") == email.utils.formatdate(_MTIME, usegmt=True)
    assert outcome.header("content-length") == str(_SIZE)
    assert outcome.body == _CONTENT


def test_stat_result_sets_headers_at_init(differential: Differential, files: Path) -> None:
    def describe(fw: Framework) -> Any:
        path = files / "data.bin"
        with_stat = fw.responses.FileResponse(path, stat_result=os.stat(path))
        without_stat = fw.responses.FileResponse(path)
        return with_stat.raw_headers, without_stat.raw_headers, with_stat.stat_result == os.stat(path)

    differential.compare_call(describe, label="headers after __init__ with and without stat_result")


def _fake_stat(size: int, mtime: float = 1_000_000_000.0) -> os.stat_result:
    return os.stat_result((0o100644, 0, 0, 1, 0, 0, size, mtime, mtime, mtime))


@pytest.mark.parametrize("size", [100, _SIZE, _SIZE + 500], ids=["smaller", "same", "larger"])
@pytest.mark.parametrize("range_header", [None, "bytes=50-199", "bytes=0-9, 90-99, 10200-"])
def test_stat_result_is_trusted(
    differential: Differential, files: Path, size: int, range_header: str | None
) -> None:
    headers = {} if range_header is None else {"Range": range_header}
    factory = _file_app(files / "data.bin", stat_result=_fake_stat(size))
    differential.compare_scope(factory, _scope(headers=headers), normalize=_normalize_boundary)


def test_stat_result_for_missing_file(differential: Differential, files: Path) -> None:
    outcome = differential.compare_scope(_file_app(files / "gone.bin", stat_result=_fake_stat(10)), _scope())
    assert outcome.error is not None


@pytest.mark.parametrize("name", ["missing.bin", "folder", "link.bin", "empty.bin"])
def test_path_kinds(differential: Differential, files: Path, name: str) -> None:
    differential.compare_scope(_file_app(files / name), _scope())
    differential.compare_scope(_file_app(files / name), _scope("HEAD"))


@pytest.mark.parametrize(
    "headers",
    [
        {"ETag": '"mine"'},
        {"last-modified": "yesterday", "Content-Length": "3"},
        {"Accept-Ranges": "none"},
        {"Content-Disposition": "inline"},
    ],
    ids=str,
)
def test_given_headers_win(differential: Differential, files: Path, headers: dict[str, str]) -> None:
    differential.compare(
        _file_app(files / "data.bin", headers=headers, filename="x.bin"), call("GET", "/"), call("HEAD", "/")
    )


# Conditional requests: FileResponse leaves them to StaticFiles.


def _static_app(root: Path) -> Callable[[Framework], Any]:
    def factory(fw: Framework) -> Any:
        static = fw.module("staticfiles").StaticFiles(directory=root)
        return fw.applications.Starlette(routes=[fw.routing.Mount("/static", app=static)])

    return factory


def test_conditional_headers(differential: Differential, files: Path) -> None:
    (first,) = differential.compare(_file_app(files / "data.bin"), call("GET", "/"))
    etag = first.header("etag") or ""
    last_modified = first.header("last-modified") or ""
    conditions = [
        {"If-None-Match": etag},
        {"If-None-Match": "W/" + etag},
        {"If-None-Match": '"other"'},
        {"If-Modified-Since": last_modified},
        {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
        {"If-None-Match": etag, "Range": "bytes=0-9"},
    ]

    direct = differential.compare(_file_app(files / "data.bin"), *[call("GET", "/", headers=h) for h in conditions])
    assert [outcome.status for outcome in direct] == [200, 200, 200, 200, 200, 206]

    static = differential.compare(
        _static_app(files), *[call("GET", "/static/data.bin", headers=h) for h in conditions]
    )
    assert [outcome.status for outcome in static] == [304, 304, 200, 304, 200, 304]


# Range requests.

_RANGES = [
    "bytes=0-0",
    "bytes=0-",
    f"bytes={_SIZE - 1}-",
    f"bytes={_SIZE}-",
    f"bytes=0-{_SIZE}",
    f"bytes=0-{_SIZE * 10}",
    "bytes=-1",
    f"bytes=-{_SIZE}",
    f"bytes=-{_SIZE + 1}",
    "bytes=-0",
    "bytes=5-4",
    "bytes=100-200, 0-10",
    "bytes=0-10, 5-20, 15-30",
    "bytes=0-9, 10-19",
    "bytes=0-9, 11-19",
    "bytes=0-9, 0-9",
    "bytes=-5, 0-4",
    "bytes=0-4, 20-",
    "bytes=abc, 0-4",
    "bytes=0-4,,",
    "bytes=,",
    "bytes= 1 - 3 ",
    "bytes=1_0-2_0",
    "bytes=+5-9",
    "bytes=0x1-5",
    "bytes=0--1",
    "bytes=-5-",
    "bytes=0-4, 99999-",
    "bytes=0-4, 9-0",
    "Bytes=0-4",
    "bytes",
    "=0-4",
    "pages=1-2",
    ", ".join(f"{n * 10}-{n * 10 + 4}" for n in range(100)).join(("bytes=", "")),
    ", ".join(f"{n * 10}-{n * 10 + 4}" for n in range(101)).join(("bytes=", "")),
    "bytes=" + ",".join(["0-0"] * 100),
]


@pytest.mark.parametrize("range_header", _RANGES)
def test_range_header(differential: Differential, files: Path, range_header: str) -> None:
    outcomes = differential.compare(
        _file_app(files / "data.bin"),
        call("GET", "/", headers={"Range": range_header}),
        call("HEAD", "/", headers={"Range": range_header}),
        normalize=_normalize_boundary,
    )
    assert outcomes[0].status in (200, 206, 400, 416)
    if outcomes[0].status == 416:
        assert outcomes[0].header("content-range") == f"bytes */{_SIZE}"


def test_multipart_body_layout(differential: Differential, files: Path) -> None:
    (reference,) = differential.compare(
        _file_app(files / "notes.txt"),
        call("GET", "/", headers={"Range": "bytes=6-9, 0-4"}),
        normalize=_normalize_boundary,
    )
    outcome = _normalize_boundary(reference)
    assert outcome.header("content-type") == "multipart/byteranges; boundary=<boundary>"
    assert outcome.body == (
        b"--<boundary>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-4/11\r\n\r\nplain\r\n"
        b"--<boundary>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 6-9/11\r\n\r\ntext\r\n"
        b"--<boundary>--"
    )
    assert reference.header("content-length") == str(len(reference.body))


def test_boundary_is_random(files: Path, candidate: Framework) -> None:
    client = candidate.testclient.TestClient(_file_app(files / "data.bin")(candidate))
    types = {client.get("/", headers={"Range": "bytes=0-1, 5-6"}).headers["content-type"] for _ in range(3)}
    assert len(types) == 3


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_range_ignored_for_other_methods(differential: Differential, files: Path, method: str) -> None:
    (outcome,) = differential.compare(_file_app(files / "data.bin"), call(method, "/", headers={"Range": "bytes=0-4"}))
    assert outcome.status == 200


@pytest.mark.parametrize("status_code", [201, 203, 404, 500])
def test_range_ignored_for_other_statuses(differential: Differential, files: Path, status_code: int) -> None:
    (outcome,) = differential.compare(
        _file_app(files / "data.bin", status_code=status_code), call("GET", "/", headers={"Range": "bytes=0-4"})
    )
    assert outcome.status == status_code


def test_if_range(differential: Differential, files: Path) -> None:
    factory = _file_app(files / "data.bin")
    (first,) = differential.compare(factory, call("GET", "/"))
    etag = first.header("etag") or ""
    last_modified = first.header("last-modified") or ""
    if_ranges = [etag, last_modified, "W/" + etag, '"stale"', "", etag + " ", "Thu, 01 Jan 1970 00:00:00 GMT"]
    calls = [call("GET", "/", headers={"Range": "bytes=0-4, 8-9", "If-Range": value}) for value in if_ranges]
    calls.append(call("GET", "/", headers={"If-Range": etag}))
    calls.append(call("HEAD", "/", headers={"Range": "bytes=3-", "If-Range": etag}))
    outcomes = differential.compare(factory, *calls, normalize=_normalize_boundary)
    assert [outcome.status for outcome in outcomes] == [206, 206, 200, 200, 200, 200, 200, 200, 206]


@pytest.mark.parametrize("range_header", [None, "bytes=0-99", "bytes=3-40, 60-", "bytes=95-"])
@pytest.mark.parametrize("chunk_size", [7, 10, 100])
def test_chunking_messages(differential: Differential, files: Path, range_header: str | None, chunk_size: int) -> None:
    headers = {} if range_header is None else {"Range": range_header}

    def build(fw: Framework, log: Log) -> Any:
        response = fw.responses.FileResponse(files / "notes.txt")
        response.chunk_size = chunk_size
        return response

    _, error = _compare_raw(differential, build, _scope(headers=headers))
    assert error is None


_range_bounds = st.one_of(
    st.just(""),
    st.integers(0, _SIZE + 20).map(str),
    st.integers(-3, 10**30).map(str),
    st.sampled_from([" 5", "5 ", "+3", "1_0", "x", "-", "0x1", "١", "5e1"]),
)
_range_specs = st.one_of(
    st.builds(lambda start, end: f"{start}-{end}", _range_bounds, _range_bounds),
    st.sampled_from(["", " ", "-", "abc", "5", "--3"]),
)
_range_units = st.sampled_from(["bytes", "BYTES", " bytes ", "byte", "", "items"])
_range_headers = st.one_of(
    st.builds(lambda unit, specs: f"{unit}={','.join(specs)}", _range_units, st.lists(_range_specs, max_size=6)),
    st.text(max_size=20),
)


def _parse_outcome(fw: Framework, header: str, size: int) -> Any:
    responses = fw.responses
    try:
        return responses.FileResponse._parse_range_header(header, size)
    except responses.MalformedRangeHeader as exc:
        return ("malformed", exc.content)
    except responses.RangeNotSatisfiable as exc:
        return ("unsatisfiable", exc.max_size)


@given(header=_range_headers, size=st.integers(1, 1000))
def test_parse_range_header_matches(differential: Differential, header: str, size: int) -> None:
    expected = _parse_outcome(differential.reference, header, size)
    assert _parse_outcome(differential.candidate, header, size) == expected


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_range_headers.filter(lambda text: text.isascii()), method=st.sampled_from(["GET", "HEAD"]))
def test_range_header_on_the_wire_matches(differential: Differential, files: Path, header: str, method: str) -> None:
    differential.compare_scope(
        _file_app(files / "data.bin"), _scope(method, {"Range": header}), normalize=_normalize_boundary
    )


# Content-Disposition and Content-Type.


@pytest.mark.parametrize(
    "filename",
    [
        "report.pdf",
        "with space.txt",
        "résumé.pdf",
        "数据.csv",
        "emoji 🎉.png",
        'quote".txt',
        "semi;colon.txt",
        "percent%20.txt",
        "slash/inside.txt",
        "",
    ],
)
@pytest.mark.parametrize("disposition", ["attachment", "inline"])
def test_content_disposition(differential: Differential, files: Path, filename: str, disposition: str) -> None:
    (outcome,) = differential.compare(
        _file_app(files / "data.bin", filename=filename, content_disposition_type=disposition), call("HEAD", "/")
    )
    assert (outcome.header("content-disposition") or "").startswith(disposition)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("notes.txt", {}),
        ("archive.tar.gz", {}),
        ("no-extension", {}),
        ("data.bin", {"filename": "picture.svg"}),
        ("data.bin", {"filename": "script.js"}),
        ("data.bin", {"media_type": "text/csv"}),
        ("data.bin", {"media_type": "application/json", "filename": "x.txt"}),
    ],
    ids=str,
)
def test_content_type(differential: Differential, files: Path, name: str, options: dict[str, Any]) -> None:
    differential.compare(_file_app(files / name, **options), call("GET", "/"))


# The pathsend extension.


def _with_pathsend(scope: dict[str, Any]) -> dict[str, Any]:
    scope["extensions"] = {"http.response.pathsend": {}}
    return scope


@pytest.mark.parametrize(
    ("method", "headers", "spec_version"),
    [
        ("GET", {}, "2.4"),
        ("GET", {}, None),
        ("HEAD", {}, "2.4"),
        ("GET", {"Range": "bytes=0-9"}, "2.4"),
        ("GET", {"Range": "bytes=0-9, 20-29"}, None),
        ("GET", {"Range": "bytes=99999-"}, "2.4"),
        ("POST", {"Range": "bytes=0-9"}, "2.4"),
    ],
    ids=str,
)
def test_pathsend_extension(
    differential: Differential, files: Path, method: str, headers: dict[str, str], spec_version: str | None
) -> None:
    def build(fw: Framework, log: Log) -> Any:
        return fw.responses.FileResponse(files / "data.bin")

    log, error = _compare_raw(differential, build, _with_pathsend(_scope(method, headers, spec_version=spec_version)))
    assert error is None


def test_pathsend_message_path(differential: Differential, files: Path) -> None:
    def build(fw: Framework, log: Log) -> Any:
        return fw.responses.FileResponse(files / "link.bin", filename="x.bin")

    log, _ = _compare_raw(differential, build, _with_pathsend(_scope()))
    assert log[-1] == {"type": "http.response.pathsend", "path": str(files / "link.bin")}


# Driving the app directly, with a client that may leave early.


def _record(message: dict[str, Any]) -> dict[str, Any]:
    recorded = dict(message)
    if "body" in recorded:
        recorded["body"] = bytes(recorded["body"])
    if "headers" in recorded:
        recorded["headers"] = tuple((bytes(key), bytes(value)) for key, value in recorded["headers"])
    return recorded


def _run_raw(
    fw: Framework,
    build: Callable[[Framework, Log], Any],
    scope: dict[str, Any],
    *,
    leave_after_chunks: int | None = None,
    leave_by: str = "disconnect",
) -> tuple[Log, tuple[str, str] | None]:
    """Drive the app from `build(fw, log)` once and return the log and the escaped exception.

    `send` appends every message to the log. After `leave_after_chunks` body messages the
    client leaves: with `leave_by="disconnect"` that `send` never returns and `receive`
    reports `http.disconnect`, and with `leave_by="send-error"` that `send` raises
    `OSError`, as ASGI 2.4 servers do.
    """
    log: Log = []
    app = build(fw, log)

    async def drive() -> tuple[str, str] | None:
        client_gone = anyio.Event()
        request_read = False
        body_chunks = 0

        async def receive() -> dict[str, Any]:
            nonlocal request_read
            if not request_read:
                request_read = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await client_gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal body_chunks
            log.append(_record(message))
            if message["type"] == "http.response.pathsend":
                client_gone.set()
            if message["type"] != "http.response.body":
                return
            body_chunks += 1
            if not message.get("more_body", False):
                client_gone.set()
            if leave_after_chunks is not None and body_chunks >= leave_after_chunks:
                if leave_by == "send-error":
                    raise OSError("connection reset by peer")
                client_gone.set()
                await anyio.sleep_forever()

        # A response that keeps waiting after the client left fails the test instead of hanging it.
        with anyio.fail_after(10):
            try:
                await app(dict(scope), receive, send)
            except Exception as exc:
                return describe_exception(exc, fw.package)
        return None

    return log, anyio.run(drive)


def _replace_boundary(log: Log) -> Log:
    """Replace the multipart boundary, which starts each part header, in every logged message."""
    boundary = None
    for entry in log:
        if isinstance(entry, dict) and entry["type"] == "http.response.start":
            content_type = dict(entry["headers"]).get(b"content-type", b"")
            if b"boundary=" in content_type:
                boundary = content_type.split(b"boundary=", 1)[1]
    if boundary is None:
        return log
    replaced: Log = []
    for entry in log:
        if isinstance(entry, dict):
            entry = dict(entry)
            if "body" in entry:
                entry["body"] = entry["body"].replace(boundary, b"<boundary>")
            if "headers" in entry:
                entry["headers"] = tuple((k, v.replace(boundary, b"<boundary>")) for k, v in entry["headers"])
        replaced.append(entry)
    return replaced


def _compare_raw(
    differential: Differential,
    build: Callable[[Framework, Log], Any],
    scope: dict[str, Any],
    *,
    normalize: bool = True,
    **options: Any,
) -> tuple[Log, tuple[str, str] | None]:
    expected_log, expected_error = _run_raw(differential.reference, build, scope, **options)
    actual_log, actual_error = _run_raw(differential.candidate, build, scope, **options)
    if normalize:
        expected_log, actual_log = _replace_boundary(expected_log), _replace_boundary(actual_log)
    expected, actual = (expected_log, expected_error), (actual_log, actual_error)
    assert actual == expected, f"--- starlette\n{expected!r}\n--- {differential.candidate.package}\n{actual!r}"
    return expected


def _open_paths() -> set[str]:
    paths = set()
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            paths.add(os.readlink(f"/proc/self/fd/{descriptor}"))
        except OSError:
            continue
    return paths


def _small_chunk_file_app(path: Path, chunk_size: int = 100) -> Callable[[Framework, Log], Any]:
    def build(fw: Framework, log: Log) -> Any:
        async def done() -> None:
            log.append("background ran")

        response = fw.responses.FileResponse(path, background=fw.background.BackgroundTask(done))
        response.chunk_size = chunk_size
        return response

    return build


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists open files through /proc")
@pytest.mark.parametrize("range_header", [None, "bytes=100-9000", "bytes=0-999, 2000-2999, 5000-"])
def test_disconnect_stops_transfer(differential: Differential, files: Path, range_header: str | None) -> None:
    headers = {} if range_header is None else {"Range": range_header}
    log, error = _compare_raw(
        differential,
        _small_chunk_file_app(files / "data.bin"),
        _scope(headers=headers, spec_version=None),
        leave_after_chunks=4,
    )
    assert error is None
    assert sum(1 for entry in log if isinstance(entry, dict) and entry["type"] == "http.response.body") == 4
    assert log[-1] == "background ran"
    assert str(files / "data.bin") not in _open_paths()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists open files through /proc")
@pytest.mark.parametrize("range_header", [None, "bytes=100-9000", "bytes=0-999, 2000-2999"])
def test_send_error_stops_transfer(differential: Differential, files: Path, range_header: str | None) -> None:
    headers = {} if range_header is None else {"Range": range_header}
    log, error = _compare_raw(
        differential,
        _small_chunk_file_app(files / "data.bin"),
        _scope(headers=headers),
        leave_after_chunks=3,
        leave_by="send-error",
    )
    assert error == ("builtins.OSError", "connection reset by peer")
    assert "background ran" not in log
    assert str(files / "data.bin") not in _open_paths()


def test_disconnect_ignored_for_head(differential: Differential, files: Path) -> None:
    log, error = _compare_raw(
        differential, _small_chunk_file_app(files / "data.bin"), _scope("HEAD", spec_version=None)
    )
    assert error is None
    assert log[-1] == "background ran"


def test_file_shorter_than_stat_result(differential: Differential, files: Path) -> None:
    def build(fw: Framework, log: Log) -> Any:
        return fw.responses.FileResponse(files / "notes.txt", stat_result=_fake_stat(100))

    for header in ("bytes=0-1, 5-50", "bytes=5-50", "bytes=50-60"):
        _compare_raw(differential, build, _scope(headers={"Range": header}))


def test_websocket_denial(differential: Differential, files: Path) -> None:
    scope = http_scope("/")
    scope.update(type="websocket", scheme="ws", extensions={"websocket.http.response": {}})
    del scope["method"]

    def build(fw: Framework, log: Log) -> Any:
        return fw.responses.FileResponse(files / "notes.txt", status_code=403, headers={"Range": "ignored"})

    log, error = _compare_raw(differential, build, scope)
    assert error is None
    assert log[0]["type"] == "websocket.http.response.start"


# Memory: a large file streams in chunks and is never held whole.

_MEMORY_SCRIPT = textwrap.dedent(
    """
    import importlib, json, resource, sys, tracemalloc
    import anyio

    package, path, small_path = sys.argv[1:4]
    responses = importlib.import_module(package + ".responses")
    size = int(sys.argv[4])
    half = size // 2
    cases = [
        ("whole", None, "2.4"),
        ("whole-asgi-2.0", None, None),
        ("single-range", "bytes=1000-%d" % (size - 1000), "2.4"),
        ("two-ranges", "bytes=0-%d, %d-" % (half, half + 10), None),
    ]

    def scope(range_header, spec_version):
        headers = [(b"host", b"127.0.0.1")]
        if range_header is not None:
            headers.append((b"range", range_header.encode("latin-1")))
        asgi = {"version": "3.0"}
        if spec_version is not None:
            asgi["spec_version"] = spec_version
        return {
            "type": "http", "asgi": asgi, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        }

    async def serve(target, range_header, spec_version):
        sent = 0

        async def receive():
            await anyio.sleep_forever()

        async def send(message):
            nonlocal sent
            sent += len(message.get("body", b""))

        await responses.FileResponse(target)(scope(range_header, spec_version), receive, send)
        return sent

    async def main():
        results = {}
        for name, range_header, spec_version in cases:
            # A small file first, so that imports, caches and worker threads exist before measuring.
            await serve(small_path, range_header and "bytes=0-10, 20-30", spec_version)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            tracemalloc.start()
            baseline = tracemalloc.get_traced_memory()[0]
            sent = await serve(path, range_header, spec_version)
            peak = tracemalloc.get_traced_memory()[1] - baseline
            tracemalloc.stop()
            rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
            results[name] = {"sent": sent, "traced_peak": peak, "rss_growth": rss_growth}
        print(json.dumps(results))

    anyio.run(main)
    """
)

_MEMORY_FILE_SIZE = 256 * 1024 * 1024


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_large_file_memory_is_bounded(candidate: Framework, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        # A sparse file: the size is set without writing 256 MiB to disk.
        handle.truncate(_MEMORY_FILE_SIZE)
    small = tmp_path / "small.bin"
    small.write_bytes(b"s" * 100_000)

    completed = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, candidate.package, str(big), str(small), str(_MEMORY_FILE_SIZE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)

    chunk_size = candidate.responses.FileResponse.chunk_size
    # Python allocations: a few chunks in flight plus fixed overhead, 1 MiB at 64 KiB chunks.
    traced_bound = 8 * chunk_size + 512 * 1024
    # Resident memory also counts allocations outside Python's allocator, such as the
    # extension's, and pages of code loaded late, so its bound is looser but far below the file size.
    rss_bound = 16 * 1024 * 1024
    assert results["whole"]["sent"] == _MEMORY_FILE_SIZE
    assert results["single-range"]["sent"] == _MEMORY_FILE_SIZE - 1999
    for name, result in results.items():
        assert result["traced_peak"] <= traced_bound, (name, result)
        assert result["rss_growth"] <= rss_bound, (name, result)
