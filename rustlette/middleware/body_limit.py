from __future__ import annotations

from typing import Any, TypeVar

from rustlette.datastructures import Headers
from rustlette.exceptions import HTTPException
from rustlette.responses import PlainTextResponse
from rustlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_SIZE_SCOPE_KEY = "starlette.max_body_size"
_BODY_LIMIT_RESPONDER_SCOPE_KEY = "starlette._body_limit_responder"


class _Missing:
    """The type of the marker for a scope key that was absent."""

    __slots__ = ()


_MISSING = _Missing()
_T = TypeVar("_T")


class _RequestBodyTooLarge(HTTPException):
    # An HTTPException, so that when it is raised from inside an endpoint the
    # application's exception handlers turn it into the 413 response.
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="Content Too Large")


class _RequestBodyLimitResponseSent(Exception):
    """Stops the app after the 413 response went out in place of its own response."""


def _content_too_large() -> PlainTextResponse:
    return PlainTextResponse("Content Too Large", status_code=413)


def _get_content_length(scope: Scope) -> int | None:
    """Return the declared Content-Length, or None when it is absent or not an integer."""
    value = Headers(scope=scope).get("content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _attached(value: _T | None) -> _T:
    # Only a responder that counts has a connection, and __call__ sets it before any read.
    assert value is not None
    return value


def _swap_scope_limit(scope: Scope, limit: int) -> Any:
    """Publish `limit` in the scope and return the value it replaces, or `_MISSING`."""
    previous = scope.get(MAX_BODY_SIZE_SCOPE_KEY, _MISSING)
    scope[MAX_BODY_SIZE_SCOPE_KEY] = limit
    return previous


def _restore_scope_limit(scope: Scope, previous: Any) -> None:
    if previous is _MISSING:
        scope.pop(MAX_BODY_SIZE_SCOPE_KEY, None)
    else:
        scope[MAX_BODY_SIZE_SCOPE_KEY] = previous


class RequestBodyLimitMiddleware:
    """Limit the total size of an HTTP request body."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # The responder counts bytes, so each request needs its own.
            await RequestBodyLimitResponder(self.app, self.max_body_size)(scope, receive, send)
            return None
        return await self.app(scope, receive, send)


class RequestBodyLimitResponder:
    """Enforces a body size limit on one HTTP request.

    When limits are nested (application, router, mount, route), the outermost
    responder does the counting and each inner one replaces its limit, so the
    innermost limit applies to the whole body.
    """

    content_length: int | None
    # The connection, set when this responder is the one that counts (see __call__).
    _scope: Scope | None
    _receive: Receive | None
    _send: Send | None

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.total_size = 0
        self.response_started = False
        self.content_length = None
        self._scope = self._receive = self._send = None

    @property
    def scope(self) -> Scope:
        return _attached(self._scope)

    @property
    def receive(self) -> Receive:
        return _attached(self._receive)

    @property
    def send(self) -> Send:
        return _attached(self._send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        previous_limit = _swap_scope_limit(scope, self.max_body_size)
        counting: RequestBodyLimitResponder | None = scope.get(_BODY_LIMIT_RESPONDER_SCOPE_KEY)
        if counting is not None:
            # An outer responder already wraps receive and send, and it restores
            # the scope limit when it finishes.
            counting._adopt_limit(self.max_body_size)
            return await self.app(scope, receive, send)

        self._scope, self._receive, self._send = scope, receive, send
        self.content_length = _get_content_length(scope)
        scope[_BODY_LIMIT_RESPONDER_SCOPE_KEY] = self
        try:
            await self.app(scope, self.receive_with_limit, self.send_with_limit)
        except _RequestBodyLimitResponseSent:
            pass
        except _RequestBodyTooLarge:
            # Once the app's own response has started, the 413 cannot replace it.
            if self.response_started:
                raise
            await _content_too_large()(scope, receive, send)
        finally:
            scope.pop(_BODY_LIMIT_RESPONDER_SCOPE_KEY, None)
            _restore_scope_limit(scope, previous_limit)
        return None

    def _adopt_limit(self, limit: int) -> None:
        """Apply an inner limit to the bytes counted so far and to the rest of the body."""
        self.max_body_size = limit
        if self.total_size > limit:
            raise _RequestBodyTooLarge

    def _declared_too_large(self) -> bool:
        declared = self.content_length
        return declared is not None and declared > self.max_body_size

    async def receive_with_limit(self) -> Message:
        """Receive the next message, raising once the body is over the limit."""
        # A declared length over the limit fails before any body is read.
        if self._declared_too_large():
            raise _RequestBodyTooLarge

        # The connection's receive, read without the property on this per-message path.
        receive = self._receive
        assert receive is not None
        message = await receive()
        if message["type"] == "http.request":
            self.total_size += len(message.get("body", b""))
            if self.total_size > self.max_body_size:
                raise _RequestBodyTooLarge
        return message

    async def send_with_limit(self, message: Message) -> None:
        """Send a message, replacing the response with a 413 when the declared length is over the limit."""
        if message["type"] == "http.response.start":
            self.response_started = True
            # The app responds without reading the body, but the client declared
            # a body larger than allowed.
            if self._declared_too_large():
                await _content_too_large()(self.scope, self.receive, self.send)
                raise _RequestBodyLimitResponseSent

        send = self._send
        assert send is not None
        await send(message)
