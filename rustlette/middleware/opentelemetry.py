from __future__ import annotations

import re
from collections.abc import Sequence

try:
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover
    raise ImportError("The `opentelemetry-api` package is required to use `OpenTelemetryMiddleware`.") from None

from rustlette import __version__
from rustlette.datastructures import URL
from rustlette.routing import Mount
from rustlette.types import ASGIApp, Message, Receive, Scope, Send

# Set while a request is inside the middleware, so that a second instance further down the
# stack does not open a nested span for the same request. The key is Starlette's, so that
# code written against Starlette finds it.
_ACTIVE_KEY = "starlette.opentelemetry"


class OpenTelemetryMiddleware:
    """Middleware that opens an OpenTelemetry server span for each HTTP request.

    The span follows the OpenTelemetry HTTP semantic conventions. It is named after the
    method and, once routing has run, after the matched route template such as
    `GET /users/{id}`. A 5xx response or an exception marks it as an error.

    This middleware is experimental: its API and the telemetry it emits may change in a
    minor release without a deprecation period.

    Args:
        app: The ASGI application to wrap.
        excluded_urls: Regular expressions searched for in the full request URL. A request
            whose URL matches one gets no span. Either a sequence or one comma-separated
            string. No URL is excluded by default.
        tracer_provider: The tracer provider to use instead of the global one.
        meter_provider: The meter provider to use instead of the global one.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        excluded_urls: str | Sequence[str] = (),
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.app = app
        self._meter_provider = meter_provider
        if isinstance(excluded_urls, str):
            excluded_urls = [pattern.strip() for pattern in excluded_urls.split(",")] if excluded_urls else ()
        self._excluded_urls = tuple(re.compile(pattern) for pattern in excluded_urls)
        self._tracer_provider = tracer_provider or trace.get_tracer_provider()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(_ACTIVE_KEY):
            return await self.app(scope, receive, send)

        scope[_ACTIVE_KEY] = True
        try:
            await self._traced_call(scope, receive, send)
        finally:
            del scope[_ACTIVE_KEY]

    async def _traced_call(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer_provider = self._tracer_provider
        if isinstance(tracer_provider, trace.NoOpTracerProvider):
            await self.app(scope, receive, send)
            return

        url = URL(scope=scope)
        if any(pattern.search(str(url)) for pattern in self._excluded_urls):
            await self.app(scope, receive, send)
            return

        method = scope.get("method", "").upper()
        headers = _collect_headers(scope)
        tracer = tracer_provider.get_tracer("rustlette", __version__)
        with tracer.start_as_current_span(
            method,
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes=_request_attributes(scope, url, headers),
        ) as span:

            async def send_with_telemetry(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_code = message["status"]
                    span.set_attribute("http.response.status_code", status_code)
                    if status_code >= 500:
                        span.set_attribute("error.type", str(status_code))
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_with_telemetry)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                raise
            finally:
                # The router stores the matched route in the scope, so this runs after the app.
                route_path = _route_template(scope)
                if route_path is not None:
                    span.update_name(f"{method} {route_path}")
                    span.set_attribute("http.route", route_path)


def _collect_headers(scope: Scope) -> dict[str, list[str]]:
    """Group the request headers by lower-case name, the carrier shape that propagators read."""
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


def _request_attributes(scope: Scope, url: URL, headers: dict[str, list[str]]) -> dict[str, str | int]:
    """Build the span attributes known before the app runs."""
    original_method = scope.get("method", "")
    method = original_method.upper()
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.path": scope.get("path", ""),
        "url.scheme": scope.get("scheme", "http"),
    }
    if original_method != method:
        attributes["http.request.method_original"] = original_method
    if url.query:
        attributes["url.query"] = url.query

    if url.hostname is not None:
        attributes["server.address"] = url.hostname
        # The port from the Host header wins, then the port the server listens on.
        server = scope.get("server")
        if url.port is not None:
            attributes["server.port"] = url.port
        elif server is not None and server[1] is not None:
            attributes["server.port"] = server[1]

    if scope.get("http_version"):
        attributes["network.protocol.version"] = scope["http_version"]
    if scope.get("client") is not None:
        attributes["client.address"] = scope["client"][0]
    if headers.get("user-agent"):
        attributes["user_agent.original"] = headers["user-agent"][0]
    return attributes


def _route_template(scope: Scope) -> str | None:
    """Return the template of the route that handled the request, with the mount prefix.

    A request routed to `Route("/users/{id}")` under `root_path="/api"` gives
    `"/api/users/{id}"`. A request without a matched route gives `None`.
    """
    route = scope.get("route")
    if isinstance(route, Mount):
        # A mounted app that routed no further is named after the mount point alone.
        return scope.get("root_path") or "/"

    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return None
    return scope.get("root_path", "").rstrip("/") + path_format or "/"
