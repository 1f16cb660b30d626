from __future__ import annotations

import json
import sys
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import aclosing
from http import cookies as http_cookies
from typing import TYPE_CHECKING, Any, Generic, NoReturn, cast

import anyio

from rustlette._utils import AwaitableOrContextManager, AwaitableOrContextManagerWrapper
from rustlette.datastructures import URL, Address, FormData, Headers, QueryParams, State
from rustlette.exceptions import HTTPException
from rustlette.formparsers import FormParser, MultiPartException, MultiPartParser, parse_options_header
from rustlette.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from rustlette.applications import Starlette
    from rustlette.middleware.sessions import Session
    from rustlette.routing import Router

if sys.version_info >= (3, 13):  # pragma: no cover
    from typing import TypeVar
else:  # pragma: no cover
    from typing_extensions import TypeVar

# Request headers that a pushed resource is requested with, copied from the current request.
SERVER_PUSH_HEADERS_TO_COPY = {
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "user-agent",
}


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Parse a Cookie header into a dict, the way browsers read cookies rather than by RFC 6265.

    Pairs are split at `;` and at the first `=`. A pair without `=` is a value with an
    empty name, as browsers treat it. Names and values are stripped, quoted values are
    unquoted like `http.cookies` does, and a repeated name keeps its last value.
    `SimpleCookie.load` is not used, because it rejects much of what browsers send.
    """
    cookie_dict: dict[str, str] = {}
    for chunk in cookie_string.split(";"):
        if "=" in chunk:
            key, value = chunk.split("=", 1)
        else:
            key, value = "", chunk
        key, value = key.strip(), value.strip()
        if key or value:
            cookie_dict[key] = http_cookies._unquote(value)
    return cookie_dict


class ClientDisconnect(Exception):
    """The client disconnected before the request body was read."""


StateT = TypeVar("StateT", bound=Mapping[str, Any] | State, default=State)


class HTTPConnection(Mapping[str, Any], Generic[StateT]):
    """The parts of an incoming connection that HTTP requests and WebSockets share.

    It is also a read-only mapping over the ASGI scope.
    """

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        assert scope["type"] in ("http", "websocket")
        self.scope = scope

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    # Two connections are equal only if they are the same object, even when their scopes
    # compare equal, so the Mapping comparison is not inherited.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def app(self) -> Any:
        return self.scope["app"]

    @property
    def url(self) -> URL:
        if not hasattr(self, "_url"):  # pragma: no branch
            self._url = URL(scope=self.scope)
        return self._url

    @property
    def base_url(self) -> URL:
        if not hasattr(self, "_base_url"):
            base_url_scope = dict(self.scope)
            # Inside a Mount, `root_path` is the mount's path. `url_for` builds URLs for the
            # whole application, so the base is the root path of the top-level app.
            app_root_path = base_url_scope.get("app_root_path", base_url_scope.get("root_path", ""))
            path = app_root_path
            if not path.endswith("/"):
                path += "/"
            base_url_scope["path"] = path
            base_url_scope["query_string"] = b""
            base_url_scope["root_path"] = app_root_path
            self._base_url = URL(scope=base_url_scope)
        return self._base_url

    @property
    def headers(self) -> Headers:
        if not hasattr(self, "_headers"):
            self._headers = Headers(scope=self.scope)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if not hasattr(self, "_query_params"):  # pragma: no branch
            self._query_params = QueryParams(self.scope["query_string"])
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        path_params: dict[str, Any] = self.scope.get("path_params", {})
        return path_params

    @property
    def cookies(self) -> dict[str, str]:
        if not hasattr(self, "_cookies"):
            cookies: dict[str, str] = {}
            for header in self.headers.getlist("cookie"):
                cookies.update(cookie_parser(header))
            self._cookies = cookies
        return self._cookies

    @property
    def client(self) -> Address | None:
        host_port = self.scope.get("client")
        if host_port is None:
            return None
        return Address(*host_port)

    @property
    def session(self) -> dict[str, Any]:
        assert "session" in self.scope, "SessionMiddleware must be installed to access request.session"
        session: Session = self.scope["session"]
        # A custom session middleware may store a plain dict, without `mark_accessed`.
        if hasattr(session, "mark_accessed"):  # pragma: no branch
            session.mark_accessed()
        return session

    @property
    def auth(self) -> Any:
        assert "auth" in self.scope, "AuthenticationMiddleware must be installed to access request.auth"
        return self.scope["auth"]

    @property
    def user(self) -> Any:
        assert "user" in self.scope, "AuthenticationMiddleware must be installed to access request.user"
        return self.scope["user"]

    @property
    def state(self) -> StateT:
        if not hasattr(self, "_state"):
            # The State object writes through to `scope["state"]`, which the lifespan may
            # have filled and which other connection objects for this scope share.
            self.scope.setdefault("state", {})
            self._state = State(self.scope["state"])
        return cast(StateT, self._state)

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        url_path_provider: Router | Starlette | None = self.scope.get("router") or self.scope.get("app")
        if url_path_provider is None:
            raise RuntimeError("The `url_for` method can only be used inside a Starlette application or with a router.")
        url_path = url_path_provider.url_path_for(name, **path_params)
        return url_path.make_absolute_url(base_url=self.base_url)


async def empty_receive() -> NoReturn:
    raise RuntimeError("Receive channel has not been made available")


async def empty_send(message: Message) -> NoReturn:
    raise RuntimeError("Send channel has not been made available")


class Request(HTTPConnection[StateT]):
    """An incoming HTTP request, with its body read from the ASGI `receive` channel."""

    _form: FormData | None

    def __init__(self, scope: Scope, receive: Receive = empty_receive, send: Send = empty_send):
        super().__init__(scope)
        assert scope["type"] == "http"
        self._receive = receive
        self._send = send
        self._stream_consumed = False
        self._is_disconnected = False
        self._form = None

    @property
    def method(self) -> str:
        return cast(str, self.scope["method"])

    @property
    def receive(self) -> Receive:
        return self._receive

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """Yield the body in chunks as they arrive, then a final `b""`.

        Once `body()` has read the body, the stream yields it again. Otherwise the body
        can be streamed only once.
        """
        if hasattr(self, "_body"):
            yield self._body
            yield b""
            return
        if self._stream_consumed:
            raise RuntimeError("Stream consumed")
        while not self._stream_consumed:
            message = await self._receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                if not message.get("more_body", False):
                    self._stream_consumed = True
                if body:
                    yield body
            elif message["type"] == "http.disconnect":  # pragma: no branch
                self._is_disconnected = True
                raise ClientDisconnect()
        yield b""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            chunks: list[bytes] = []
            async with aclosing(self.stream()) as stream:
                async for chunk in stream:
                    chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):  # pragma: no branch
            body = await self.body()
            self._json = json.loads(body)
        return self._json

    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        if self._form is None:  # pragma: no branch
            content_type, _ = parse_options_header(self.headers.get("Content-Type"))
            if content_type == b"multipart/form-data":
                try:
                    async with aclosing(self.stream()) as stream:
                        multipart_parser = MultiPartParser(
                            self.headers,
                            stream,
                            max_files=max_files,
                            max_fields=max_fields,
                            max_part_size=max_part_size,
                        )
                        self._form = await multipart_parser.parse()
                except MultiPartException as exc:
                    self._raise_form_error(exc)
            elif content_type == b"application/x-www-form-urlencoded":
                try:
                    async with aclosing(self.stream()) as stream:
                        form_parser = FormParser(
                            self.headers,
                            stream,
                            max_fields=max_fields,
                            max_part_size=max_part_size,
                        )
                        self._form = await form_parser.parse()
                except MultiPartException as exc:
                    self._raise_form_error(exc)
            else:
                self._form = FormData()
        return self._form

    def _raise_form_error(self, exc: MultiPartException) -> NoReturn:
        # Inside an application a bad form is a client error, so it becomes a 400 response
        # with the reason as detail.
        if "app" in self.scope:
            raise HTTPException(status_code=400, detail=exc.message)
        raise exc

    def form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> AwaitableOrContextManager[FormData]:
        """Parse a urlencoded or multipart body into `FormData`.

        Await the result, or use it with `async with` to close the uploaded files on exit.
        Other content types give an empty form.
        """
        return AwaitableOrContextManagerWrapper(
            self._get_form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)
        )

    async def close(self) -> None:
        if self._form is not None:  # pragma: no branch
            await self._form.close()

    async def is_disconnected(self) -> bool:
        """Tell whether the client has disconnected, without waiting for the next message."""
        if not self._is_disconnected:
            message: Message = {}

            # A cancelled scope lets `receive` return a message that is already waiting,
            # and abandons the call otherwise.
            with anyio.CancelScope() as cancel_scope:
                cancel_scope.cancel()
                message = await self._receive()

            if message.get("type") == "http.disconnect":
                self._is_disconnected = True

        return self._is_disconnected

    async def send_push_promise(self, path: str) -> None:
        """Ask the server to push `path` (HTTP/2 server push), if the server supports it."""
        if "http.response.push" in self.scope.get("extensions", {}):
            raw_headers: list[tuple[bytes, bytes]] = []
            for name in SERVER_PUSH_HEADERS_TO_COPY:
                for value in self.headers.getlist(name):
                    raw_headers.append((name.encode("latin-1"), value.encode("latin-1")))
            await self._send({"type": "http.response.push", "path": path, "headers": raw_headers})

    async def send_early_hints(self, link: str, /, *additional_links: str) -> None:
        """Send a 103 Early Hints response with the given Link values, if the server supports it."""
        if "http.response.early_hint" in self.scope.get("extensions", {}):
            raw_links = [value.encode("latin-1") for value in (link, *additional_links)]
            await self._send({"type": "http.response.early_hint", "links": raw_links})
