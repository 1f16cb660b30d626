from __future__ import annotations

from rustlette.datastructures import URL
from rustlette.responses import PlainTextResponse, RedirectResponse, Response
from rustlette.types import ASGIApp, Receive, Scope, Send

_SECURE_SCHEMES = {"http": "https", "ws": "wss"}


def _secure_netloc(url: URL) -> str | None:
    # An explicit 80 or 443 would point the secure URL at the wrong port or
    # repeat its default, so only a non-standard port is kept.
    if url.port in (80, 443):
        return url.hostname
    return url.netloc


class HTTPSRedirectMiddleware:
    """Redirects plain HTTP and WebSocket requests to their https or wss URL with a 307."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        insecure = scope["type"] in ("http", "websocket") and scope["scheme"] in _SECURE_SCHEMES
        if not insecure:
            await self.app(scope, receive, send)
            return

        response: Response
        url = URL(scope=scope)
        if url.netloc:
            secure_url = url.replace(scheme=_SECURE_SCHEMES[url.scheme], netloc=_secure_netloc(url))
            response = RedirectResponse(secure_url, status_code=307)
        else:
            # No host to redirect to: the Host header is empty, or it is missing
            # and the scope has no server address either.
            response = PlainTextResponse("Invalid host header", status_code=400)
        await response(scope, receive, send)
