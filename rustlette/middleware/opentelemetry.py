from __future__ import annotations

import re
from collections.abc import Sequence

try:
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
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

# The span attributes this middleware sets, whose values are all strings or integers.
_Attributes = dict[str, str | int]


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
        self._excluded_urls = _compile_exclusions(excluded_urls)
        self._tracer_provider = tracer_provider or trace.get_tracer_provider()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(_ACTIVE_KEY):
            return await self.app(scope, receive, send)

        scope[_ACTIVE_KEY] = True
        try:
            provider = self._tracer_provider
            url = None if isinstance(provider, trace.NoOpTracerProvider) else self._traced_url(scope)
            if url is None:
                await self.app(scope, receive, send)
            else:
                await self._run_in_span(provider, url, scope, receive, send)
        finally:
            del scope[_ACTIVE_KEY]

    def _traced_url(self, scope: Scope) -> URL | None:
        """Return the request URL, or `None` when an excluded pattern matches it."""
        url = URL(scope=scope)
        if self._excluded_urls:
            full_url = str(url)
            for pattern in self._excluded_urls:
                if pattern.search(full_url):
                    return None
        return url

    async def _run_in_span(
        self, provider: trace.TracerProvider, url: URL, scope: Scope, receive: Receive, send: Send
    ) -> None:
        raw_method: str = scope.get("method", "")
        method = raw_method.upper()
        carrier = _propagation_carrier(scope)
        attributes = _request_attributes(scope, url, carrier, raw_method, method)

        tracer = provider.get_tracer("rustlette", __version__)
        parent_context = propagate.extract(carrier)
        with tracer.start_as_current_span(
            method, context=parent_context, kind=SpanKind.SERVER, attributes=attributes
        ) as span:

            async def send_and_record(message: Message) -> None:
                if message["type"] == "http.response.start":
                    _record_response_status(span, message["status"])
                await send(message)

            try:
                await self.app(scope, receive, send_and_record)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                raise
            finally:
                # Routing stores the matched route in the scope, so the span can only
                # be named after it once the app has returned or raised.
                template = _route_template(scope)
                if template is not None:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)


def _compile_exclusions(excluded_urls: str | Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Compile the `excluded_urls` patterns, splitting a string at its commas."""
    if not isinstance(excluded_urls, str):
        return tuple(map(re.compile, excluded_urls))
    if not excluded_urls:
        return ()
    # Blank entries are kept. An empty pattern matches every URL, as in Starlette.
    return tuple(re.compile(entry.strip()) for entry in excluded_urls.split(","))


def _propagation_carrier(scope: Scope) -> dict[str, list[str]]:
    """Group the request headers by lower-case name, the carrier shape that propagators read."""
    carrier: dict[str, list[str]] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in carrier:
            carrier[name].append(value)
        else:
            carrier[name] = [value]
    return carrier


def _request_attributes(
    scope: Scope, url: URL, carrier: dict[str, list[str]], raw_method: str, method: str
) -> _Attributes:
    """Build the span attributes known before the app runs, in the semantic conventions' names."""
    attributes: _Attributes = {
        "http.request.method": method,
        "url.path": scope.get("path", ""),
        "url.scheme": scope.get("scheme", "http"),
    }
    if method != raw_method:
        attributes["http.request.method_original"] = raw_method
    query = url.query
    if query:
        attributes["url.query"] = query
    _add_server_attributes(attributes, scope, url)

    version = scope.get("http_version")
    if version:
        attributes["network.protocol.version"] = version
    client = scope.get("client")
    if client is not None:
        attributes["client.address"] = client[0]
    # Only the first User-Agent header is recorded when a client sends several.
    user_agents = carrier.get("user-agent")
    if user_agents:
        attributes["user_agent.original"] = user_agents[0]
    return attributes


def _add_server_attributes(attributes: _Attributes, scope: Scope, url: URL) -> None:
    """Add the server address and port, which are only known when the URL has a host."""
    host = url.hostname
    if host is None:
        return
    attributes["server.address"] = host

    # The port in the Host header takes precedence over the port the server listens on.
    port = url.port
    if port is None:
        listening = scope.get("server")
        port = None if listening is None else listening[1]
    if port is not None:
        attributes["server.port"] = port


def _record_response_status(span: Span, status_code: int) -> None:
    """Store the response status on the span, and mark a 5xx response as an error."""
    span.set_attribute("http.response.status_code", status_code)
    if status_code < 500:
        return
    span.set_attribute("error.type", str(status_code))
    span.set_status(Status(StatusCode.ERROR))


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
    prefix: str = scope.get("root_path", "")
    return prefix.rstrip("/") + path_format or "/"
