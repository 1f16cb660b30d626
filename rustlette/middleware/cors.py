from __future__ import annotations

import functools
import re
from collections.abc import Collection

from rustlette.datastructures import Headers, MutableHeaders
from rustlette.responses import PlainTextResponse, Response
from rustlette.types import ASGIApp, Message, Receive, Scope, Send

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
# Request headers that a browser sends cross-origin without asking in a preflight
# (the Fetch standard's CORS-safelisted request headers), so they are always allowed.
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}

# Every request header that changes a preflight response, so caches key on all of them.
_PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
)


def _build_simple_headers(any_origin: bool, credentials: bool, exposed: Collection[str]) -> dict[str, str]:
    """Return the headers added to every response to a request that sends an Origin."""
    headers: dict[str, str] = {}
    if any_origin:
        headers["Access-Control-Allow-Origin"] = "*"
    if credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if exposed:
        headers["Access-Control-Expose-Headers"] = ", ".join(exposed)
    return headers


def _build_preflight_headers(
    star_origin: bool, methods: Collection[str], max_age: int, listed: list[str] | None, credentials: bool
) -> dict[str, str]:
    """Return the headers that every preflight response starts from.

    `listed` is None when any request header is allowed, because the preflight then
    lists back the requested headers instead.
    """
    headers = {"Vary": _PREFLIGHT_VARY}
    if star_origin:
        headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    headers["Access-Control-Max-Age"] = str(max_age)
    if listed is not None:
        headers["Access-Control-Allow-Headers"] = ", ".join(listed)
    if credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


class CORSMiddleware:
    """Adds Cross-Origin Resource Sharing headers to responses and responds to preflight requests."""

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        methods = ALL_METHODS if "*" in allow_methods else allow_methods
        origin_pattern = None if allow_origin_regex is None else re.compile(allow_origin_regex)
        any_origin = "*" in allow_origins
        any_header = "*" in allow_headers
        # Browsers reject "*" on a credentialed request, so with credentials the
        # preflight names the requesting origin even when every origin is allowed.
        explicit_origin = allow_credentials or not any_origin

        # The per-request code only copies these two dicts.
        self.simple_headers = _build_simple_headers(any_origin, allow_credentials, expose_headers)
        listed_headers = sorted(SAFELISTED_HEADERS.union(allow_headers))
        self.preflight_headers = _build_preflight_headers(
            not explicit_origin, methods, max_age, None if any_header else listed_headers, allow_credentials
        )

        self.app = app
        self.allow_origins = allow_origins
        self.allow_methods = methods
        self.allow_headers = [name.lower() for name in listed_headers]
        self.allow_all_origins = any_origin
        self.allow_all_headers = any_header
        self.allow_credentials = allow_credentials
        self.preflight_explicit_allow_origin = explicit_origin
        self.allow_origin_regex = origin_pattern
        self.allow_private_network = allow_private_network

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover
            await self.app(scope, receive, send)
            return

        request_headers = Headers(scope=scope)
        # A preflight is an OPTIONS request that names the method it wants to use.
        if (
            scope["method"] == "OPTIONS"
            and "origin" in request_headers
            and "access-control-request-method" in request_headers
        ):
            preflight = self.preflight_response(request_headers=request_headers)
            await preflight(scope, receive, send)
        else:
            await self.simple_response(scope, receive, send, request_headers=request_headers)

    def is_allowed_origin(self, origin: str) -> bool:
        """Return whether `origin` is allowed, by "*", by the list or by the origin regex."""
        if self.allow_all_origins or origin in self.allow_origins:
            return True
        pattern = self.allow_origin_regex
        return pattern is not None and pattern.fullmatch(origin) is not None

    def preflight_response(self, request_headers: Headers) -> Response:
        """Build the response to a preflight request: 200 "OK" when allowed, otherwise 400 naming what was not."""
        origin = request_headers["origin"]
        method = request_headers["access-control-request-method"]
        requested_headers = request_headers.get("access-control-request-headers")

        headers = dict(self.preflight_headers)
        rejected: list[str] = []

        if not self.is_allowed_origin(origin=origin):
            rejected.append("origin")
        elif self.preflight_explicit_allow_origin:
            # Otherwise the copied headers already allow "*".
            headers["Access-Control-Allow-Origin"] = origin

        if method not in self.allow_methods:
            rejected.append("method")

        if requested_headers is not None:
            if self.allow_all_headers:
                # "*" is not a wildcard for credentialed requests, so list back what was requested.
                headers["Access-Control-Allow-Headers"] = requested_headers
            elif not self._headers_allowed(requested_headers):
                rejected.append("headers")

        if "access-control-request-private-network" in request_headers:
            if self.allow_private_network:
                headers["Access-Control-Allow-Private-Network"] = "true"
            else:
                rejected.append("private-network")

        # The browser enforces the policy whatever the status, but a 400 with the
        # reasons makes a rejected preflight easier to debug.
        if rejected:
            return PlainTextResponse("Disallowed CORS " + ", ".join(rejected), status_code=400, headers=headers)
        return PlainTextResponse("OK", status_code=200, headers=headers)

    def _headers_allowed(self, requested_headers: str) -> bool:
        # The request lists names separated by commas, in any case and spacing.
        allowed = self.allow_headers
        return all(name.strip() in allowed for name in requested_headers.lower().split(","))

    async def simple_response(self, scope: Scope, receive: Receive, send: Send, request_headers: Headers) -> None:
        """Run the app, adding the CORS headers to its response."""
        send_with_cors = functools.partial(self.send, send=send, request_headers=request_headers)
        await self.app(scope, receive, send_with_cors)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        """Send `message`, adding the CORS headers when it starts the response."""
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            self._add_response_headers(MutableHeaders(scope=message), request_headers.get("Origin"))
        await send(message)

    def _add_response_headers(self, headers: MutableHeaders, origin: str | None) -> None:
        if origin is not None:
            headers.update(self.simple_headers)
            if self.allow_all_origins:
                # "*" is rejected on a credentialed request, so those get the origin itself.
                reflect_origin = self.allow_credentials
            else:
                # With a list of origins the response names the one that matched.
                reflect_origin = self.is_allowed_origin(origin=origin)
            if reflect_origin:
                self.allow_explicit_origin(headers, origin)
                return
        # Caches must not serve this response to a request from another origin.
        headers.add_vary_header("Origin")

    @staticmethod
    def allow_explicit_origin(headers: MutableHeaders, origin: str) -> None:
        """Set `Access-Control-Allow-Origin` to `origin` and add `Origin` to `Vary`."""
        headers["Access-Control-Allow-Origin"] = origin
        headers.add_vary_header("Origin")
