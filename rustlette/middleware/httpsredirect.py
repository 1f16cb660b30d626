from rustlette.datastructures import URL
from rustlette.responses import PlainTextResponse, RedirectResponse
from rustlette.types import ASGIApp, Receive, Scope, Send

_SECURE_SCHEMES = {"http": "https", "ws": "wss"}


class HTTPSRedirectMiddleware:
    """Redirects plain HTTP and WebSocket requests to their https or wss URL with a 307."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["scheme"] not in ("http", "ws"):
            await self.app(scope, receive, send)
            return

        url = URL(scope=scope)
        if not url.netloc:
            await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)
            return

        # Drop a default port, because port 80 or 443 on the secure URL would
        # be wrong or redundant.
        netloc = url.hostname if url.port in (80, 443) else url.netloc
        url = url.replace(scheme=_SECURE_SCHEMES[url.scheme], netloc=netloc)
        response = RedirectResponse(url, status_code=307)
        await response(scope, receive, send)
