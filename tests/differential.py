"""Run one app under starlette and under rustlette and compare what each sends.

A test writes a factory that receives a `Framework` and builds its app from that
framework's modules only, for example `fw.applications.Starlette` and
`fw.routing.Route`. The harness builds the app once per framework and sends the same
requests through each framework's own `TestClient`. Bytes that a client would
re-encode go through a raw ASGI scope instead. It then compares status, raw headers
in order and body, or the type and message of the exception that escaped.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import anyio

ASGIApp = Callable[..., Any]
AppFactory = Callable[["Framework"], ASGIApp]
Normalizer = Callable[["Outcome"], "Outcome"]

REFERENCE = "starlette"

# Attribute name on `Framework` -> module path inside the framework package.
_MODULE_PATHS = {
    "applications": "applications",
    "background": "background",
    "concurrency": "concurrency",
    "convertors": "convertors",
    "datastructures": "datastructures",
    "endpoints": "endpoints",
    "exceptions": "exceptions",
    "formparsers": "formparsers",
    "middleware": "middleware",
    "errors_middleware": "middleware.errors",
    "exceptions_middleware": "middleware.exceptions",
    "requests": "requests",
    "responses": "responses",
    "routing": "routing",
    "status": "status",
    "testclient": "testclient",
    "types": "types",
    "websockets": "websockets",
    "exception_handler": "_exception_handler",
    "utils": "_utils",
}


class Framework:
    """The modules of one framework package, imported on first use."""

    def __init__(self, package: str) -> None:
        self.package = package

    def __getattr__(self, name: str) -> ModuleType:
        try:
            path = _MODULE_PATHS[name]
        except KeyError:
            raise AttributeError(f"Framework has no module alias {name!r}; known: {sorted(_MODULE_PATHS)}") from None
        module = importlib.import_module(f"{self.package}.{path}")
        setattr(self, name, module)
        return module

    def module(self, path: str) -> ModuleType:
        """Import `<package>.<path>`, for modules without an alias."""
        return importlib.import_module(f"{self.package}.{path}")

    def __repr__(self) -> str:
        return f"Framework({self.package!r})"


@dataclass(frozen=True)
class Call:
    """One request sent through the TestClient: `client.request(method, url, **options)`."""

    method: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = f" {self.options!r}" if self.options else ""
        return f"{self.method} {self.url}{extra}"


def call(method: str, url: str, **options: Any) -> Call:
    return Call(method, url, options)


@dataclass(frozen=True)
class Outcome:
    """What one framework sent for one request, and the exception that escaped, if any."""

    status: int | None = None
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    error: tuple[str, str] | None = None

    def header(self, name: str) -> str | None:
        key = name.lower().encode("latin-1")
        for header_key, value in self.headers:
            if header_key.lower() == key:
                return value.decode("latin-1")
        return None

    def describe(self) -> str:
        lines = [f"status:  {self.status}"]
        lines.append("headers: " + (", ".join(f"{k!r}: {v!r}" for k, v in self.headers) or "(none)"))
        body = self.body if len(self.body) <= 600 else self.body[:600] + b"...(truncated)"
        lines.append(f"body:    {body!r}")
        if self.error is not None:
            lines.append(f"raised:  {self.error[0]}: {self.error[1]}")
        return "\n".join(lines)


def describe_exception(exc: BaseException, package: str) -> tuple[str, str]:
    """Name an exception's type so that the same class in either package compares equal.

    `starlette.exceptions.HTTPException` and `rustlette.exceptions.HTTPException` both
    become `<framework>.exceptions.HTTPException`. Classes outside the framework keep
    their full module path, so `json.decoder.JSONDecodeError` only matches itself.
    """
    exc_type = type(exc)
    module = exc_type.__module__
    if module == package or module.startswith(package + "."):
        module = "<framework>" + module[len(package) :]
    return f"{module}.{exc_type.__qualname__}", str(exc)


def run_calls(
    fw: Framework,
    factory: AppFactory,
    calls: Sequence[Call],
    *,
    client_options: dict[str, Any] | None = None,
    lifespan: bool = False,
) -> list[Outcome]:
    """Build the app with `fw` and send every call through `fw`'s TestClient in order."""
    app = factory(fw)
    client = fw.testclient.TestClient(app, **(client_options or {}))
    outcomes: list[Outcome] = []
    if lifespan:
        with client:
            for item in calls:
                outcomes.append(_send_call(client, item, fw.package))
    else:
        try:
            for item in calls:
                outcomes.append(_send_call(client, item, fw.package))
        finally:
            client.close()
    return outcomes


def _send_call(client: Any, item: Call, package: str) -> Outcome:
    try:
        response = client.request(item.method, item.url, **item.options)
    except Exception as exc:
        return Outcome(error=describe_exception(exc, package))
    return Outcome(
        status=response.status_code,
        headers=tuple((bytes(k), bytes(v)) for k, v in response.headers.raw),
        body=response.content,
    )


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    query_string: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
    raw_path: bytes | None = None,
    root_path: str = "",
) -> dict[str, Any]:
    """Build an HTTP scope as an ASGI server would deliver it, with raw bytes kept as given."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8") if raw_path is None else raw_path,
        "query_string": query_string,
        "root_path": root_path,
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }


def run_scope(fw: Framework, factory: AppFactory, scope: dict[str, Any], body: bytes = b"") -> Outcome:
    """Build the app with `fw` and drive it with one raw ASGI request.

    The response is recorded even when the app raises afterwards, as
    `ServerErrorMiddleware` does when it sends a 500 and re-raises.
    """
    app = factory(fw)
    scope = copy.deepcopy(scope)
    messages: list[dict[str, Any]] = []

    async def drive() -> tuple[str, str] | None:
        sent_body = False
        response_done = anyio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await response_done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(dict(message))
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                response_done.set()

        try:
            await app(scope, receive, send)
        except Exception as exc:
            return describe_exception(exc, fw.package)
        finally:
            response_done.set()
        return None

    error = anyio.run(drive)
    return _outcome_from_messages(messages, error)


def _outcome_from_messages(messages: list[dict[str, Any]], error: tuple[str, str] | None) -> Outcome:
    status: int | None = None
    headers: tuple[tuple[bytes, bytes], ...] = ()
    chunks: list[bytes] = []
    for message in messages:
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = tuple((bytes(k), bytes(v)) for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
    return Outcome(status=status, headers=headers, body=b"".join(chunks), error=error)


def assert_same_outcome(
    reference: Outcome,
    candidate: Outcome,
    *,
    label: str,
    candidate_name: str,
    normalize: Normalizer | None = None,
) -> None:
    """Fail with both sides shown unless the two outcomes are equal after `normalize`."""
    if normalize is not None:
        reference = normalize(reference)
        candidate = normalize(candidate)
    if reference == candidate:
        return

    differing = [
        name for name in ("status", "headers", "body", "error") if getattr(reference, name) != getattr(candidate, name)
    ]
    message = [
        f"{candidate_name} differs from {REFERENCE} for {label} (differs in: {', '.join(differing)})",
        f"--- {REFERENCE}",
        reference.describe(),
        f"--- {candidate_name}",
        candidate.describe(),
    ]
    if "headers" in differing:
        message.append(f"--- header lines in one side only (- {REFERENCE}, + {candidate_name})")
        message.extend(f"  - {pair!r}" for pair in reference.headers if pair not in candidate.headers)
        message.extend(f"  + {pair!r}" for pair in candidate.headers if pair not in reference.headers)
    raise AssertionError("\n".join(message))


class Differential:
    """Run cases through the reference framework and the candidate and compare them."""

    def __init__(self, reference: Framework, candidate: Framework) -> None:
        self.reference = reference
        self.candidate = candidate

    def compare(
        self,
        factory: AppFactory,
        *calls: Call,
        client_options: dict[str, Any] | None = None,
        lifespan: bool = False,
        normalize: Normalizer | None = None,
    ) -> list[Outcome]:
        """Send `calls` to both apps, assert each pair is equal, and return the reference outcomes."""
        expected = run_calls(self.reference, factory, calls, client_options=client_options, lifespan=lifespan)
        actual = run_calls(self.candidate, factory, calls, client_options=client_options, lifespan=lifespan)
        for index, (item, reference, candidate) in enumerate(zip(calls, expected, actual, strict=True), start=1):
            label = f"{item} (request {index} of {len(calls)})"
            assert_same_outcome(
                reference, candidate, label=label, candidate_name=self.candidate.package, normalize=normalize
            )
        return expected

    def compare_scope(
        self,
        factory: AppFactory,
        scope: dict[str, Any],
        body: bytes = b"",
        *,
        normalize: Normalizer | None = None,
    ) -> Outcome:
        """Drive both apps with the same raw scope, assert equal outcomes, return the reference one."""
        expected = run_scope(self.reference, factory, scope, body)
        actual = run_scope(self.candidate, factory, scope, body)
        label = f"raw scope {scope['method']} {scope['path']!r} query_string={scope['query_string']!r}"
        assert_same_outcome(expected, actual, label=label, candidate_name=self.candidate.package, normalize=normalize)
        return expected

    def compare_call(self, function: Callable[[Framework], Any], *, label: str) -> Any:
        """Call `function` with each framework and compare results, or exception types and messages."""
        expected = _capture(function, self.reference)
        actual = _capture(function, self.candidate)
        if expected != actual:
            raise AssertionError(
                f"{self.candidate.package} differs from {REFERENCE} for {label}\n"
                f"--- {REFERENCE}\n{expected!r}\n--- {self.candidate.package}\n{actual!r}"
            )
        return expected


def _capture(function: Callable[[Framework], Any], fw: Framework) -> Any:
    try:
        return ("returned", function(fw))
    except Exception as exc:
        return ("raised", *describe_exception(exc, fw.package))


def sorted_allow_header(outcome: Outcome) -> Outcome:
    """Sort the methods in an `Allow` header.

    Starlette joins a `set` of method names. Their order follows string hashing and
    changes between interpreter runs, so tests compare the set of methods.
    """
    headers = []
    for key, value in outcome.headers:
        if key.lower() == b"allow":
            value = b", ".join(sorted(value.split(b", ")))
        headers.append((key, value))
    return replace(outcome, headers=tuple(headers))
