"""Multipart form scenarios for `benches.run`: `await request.form()` on bodies in chunks.

Each scenario posts one `multipart/form-data` body, delivered in 64 KiB
`http.request` messages as a server delivers a large body, to an app built on
rustlette and to the same app built on starlette. The endpoint parses the form, reads
every field and the size of every file, closes the form and returns a JSON summary.
The bare column is a hand-written loop that only reads the body and returns the same
summary, so it shows what receiving the body costs without any parsing:

- `multipart-file-10m`: one 10 MiB file, which the spooled temporary file moves to disk
  after its first MiB;
- `multipart-fields-1000`: 1,000 short text fields;
- `multipart-mixed`: 20 text fields, 3 small files and one 300 KiB file, all kept in
  memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benches._harness import BARE, AppContender, dump_json, send_response, symbol
from benches.driver import ASGIApp, AppDriver, Receive, Scope, Send, build_scope

_CHUNK_SIZE = 64 * 1024
_BOUNDARY = b"----rustlettebench7MA4YWxkTrZu0gW"
_HEADERS = (
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"bench/1.0"),
    (b"content-type", b"multipart/form-data; boundary=" + _BOUNDARY),
)


# Bodies.


def _field(name: str, value: str) -> bytes:
    head = f'--{_BOUNDARY.decode()}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
    return head.encode() + value.encode() + b"\r\n"


def _file(name: str, filename: str, content: bytes, content_type: str = "application/octet-stream") -> bytes:
    head = (
        f'--{_BOUNDARY.decode()}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    return head.encode() + content + b"\r\n"


def _close(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + _BOUNDARY + b"--\r\n"


def _binary(size: int) -> bytes:
    # Every byte value, CR and LF among them, so the parser has delimiter candidates to reject.
    return bytes(range(256)) * (size // 256)


_FILE_10M = _close(_file("upload", "data.bin", _binary(10 * 1024 * 1024)))
_FIELDS_1000 = _close(*(_field(f"field{number}", f"value number {number}") for number in range(1000)))
_MIXED = _close(
    *(_field(f"text{number}", f"some text for field {number}, ünïcode included") for number in range(20)),
    _file("avatar", "avatar.png", _binary(4096), "image/png"),
    _file("notes", "notes.txt", b"line one\r\nline two\r\n" * 100, "text/plain"),
    _file("empty", "empty.txt", b"", "text/plain"),
    _file("archive", "archive.zip", _binary(300 * 1024), "application/zip"),
)


def _summarize(items: Sequence[tuple[str, str | int]]) -> dict[str, int]:
    """Count the fields and files and add up their lengths, the same way for every column."""
    fields = [value for _, value in items if isinstance(value, str)]
    files = [value for _, value in items if isinstance(value, int)]
    return {"fields": len(fields), "characters": sum(map(len, fields)), "files": len(files), "bytes": sum(files)}


# Apps.


def _form_app(package: str) -> ASGIApp:
    starlette_class = symbol(package, "applications", "Starlette")
    route_class = symbol(package, "routing", "Route")
    json_response = symbol(package, "responses", "JSONResponse")

    async def upload(request: Any) -> Any:
        items: list[tuple[str, str | int]] = []
        async with request.form() as form:
            for name, value in form.multi_items():
                items.append((name, value if isinstance(value, str) else value.size))
        return json_response(_summarize(items))

    app: ASGIApp = starlette_class(routes=[route_class("/upload", upload, methods=["POST"])])
    return app


def _bare_app(summary: dict[str, int]) -> ASGIApp:
    body = dump_json(summary)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if not message.get("more_body", False):
                break
        await send_response(send, body, b"application/json")

    return app


@dataclass(frozen=True)
class FormScenario:
    """One multipart body posted in 64 KiB messages and parsed with `request.form()`."""

    name: str
    summary: str
    body: bytes
    expected: dict[str, int]
    unit: str = "request"

    def build(self, column: str, package: str, runner: asyncio.Runner) -> AppContender:
        scope = build_scope("POST", "/upload", headers=_HEADERS)
        if column == BARE:
            driver = AppDriver(_bare_app(self.expected), scope, body=self.body, lifespan="off", chunk_size=_CHUNK_SIZE)
        else:
            driver = AppDriver(_form_app(package), scope, body=self.body, lifespan="auto", chunk_size=_CHUNK_SIZE)
        return AppContender(runner, driver, 200, dump_json(self.expected))


FORM_SCENARIOS: tuple[FormScenario, ...] = (
    FormScenario(
        name="multipart-file-10m",
        summary="POST one 10 MiB file as multipart/form-data in 64 KiB messages; request.form(), then close.",
        body=_FILE_10M,
        expected={"fields": 0, "characters": 0, "files": 1, "bytes": 10 * 1024 * 1024},
    ),
    FormScenario(
        name="multipart-fields-1000",
        summary=f"POST 1,000 text fields as a {len(_FIELDS_1000)}-byte multipart/form-data body; request.form().",
        body=_FIELDS_1000,
        expected=_summarize([(f"field{number}", f"value number {number}") for number in range(1000)]),
    ),
    FormScenario(
        name="multipart-mixed",
        summary=f"POST 20 text fields and 4 files, {len(_MIXED)} bytes in 64 KiB messages; request.form().",
        body=_MIXED,
        expected=_summarize(
            [
                *((f"text{number}", f"some text for field {number}, ünïcode included") for number in range(20)),
                ("avatar", 4096),
                ("notes", 2000),
                ("empty", 0),
                ("archive", 300 * 1024),
            ]
        ),
    ),
)
