from __future__ import annotations

from collections.abc import Sequence

from rustlette._utils import parse_host_header
from rustlette.datastructures import URL, Headers
from rustlette.responses import PlainTextResponse, RedirectResponse, Response
from rustlette.types import ASGIApp, Receive, Scope, Send

ENFORCE_DOMAIN_WILDCARD = "Domain wildcard patterns must be like '*.example.com'."


def _check_host_pattern(pattern: str) -> None:
    # A "*" may only open the pattern, and must stand alone or come before a dot.
    assert "*" not in pattern[1:], ENFORCE_DOMAIN_WILDCARD
    if pattern[:1] == "*":
        assert pattern == "*" or pattern[1] == ".", ENFORCE_DOMAIN_WILDCARD


class TrustedHostMiddleware:
    """Rejects requests whose Host header is not in `allowed_hosts`, with a 400 response.

    A pattern "*.example.com" allows every subdomain of example.com, and "*" allows
    any host. With `www_redirect`, a request for "example.com" is redirected to
    "www.example.com" when only the latter is allowed.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None = None, www_redirect: bool = True) -> None:
        patterns = ["*"] if allowed_hosts is None else allowed_hosts
        for pattern in patterns:
            _check_host_pattern(pattern)

        self.app = app
        self.allowed_hosts = [pattern.lower() for pattern in patterns]
        self.allow_any = "*" in patterns
        self.www_redirect = www_redirect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rejection = None
        if not self.allow_any and scope["type"] in ("http", "websocket"):
            rejection = self._rejection_for(scope)

        if rejection is None:
            await self.app(scope, receive, send)
        else:
            await rejection(scope, receive, send)

    def _rejection_for(self, scope: Scope) -> Response | None:
        """Return the response that replaces the app's for an untrusted host, or None for a trusted one."""
        parsed = parse_host_header(Headers(scope=scope).get("host"))
        if parsed is None:
            return PlainTextResponse("Invalid host header", status_code=400)

        # Host names are case-insensitive (RFC 9110, section 4.2.3), and the port
        # plays no part in the check.
        host = parsed.host.lower()
        allowed = self.allowed_hosts
        if host in allowed:
            return None
        for pattern in allowed:
            # The suffix keeps its leading dot, so "*.example.com" does not match "badexample.com".
            if pattern[:1] == "*" and host.endswith(pattern[1:]):
                return None

        if self.www_redirect and "www." + host in allowed:
            url = URL(scope=scope)
            return RedirectResponse(url=str(url.replace(netloc="www." + url.netloc)))
        return PlainTextResponse("Invalid host header", status_code=400)
