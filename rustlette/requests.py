from __future__ import annotations

import functools
import json
import sys
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, NoReturn, cast

import anyio

from rustlette import _rust
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

_CONNECTION_TYPES = ("http", "websocket")


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Parse a Cookie header into a dict, the way browsers read cookies rather than by RFC 6265.

    Pairs are split at `;` and at the first `=`. A pair without `=` is a value with an
    empty name, as browsers treat it. Names and values are stripped, quoted values are
    unquoted like `http.cookies` does, and a repeated name keeps its last value.
    `SimpleCookie.load` is not used, because it rejects much of what browsers send. The
    parsing runs in the Rust extension, with the rules listed in docs/requests.md.
    """
    return _rust.parse_cookie_header(cookie_string)


class ClientDisconnect(Exception):
    """The client disconnected before the request body was read."""


StateT = TypeVar("StateT", bound=Mapping[str, Any] | State, default=State)


class HTTPConnection(Mapping[str, Any], Generic[StateT]):
    """The parts of an incoming connection that HTTP requests and WebSockets share.

    It is also a read-only mapping over the ASGI scope. Derived values such as `url`,
    `headers` and `cookies` are built on first access and cached in attributes with a
    leading underscore (`_url`, `_headers`, `_cookies`), which middleware may also set.
    """

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        assert scope["type"] in _CONNECTION_TYPES
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
        url: URL | None = getattr(self, "_url", None)
        if url is None:
            url = self._url = URL(scope=self.scope)
        return url

    @property
    def base_url(self) -> URL:
        base_url: URL | None = getattr(self, "_base_url", None)
        if base_url is None:
            base_url = self._base_url = URL(scope=self._base_url_scope())
        return base_url

    def _base_url_scope(self) -> dict[str, Any]:
        """Copy the scope with the path and query of the application root."""
        scope = self.scope
        # Inside a Mount, `root_path` is the mount's path. `url_for` builds URLs for the
        # whole application, so the base is the root path of the top-level app.
        if "app_root_path" in scope:
            root_path = scope["app_root_path"]
        else:
            root_path = scope.get("root_path", "")
        path = root_path if root_path.endswith("/") else root_path + "/"
        return {**scope, "path": path, "query_string": b"", "root_path": root_path}

    @property
    def headers(self) -> Headers:
        headers: Headers | None = getattr(self, "_headers", None)
        if headers is None:
            headers = self._headers = Headers(scope=self.scope)
        return headers

    @property
    def query_params(self) -> QueryParams:
        params: QueryParams | None = getattr(self, "_query_params", None)
        if params is None:
            params = self._query_params = QueryParams(self.scope["query_string"])
        return params

    @property
    def path_params(self) -> dict[str, Any]:
        # An annotated local instead of `typing.cast()`, which is a call at run time.
        path_params: dict[str, Any] = self.scope.get("path_params", {})
        return path_params

    @property
    def cookies(self) -> dict[str, str]:
        cookies: dict[str, str] | None = getattr(self, "_cookies", None)
        if cookies is None:
            # Several Cookie headers are merged, and a later one wins for a repeated name.
            cookies = {}
            for header in self.headers.getlist("cookie"):
                cookies |= cookie_parser(header)
            self._cookies = cookies
        return cookies

    @property
    def client(self) -> Address | None:
        # ASGI gives `client` as a (host, port) pair, or None when it is unknown.
        peer = self.scope.get("client")
        return None if peer is None else Address(*peer)

    @property
    def session(self) -> dict[str, Any]:
        assert "session" in self.scope, "SessionMiddleware must be installed to access request.session"
        session: Session = self.scope["session"]
        # A custom session middleware may store a plain dict, without `mark_accessed`.
        mark_accessed = getattr(session, "mark_accessed", None)
        if mark_accessed is not None:
            mark_accessed()
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
        state: State | None = getattr(self, "_state", None)
        if state is None:
            # The State object writes through to `scope["state"]`, which the lifespan may
            # have filled and which other connection objects for this scope share.
            state = self._state = State(self.scope.setdefault("state", {}))
        return cast(StateT, state)

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        # `router` is the first router the request passed through, so names resolve across
        # the whole application, mounts included.
        provider: Router | Starlette | None = self.scope.get("router") or self.scope.get("app")
        if provider is None:
            raise RuntimeError("The `url_for` method can only be used inside a Starlette application or with a router.")
        return provider.url_path_for(name, **path_params).make_absolute_url(base_url=self.base_url)


async def empty_receive() -> NoReturn:
    raise RuntimeError("Receive channel has not been made available")


async def empty_send(message: Message) -> NoReturn:
    raise RuntimeError("Send channel has not been made available")


class Request(HTTPConnection[StateT]):
    """An incoming HTTP request, with its body read from the ASGI `receive` channel.

    The body is cached in `_body` once read, the parsed JSON in `_json` and the form in
    `_form`.
    """

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
        method: str = self.scope["method"]
        return method

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
        elif self._stream_consumed:
            raise RuntimeError("Stream consumed")
        else:
            while not self._stream_consumed:
                message = await self._receive()
                match message["type"]:
                    case "http.request":
                        chunk = message.get("body", b"")
                        # The last message of the body has no `more_body`, or a false one.
                        self._stream_consumed = not message.get("more_body", False)
                        if chunk:
                            yield chunk
                    case "http.disconnect":
                        self._is_disconnected = True
                        raise ClientDisconnect()
        yield b""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            parts: list[bytes] = []
            async with aclosing(self.stream()) as chunks:
                async for chunk in chunks:
                    parts.append(chunk)
            self._body = b"".join(parts)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body())
        return self._json

    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        if self._form is None:
            make_parser = self._form_parser_factory(max_files, max_fields, max_part_size)
            if make_parser is None:
                self._form = FormData()
            else:
                self._form = await self._parse_form(make_parser)
        return self._form

    def _form_parser_factory(
        self, max_files: int | float, max_fields: int | float, max_part_size: int
    ) -> Callable[[Headers, AsyncGenerator[bytes, None]], MultiPartParser | FormParser] | None:
        """Choose the parser for the Content-Type, or None if the body is no form."""
        media_type, _ = parse_options_header(self.headers.get("Content-Type"))
        if media_type == b"multipart/form-data":
            return functools.partial(
                MultiPartParser, max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
            )
        if media_type == b"application/x-www-form-urlencoded":
            # A urlencoded body has no files, so `max_files` does not apply.
            return functools.partial(FormParser, max_fields=max_fields, max_part_size=max_part_size)
        return None

    async def _parse_form(
        self, make_parser: Callable[[Headers, AsyncGenerator[bytes, None]], MultiPartParser | FormParser]
    ) -> FormData:
        try:
            async with aclosing(self.stream()) as chunks:
                return await make_parser(self.headers, chunks).parse()
        except MultiPartException as exc:
            # Inside an application a bad form is a client error, so it becomes a 400
            # response with the reason as detail.
            if "app" in self.scope:
                raise HTTPException(status_code=400, detail=exc.message)
            raise

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
        parsing = self._get_form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)
        return AwaitableOrContextManagerWrapper(parsing)

    async def close(self) -> None:
        if self._form is not None:
            await self._form.close()

    async def is_disconnected(self) -> bool:
        """Tell whether the client has disconnected, without waiting for the next message."""
        if not self._is_disconnected:
            message = await self._receive_if_ready()
            if message is not None and message.get("type") == "http.disconnect":
                self._is_disconnected = True
        return self._is_disconnected

    async def _receive_if_ready(self) -> Message | None:
        """Return the next message if `receive` has one at hand, else None.

        The scope is cancelled before the call, so `receive` returns only a message it can
        give without waiting. Any wait is cancelled at once.
        """
        with anyio.CancelScope() as scope:
            scope.cancel()
            return await self._receive()
        return None

    async def send_push_promise(self, path: str) -> None:
        """Ask the server to push `path` (HTTP/2 server push), if the server supports it."""
        if "http.response.push" not in self.scope.get("extensions", {}):
            return
        copied = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name in SERVER_PUSH_HEADERS_TO_COPY
            for value in self.headers.getlist(name)
        ]
        await self._send({"type": "http.response.push", "path": path, "headers": copied})

    async def send_early_hints(self, link: str, /, *additional_links: str) -> None:
        """Send a 103 Early Hints response with the given Link values, if the server supports it."""
        if "http.response.early_hint" not in self.scope.get("extensions", {}):
            return
        links = [value.encode("latin-1") for value in (link, *additional_links)]
        await self._send({"type": "http.response.early_hint", "links": links})
