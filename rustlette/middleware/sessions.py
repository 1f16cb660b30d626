from __future__ import annotations

import json
import typing
from base64 import b64decode, b64encode
from typing import Literal

import itsdangerous
from itsdangerous.exc import BadSignature

from rustlette.datastructures import MutableHeaders, Secret
from rustlette.requests import HTTPConnection
from rustlette.types import ASGIApp, Message, Receive, Scope, Send

# A date in the past makes the browser drop the cookie at once.
_EXPIRED = "expires=Thu, 01 Jan 1970 00:00:00 GMT; "


class SessionMiddleware:
    """Middleware that keeps `request.session` in a signed cookie that the client stores.

    The session is JSON, base64-encoded and signed with a timestamp, so the client can
    read it but not change it. A cookie with a bad or expired signature starts an empty
    session. The cookie is sent only when the app changed the session.
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | Secret,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,  # two weeks
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
        partitioned: bool = False,
    ) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(str(secret_key))
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.path = path

        flags = ["httponly", "samesite=" + same_site]
        if https_only:
            flags.append("secure")
        if domain is not None:
            flags.append(f"domain={domain}")
        if partitioned:
            flags.append("partitioned")
        self.security_flags = "; ".join(flags)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            cookie = HTTPConnection(scope).cookies.get(self.session_cookie)
            loaded = self._load_session(cookie)
            scope["session"] = Session() if loaded is None else loaded
            # Only a client that sent a valid session needs a cookie that clears it.
            send = self._send_with_cookie(scope, send, had_session=loaded is not None)
        await self.app(scope, receive, send)

    def _load_session(self, cookie: str | None) -> Session | None:
        """Decode the session cookie, or return `None` when it is missing or its signature is invalid."""
        if cookie is None:
            return None
        try:
            payload = self.signer.unsign(cookie.encode("utf-8"), max_age=self.max_age)
        except BadSignature:
            return None
        return Session(json.loads(b64decode(payload)))

    def _send_with_cookie(self, scope: Scope, send: Send, had_session: bool) -> Send:
        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The app may have replaced the session object, so it is read from the scope now.
                self._add_session_headers(message, scope["session"], had_session)
            await send(message)

        return send_with_cookie

    def _add_session_headers(self, message: Message, session: Session, had_session: bool) -> None:
        # Built even when no header changes, because building it turns the message's
        # headers into a list, as Starlette's middleware does.
        message.setdefault("headers", [])
        headers = MutableHeaders(scope=message)
        if session.accessed:
            # The response depends on the cookie, so caches must not share it between clients.
            headers.add_vary_header("Cookie")
        cookie = self._set_cookie_value(session, had_session)
        if cookie is not None:
            headers.append("Set-Cookie", cookie)

    def _set_cookie_value(self, session: Session, had_session: bool) -> str | None:
        """Build the Set-Cookie value for a changed session, or return `None` when the client's cookie stays valid."""
        if not session.modified:
            return None
        if session:
            value = self.signer.sign(b64encode(json.dumps(session).encode("utf-8"))).decode("utf-8")
            lifetime = "" if self.max_age is None else f"Max-Age={self.max_age}; "
        elif had_session:
            # An emptied session deletes the cookie the client holds.
            value, lifetime = "null", _EXPIRED
        else:
            return None
        return f"{self.session_cookie}={value}; path={self.path}; {lifetime}{self.security_flags}"


class Session(dict[str, typing.Any]):
    """The session dict, which records whether the app read or changed it."""

    accessed: bool = False
    modified: bool = False

    def mark_accessed(self) -> None:
        self.accessed = True

    def mark_modified(self) -> None:
        self.accessed = True
        self.modified = True

    def __setitem__(self, key: str, value: typing.Any) -> None:
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)

    def clear(self) -> None:
        self.mark_modified()
        super().clear()

    def pop(self, key: str, *args: typing.Any) -> typing.Any:
        if key in self:
            self.mark_modified()
        return super().pop(key, *args)

    def popitem(self) -> tuple[str, typing.Any]:
        # An empty session raises KeyError here and stays unmodified.
        item = super().popitem()
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: typing.Any = None) -> typing.Any:
        if key not in self:
            self.mark_modified()
        return super().setdefault(key, default)

    def update(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        self.mark_modified()
        super().update(*args, **kwargs)

    def __ior__(self, other: typing.Any, /) -> Session:  # type: ignore[override,misc]
        self.mark_modified()
        return super().__ior__(other)
