from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import re
import sys
import traceback
import types
import warnings
from collections.abc import Awaitable, Callable, Collection, Generator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from enum import Enum
from re import Pattern
from typing import Any, Literal, Self, SupportsIndex, TypeVar

from rustlette._exception_handler import (
    _NO_HANDLERS,
    _RESPONSE_STARTED,
    _find_handler,
    _send_handler_response,
    wrap_app_handling_exceptions,
)
from rustlette._utils import get_route_path, is_async_callable, parse_host_header
from rustlette.concurrency import run_in_threadpool
from rustlette._rust import RouteTable
from rustlette.convertors import (
    CONVERTOR_TYPES,
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    StringConvertor,
    UUIDConvertor,
)
from rustlette.datastructures import URL, Headers, URLPath
from rustlette.exceptions import HTTPException, StarletteDeprecationWarning
from rustlette.middleware import Middleware
from rustlette.middleware.body_limit import RequestBodyLimitMiddleware
from rustlette.requests import Request
from rustlette.responses import PlainTextResponse, RedirectResponse, Response
from rustlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send
from rustlette.websockets import WebSocket, WebSocketClose

# Libraries may replace this module's `wrap_app_handling_exceptions`. Only while it
# is still this function may `request_response` run its steps inline.
_original_wrap_app_handling_exceptions = wrap_app_handling_exceptions


class NoMatchFound(Exception):
    """Raised by `url_path_for()` and `url_for()` when no route has the given name and parameters."""

    def __init__(self, name: str, path_params: dict[str, Any]) -> None:
        listed = ", ".join(path_params)
        super().__init__(f'No route exists for name "{name}" and params "{listed}".')


class Match(Enum):
    """The result of matching a route against a scope: none, path only (wrong method), or full."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


# The members as module constants, because reading a member from an Enum class
# costs several dict lookups on Python 3.11 and the router does it per request.
_NONE = Match.NONE
_PARTIAL = Match.PARTIAL
_FULL = Match.FULL


async def _respond_through_wrapper(
    endpoint: Callable[[Request], Awaitable[Response]], request: Request, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run the endpoint and send its response through the current `wrap_app_handling_exceptions`, as Starlette does."""

    async def respond(scope: Scope, receive: Receive, send: Send) -> None:
        response = await endpoint(request)
        await response(scope, receive, send)

    await wrap_app_handling_exceptions(respond, request)(scope, receive, send)


def request_response(
    func: Callable[[Request], Awaitable[Response] | Response],
) -> ASGIApp:
    """Turn an endpoint `func(request) -> response` into an ASGI app.

    A plain function runs in the thread pool. Exceptions from the endpoint and from
    sending its response go to the exception handlers in the scope.
    """
    endpoint: Callable[[Request], Awaitable[Response]]
    if is_async_callable(func):
        endpoint = func
    else:
        endpoint = functools.partial(run_in_threadpool, func)  # type: ignore[assignment, call-arg]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        if wrap_app_handling_exceptions is not _original_wrap_app_handling_exceptions:
            await _respond_through_wrapper(endpoint, request, scope, receive, send)
            return

        # The steps of `wrap_app_handling_exceptions(respond, request)`, inline to
        # save two coroutines and two closures per request.
        exception_handlers, status_handlers = request.scope.get("starlette.exception_handlers", _NO_HANDLERS)
        started = False

        def watching_send(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            return send(message)

        try:
            response = await endpoint(request)
            await response(scope, receive, watching_send)
        except Exception as exc:
            handler = _find_handler(exc, exception_handlers, status_handlers)
            if handler is None:
                raise
            if started:
                raise RuntimeError(_RESPONSE_STARTED) from exc
            await _send_handler_response(handler, request, exc, scope, receive, watching_send)

    return app


def websocket_session(
    func: Callable[[WebSocket], Awaitable[None]],
) -> ASGIApp:
    """Turn a coroutine function `func(websocket)` into an ASGI app."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)

        async def call_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
            await func(websocket)

        guarded = wrap_app_handling_exceptions(call_endpoint, websocket)
        await guarded(scope, receive, send)

    return app


def get_name(endpoint: Callable[..., Any]) -> str:
    """Return the default route name for `endpoint`: its `__name__`, or its class name."""
    try:
        return endpoint.__name__
    except AttributeError:
        # Instances of ASGI app classes have no `__name__` of their own.
        return endpoint.__class__.__name__


def replace_params(
    path: str,
    param_convertors: dict[str, Convertor[Any]],
    path_params: dict[str, str],
) -> tuple[str, dict[str, str]]:
    """Fill the `{name}` placeholders of a path format from `path_params`.

    Consumes the parameters it uses from `path_params` and returns the filled path with
    the parameters that are left. Placeholders without a value stay in the path.
    """
    if not path_params:
        return path, path_params

    def substitute(placeholder: re.Match[str]) -> str:
        key = placeholder[1]
        if key not in path_params:
            return placeholder[0]
        return param_convertors[key].to_string(path_params.pop(key))

    return PARAM_FORMAT_REGEX.sub(substitute, path), path_params


# A parameter in a route path, with an optional convertor: "{id}" or "{id:int}".
PARAM_REGEX = re.compile("{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")
# A parameter in a path format, which no longer carries the convertor: "{id}".
PARAM_FORMAT_REGEX = re.compile("{([a-zA-Z_][a-zA-Z0-9_]*)}")


def _lookup_convertor(spec: str | None) -> Convertor[Any]:
    # `spec` is the optional ":int" part of a placeholder, and no spec means "str".
    convertor_name = "str" if spec is None else spec[1:]
    assert convertor_name in CONVERTOR_TYPES, f"Unknown path convertor '{convertor_name}'"
    return CONVERTOR_TYPES[convertor_name]


def _duplicated_params_error(repeated: set[str], path: str) -> ValueError:
    suffix = "s" if len(repeated) > 1 else ""
    listed = ", ".join(sorted(repeated))
    return ValueError(f"Duplicated param name{suffix} {listed} at path {path}")


def _tail_regex(tail: str, is_host: bool) -> str:
    # Host.matches() compares the Host header without its port, so a port in a host
    # pattern stays out of the regex while the format keeps it for URL building. A
    # trailing "]" closes an IPv6 literal, whose colons are not a port.
    if is_host and not tail.endswith("]"):
        tail = tail.rsplit(":", 1)[0]
    return re.escape(tail) + "$"


def compile_path(
    path: str,
) -> tuple[Pattern[str], str, dict[str, Convertor[Any]]]:
    """Compile a route path or a host pattern into (regex, format, convertors).

    A string that does not start with "/" is a host pattern. For "/users/{id:int}":

    regex:      re.compile("^/users/(?P<id>[0-9]+)$")
    format:     "/users/{id}"
    convertors: {"id": IntegerConvertor()}
    """
    is_host = path[:1] != "/"
    regex_pieces = ["^"]
    format_pieces: list[str] = []
    convertors: dict[str, Convertor[Any]] = {}
    repeated: set[str] = set()
    consumed = 0

    for placeholder in PARAM_REGEX.finditer(path):
        key = placeholder[1]
        convertor = _lookup_convertor(placeholder[2])
        literal = path[consumed : placeholder.start()]
        regex_pieces += (re.escape(literal), f"(?P<{key}>{convertor.regex})")
        format_pieces += (literal, "{", key, "}")
        if key in convertors:
            repeated.add(key)
        convertors[key] = convertor
        consumed = placeholder.end()

    if repeated:
        raise _duplicated_params_error(repeated, path)

    tail = path[consumed:]
    regex_pieces.append(_tail_regex(tail, is_host))
    format_pieces.append(tail)

    # Host names are case-insensitive (RFC 9110, section 4.2.3), paths are not.
    return (
        re.compile("".join(regex_pieces), re.IGNORECASE if is_host else 0),
        "".join(format_pieces),
        convertors,
    )


def _unwrap_partial(endpoint: Any) -> Any:
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    return endpoint


def _is_plain_endpoint(endpoint: Any) -> bool:
    # Functions and methods take a request or a websocket. Anything else, such as a
    # class or an instance with `__call__`, is treated as an ASGI app.
    handler = _unwrap_partial(endpoint)
    return inspect.isfunction(handler) or inspect.ismethod(handler)


def _convert_params(param_convertors: dict[str, Convertor[Any]], matched: dict[str, Any]) -> dict[str, Any]:
    # Converts in place: `matched` is the fresh dict from `groupdict()`, and
    # replacing the values of existing keys while iterating is allowed.
    for key, value in matched.items():
        matched[key] = param_convertors[key].convert(value)
    return matched


# Each change that can alter how a router matches takes a new number from this
# counter: a mutation of a route list, or an assignment to a matching attribute of
# a route. Numbers never repeat, so a route index built from a list at version N is
# stale as soon as the list's version is anything else.
_next_version = itertools.count(1).__next__

# The version of the route attributes that matching reads. A router compares it
# with the one its route index was built at, because a route can change while it
# sits in the list (FastAPI assigns `path_regex` after copying a `Mount`).
_route_attribute_version = _next_version()

# Attributes that `matches()` or the route index reads. Assigning one of them on
# any route makes every router rebuild its index on its next request.
_MATCHING_ATTRIBUTES = frozenset(
    {
        "__class__",
        "_base_app",
        "app",
        "endpoint",
        "host",
        "host_regex",
        "matches",
        "methods",
        "param_convertors",
        "path",
        "path_format",
        "path_regex",
        "routes",
    }
)


def _bump_route_attribute_version() -> None:
    global _route_attribute_version
    _route_attribute_version = _next_version()


def _wrap_app(app: ASGIApp, middleware: Sequence[Middleware] | None, max_body_size: int | None) -> ASGIApp:
    # The first middleware in the list ends up outermost, and the body size limit
    # sits outside all of them.
    for cls, args, kwargs in reversed(middleware or ()):
        app = cls(app, *args, **kwargs)
    if max_body_size is None:
        return app
    return RequestBodyLimitMiddleware(app, max_body_size=max_body_size)


def _allowed_methods(methods: Collection[str] | None) -> set[str] | None:
    # None means any method. Accepting GET implies accepting HEAD.
    if methods is None:
        return None
    allowed = {method.upper() for method in methods}
    if "GET" in allowed:
        allowed.add("HEAD")
    return allowed


async def _send_not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await WebSocketClose()(scope, receive, send)
    else:
        await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)


def _same_attributes(first: Any, second: Any, names: tuple[str, ...]) -> bool:
    return all(getattr(first, name) == getattr(second, name) for name in names)


def _endpoint_url_path(
    route: Any, name: str, path_params: dict[str, Any], protocol: Literal["http", "websocket"]
) -> URLPath:
    # A route with an endpoint builds a URL only from exactly its own parameters.
    convertors = route.param_convertors
    if name != route.name or set(path_params) != set(convertors):
        raise NoMatchFound(name, path_params)
    path, unused = replace_params(route.path_format, convertors, path_params)
    assert not unused
    return URLPath(path=path, protocol=protocol)


def _inner_route_name(prefix: str | None, name: str) -> str | None:
    # Routes below a named mount or host are named "<prefix>:<route name>". Below an
    # unnamed one they keep their own names.
    if prefix is None:
        return name
    if name.startswith(prefix + ":"):
        return name[len(prefix) + 1 :]
    return None


_NO_URL = object()


def _first_url_path(routes: Iterable[BaseRoute], name: str, path_params: dict[str, Any]) -> Any:
    """Return the first URL path that one of `routes` builds, or `_NO_URL`."""
    for candidate in routes:
        try:
            return candidate.url_path_for(name, **path_params)
        except NoMatchFound:
            pass
    return _NO_URL


class BaseRoute:
    """The interface a router uses: match a scope, build URLs, handle a request."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in _MATCHING_ATTRIBUTES:
            _bump_route_attribute_version()

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        if name in _MATCHING_ATTRIBUTES:
            _bump_route_attribute_version()

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raise NotImplementedError()  # pragma: no cover

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NotImplementedError()  # pragma: no cover

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError()  # pragma: no cover

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the route as an ASGI app of its own, without a router around it.

        A scope that does not match gets a 404 response, or a close for a websocket.
        """
        result, child_scope = self.matches(scope)
        if result is not _NONE:
            scope.update(child_scope)
            await self.handle(scope, receive, send)
        elif scope["type"] in ("http", "websocket"):
            await _send_not_found(scope, receive, send)


class Route(BaseRoute):
    """An HTTP route: a path pattern, the methods it accepts, and its endpoint."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        assert path.startswith("/"), "Routed paths must start with '/'"
        is_plain = _is_plain_endpoint(endpoint)
        self.path = path
        self.endpoint = endpoint
        self.name = name if name is not None else get_name(endpoint)
        self.include_in_schema = include_in_schema
        # A function endpoint defaults to GET, while an ASGI app without `methods`
        # accepts every method.
        if is_plain and methods is None:
            methods = ("GET",)
        inner = request_response(endpoint) if is_plain else endpoint
        self.app = _wrap_app(inner, middleware, max_body_size)
        self.methods = _allowed_methods(methods)
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # Subclasses that skip __init__ (FastAPI's APIRoute) set only path_regex,
        # param_convertors, endpoint and methods, so this reads nothing else.
        if scope["type"] != "http":
            return _NONE, {}
        found = self.path_regex.match(get_route_path(scope))
        if found is None:
            return _NONE, {}
        path_params: dict[str, Any] = dict(scope.get("path_params", {}))
        captured = found.groupdict()
        if captured:
            path_params.update(_convert_params(self.param_convertors, captured))
        child_scope = {"endpoint": self.endpoint, "path_params": path_params}
        methods = self.methods
        if methods and scope["method"] not in methods:
            return _PARTIAL, child_scope
        return _FULL, child_scope

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return _endpoint_url_path(self, name, path_params, "http")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = self.methods
        if not methods or scope["method"] in methods:
            await self.app(scope, receive, send)
            return

        allow = {"Allow": ", ".join(methods)}
        # Inside an application the exception handlers build the 405 response.
        if "app" in scope:
            raise HTTPException(status_code=405, headers=allow)
        rejection = PlainTextResponse("Method Not Allowed", status_code=405, headers=allow)
        await rejection(scope, receive, send)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Route) and _same_attributes(self, other, ("path", "endpoint", "methods"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, methods={sorted(self.methods or ())!r})"


class WebSocketRoute(BaseRoute):
    """A WebSocket route: a path pattern and its endpoint."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        assert path.startswith("/"), "Routed paths must start with '/'"
        self.path = path
        self.endpoint = endpoint
        self.name = name if name is not None else get_name(endpoint)
        inner = websocket_session(endpoint) if _is_plain_endpoint(endpoint) else endpoint
        self.app = _wrap_app(inner, middleware, None)
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "websocket":
            return _NONE, {}
        found = self.path_regex.match(get_route_path(scope))
        if found is None:
            return _NONE, {}
        path_params: dict[str, Any] = dict(scope.get("path_params", {}))
        path_params.update(_convert_params(self.param_convertors, found.groupdict()))
        return _FULL, {"endpoint": self.endpoint, "path_params": path_params}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return _endpoint_url_path(self, name, path_params, "websocket")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, WebSocketRoute) and _same_attributes(self, other, ("path", "endpoint"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"


class Mount(BaseRoute):
    """A path prefix that hands everything below it to a sub-application or a list of routes."""

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        assert path == "" or path.startswith("/"), "Routed paths must start with '/'"
        assert app is not None or routes is not None, "Either 'app=...', or 'routes=' must be specified"
        self.path = path.rstrip("/")
        # `_base_app` is what `routes` reads, below any middleware of the mount.
        self._base_app: ASGIApp = Router(routes=routes) if app is None else app
        self.app = _wrap_app(self._base_app, middleware, max_body_size)
        self.name = name
        self.path_regex, self.path_format, self.param_convertors = compile_path(f"{self.path}/{{path:path}}")

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the mounted app, or an empty list when it has none."""
        return getattr(self._base_app, "routes", [])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):  # pragma: no cover
            return _NONE, {}
        route_path = get_route_path(scope)
        found = self.path_regex.match(route_path)
        if found is None:
            return _NONE, {}

        captured = _convert_params(self.param_convertors, found.groupdict())
        below = "/" + captured.pop("path")
        path_params: dict[str, Any] = dict(scope.get("path_params", {}))
        path_params.update(captured)
        server_root = scope.get("root_path", "")
        return _FULL, {
            "path_params": path_params,
            # The outermost mount records the root path the server gave, and nested
            # mounts inherit it unchanged. Request.url_for() builds absolute paths
            # from it while root_path grows with each mount.
            "app_root_path": scope.get("app_root_path", server_root),
            "root_path": server_root + route_path[: -len(below)],
            "endpoint": self.app,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        own_name = self.name
        if own_name is not None and name == own_name and "path" in path_params:
            # The mount itself, with `path` as the part below it.
            path_params["path"] = path_params["path"].lstrip("/")
            path, unused = replace_params(self.path_format, self.param_convertors, path_params)
            if not unused:
                return URLPath(path=path)
        else:
            inner_name = _inner_route_name(own_name, name)
            if inner_name is not None:
                # The mount's own `{path}` placeholder becomes empty, but a `path`
                # argument still belongs to the inner route.
                inner_path = path_params.get("path")
                path_params["path"] = ""
                prefix, unused = replace_params(self.path_format, self.param_convertors, path_params)
                if inner_path is not None:
                    unused["path"] = inner_path
                url = _first_url_path(self.routes or [], inner_name, unused)
                if url is not _NO_URL:
                    return URLPath(path=prefix.rstrip("/") + str(url), protocol=url.protocol)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Mount) and _same_attributes(self, other, ("path", "app"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name or ''!r}, app={self.app!r})"


class Host(BaseRoute):
    """A host name pattern that hands matching requests to an app, whatever their path."""

    def __init__(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        assert not host.startswith("/"), "Host must not start with '/'"
        self.host = host
        self.app = app
        self.name = name
        self.host_regex, self.host_format, self.param_convertors = compile_path(host)

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the app, or an empty list when it has none."""
        return getattr(self.app, "routes", [])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):  # pragma: no cover
            return _NONE, {}
        parsed = parse_host_header(Headers(scope=scope).get("host"))
        if parsed is None:
            return _NONE, {}
        found = self.host_regex.match(parsed.host.lower())
        if found is None:
            return _NONE, {}
        path_params: dict[str, Any] = dict(scope.get("path_params", {}))
        path_params.update(_convert_params(self.param_convertors, found.groupdict()))
        return _FULL, {"path_params": path_params, "endpoint": self.app}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        own_name = self.name
        if own_name is not None and name == own_name and "path" in path_params:
            # The host itself, with `path` as the URL path on it.
            path = path_params.pop("path")
            host, unused = replace_params(self.host_format, self.param_convertors, path_params)
            if not unused:
                return URLPath(path=path, host=host)
        else:
            inner_name = _inner_route_name(own_name, name)
            if inner_name is not None:
                host, unused = replace_params(self.host_format, self.param_convertors, path_params)
                url = _first_url_path(self.routes or [], inner_name, unused)
                if url is not _NO_URL:
                    return URLPath(path=str(url), protocol=url.protocol, host=host)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Host) and _same_attributes(self, other, ("host", "app"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r}, name={self.name or ''!r}, app={self.app!r})"


_T = TypeVar("_T")


class _AsyncLiftContextManager(AbstractAsyncContextManager[_T]):
    """A synchronous context manager behind the async context manager interface."""

    def __init__(self, cm: AbstractContextManager[_T]):
        self._sync_manager = cm

    async def __aenter__(self) -> _T:
        return self._sync_manager.__enter__()

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        # A true result suppresses the exception, as it does for the sync manager.
        return self._sync_manager.__exit__(*exc_info)


def _wrap_gen_lifespan_context(
    lifespan_context: Callable[[Any], Generator[Any, Any, Any]],
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    sync_factory = contextlib.contextmanager(lifespan_context)

    @functools.wraps(sync_factory)
    def lifted(app: Any) -> _AsyncLiftContextManager[Any]:
        return _AsyncLiftContextManager(sync_factory(app))

    return lifted


# The deprecation message for a lifespan written as a generator function, with the kind of function filled in.
_LIFESPAN_GENERATOR_WARNING = "{} lifespans are deprecated, use an @contextlib.asynccontextmanager function instead"


def _adapt_lifespan(lifespan: Any) -> Any:
    """Return `lifespan` as an async context manager factory, warning for generator functions."""
    adapted: Callable[[Any], AbstractAsyncContextManager[Any]]
    if inspect.isasyncgenfunction(lifespan):
        kind = "async generator function"
        adapted = asynccontextmanager(lifespan)
    elif inspect.isgeneratorfunction(lifespan):
        kind = "generator function"
        adapted = _wrap_gen_lifespan_context(lifespan)
    else:
        return lifespan
    warnings.warn(_LIFESPAN_GENERATOR_WARNING.format(kind), StarletteDeprecationWarning)
    return adapted


class _DefaultLifespan:
    """The lifespan of a router without one: startup and shutdown do nothing."""

    def __init__(self, router: Router):
        self._router = router

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __call__(self: _T, app: object) -> _T:
        return self


class _RouteList(list[Any]):
    """A router's `routes`: a real `list` that takes a new version on every mutation."""

    __slots__ = ("_version",)

    def __init__(self, iterable: Any = (), /) -> None:
        super().__init__(iterable)
        self._version = _next_version()

    def _touch(self) -> None:
        self._version = _next_version()

    def append(self, item: Any, /) -> None:
        super().append(item)
        self._touch()

    def extend(self, iterable: Any, /) -> None:
        try:
            super().extend(iterable)
        finally:
            # A failing iterator may have added some items already.
            self._touch()

    def insert(self, index: Any, item: Any, /) -> None:
        super().insert(index, item)
        self._touch()

    def remove(self, item: Any, /) -> None:
        super().remove(item)
        self._touch()

    def pop(self, index: Any = -1, /) -> Any:
        item = super().pop(index)
        self._touch()
        return item

    def clear(self) -> None:
        super().clear()
        self._touch()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().sort(*args, **kwargs)
        finally:
            self._touch()

    def reverse(self) -> None:
        super().reverse()
        self._touch()

    def __setitem__(self, index: Any, value: Any) -> None:
        try:
            super().__setitem__(index, value)
        finally:
            self._touch()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._touch()

    # `+=` takes any iterable while `+` takes only lists. typeshed's `list` has the same mismatch.
    def __iadd__(self, other: Iterable[Any]) -> Self:  # type: ignore[misc]
        try:
            return super().__iadd__(other)
        finally:
            self._touch()

    def __imul__(self, count: SupportsIndex) -> Self:
        result = super().__imul__(count)
        self._touch()
        return result


# The regex and the convert() of each built-in convertor, which the route table
# recognizes. Any other convertor, even one registered under a built-in name, makes
# its route opaque, because its convert() may raise where the table cannot tell.
_TABLE_CONVERTORS: dict[type[Convertor[Any]], tuple[str, Callable[..., Any]]] = {
    convertor_class: (convertor_class.regex, convertor_class.convert)
    for convertor_class in (StringConvertor, PathConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)
}

# `int()` raises ValueError for more digits than sys.get_int_max_str_digits(), and
# that limit is never below this many digits.
_INT_DIGITS_CHECK_THRESHOLD = sys.int_info.str_digits_check_threshold
_overlong_digit_runs: dict[int, Pattern[str]] = {}


def _has_overlong_digit_run(route_path: str) -> bool:
    """Tell whether `route_path` has a run of ASCII digits longer than `int()` accepts."""
    limit = sys.get_int_max_str_digits()
    if limit == 0 or len(route_path) <= limit:
        return False
    pattern = _overlong_digit_runs.get(limit)
    if pattern is None:
        # The lookbehind starts a try only at the first digit of a run, which keeps
        # the search linear in the length of the path.
        pattern = re.compile(f"(?<![0-9])[0-9]{{{limit + 1}}}")
        _overlong_digit_runs[limit] = pattern
    return pattern.search(route_path) is not None


def _uses_table_convertors(path_regex: Pattern[str], param_convertors: Any) -> bool:
    """Tell whether each group of `path_regex` has an unchanged built-in convertor with the same regex.

    Their convert() accepts every value that their regex matches, except that
    `int()` rejects an overlong digit run, which the router checks per request.
    """
    if type(param_convertors) is not dict or param_convertors.keys() != path_regex.groupindex.keys():
        return False
    for name, convertor in param_convertors.items():
        known = _TABLE_CONVERTORS.get(type(convertor))
        if known is None or "convert" in getattr(convertor, "__dict__", ()):
            return False
        regex, convert = known
        if convertor.regex != regex or type(convertor).convert is not convert:
            return False
        if f"(?P<{name}>{regex})" not in path_regex.pattern:
            return False
    return True


# The functions as defined here. A class whose `matches` was patched later, on
# the class itself or through a subclass, no longer uses them.
_TABLE_MATCHES_KINDS: dict[Any, str] = {
    Route.matches: "http",
    WebSocketRoute.matches: "websocket",
    Mount.matches: "mount",
}


def _describe_route(route: Any) -> tuple[Any, ...] | None:
    """Return the route table entry for `route`, or None when only its `matches()` can tell.

    A route is described only when its `matches()` is the one that `Route`,
    `WebSocketRoute` or `Mount` defines, neither its class nor the instance replaces
    it, and its path uses built-in convertors only.
    """
    matches = getattr(type(route), "matches", None)
    kind = _TABLE_MATCHES_KINDS.get(matches) if isinstance(matches, types.FunctionType) else None
    if kind is None:
        return None
    if "matches" in getattr(route, "__dict__", ()):
        return None

    # An attribute that is missing or raises makes `matches()` raise too, and only
    # calling it in declaration order raises at the point where Starlette would.
    try:
        path_regex = route.path_regex
        param_convertors = route.param_convertors
        # A partial match, which the table reports without calling `matches()`,
        # puts the endpoint into the child scope.
        methods, _ = (route.methods, route.endpoint) if kind == "http" else (None, None)
    except Exception:
        return None
    if type(path_regex) is not re.Pattern or type(path_regex.pattern) is not str:
        return None
    if not _uses_table_convertors(path_regex, param_convertors):
        return None

    if kind == "http":
        return ("http", path_regex, methods)
    if kind == "mount" and type(param_convertors.get("path")) is not PathConvertor:
        return None
    return (kind, path_regex)


class _RouteIndex:
    """A route table built from one version of a router's routes."""

    __slots__ = (
        "table",
        "routes",
        "opaque",
        "searchable",
        "http_params",
        "route_classes",
        "list_version",
        "attribute_version",
    )

    def __init__(self, routes: Sequence[BaseRoute], list_version: int, attribute_version: int) -> None:
        # Matching indexes this snapshot, so a list that changes during a request
        # cannot shift the positions that the table returns.
        self.routes = tuple(routes)
        entries = [_describe_route(route) for route in self.routes]
        self.table = RouteTable(entries)
        self.opaque = self.table.opaque
        # By position: the parameter names of an HTTP route in the order of its
        # regex groups, which is the order of the values the table returns, or None
        # for any other route. The router builds the child scope of a full match
        # on such a route itself, as its `matches()` would.
        self.http_params = tuple(
            tuple(entry[1].groupindex) if entry is not None and entry[0] == "http" else None for entry in entries
        )
        # For a single route the ordered scan is one `matches()` call, which costs
        # less than a lookup, even when the lookup saves that call.
        self.searchable = len(self.routes) > 1 and len(self.opaque) < len(self.routes)
        # The classes of the routes the table matches, with the `matches` each had.
        # Patching `matches` on a class sets no route attribute, so the router
        # compares these on every request.
        classes = {type(route) for route, entry in zip(self.routes, entries) if entry is not None}
        self.route_classes = tuple((cls, cls.matches) for cls in classes)
        self.list_version = list_version
        self.attribute_version = attribute_version

    def matches_patched(self) -> bool:
        """Tell whether a route class got another `matches` since the build."""
        for cls, matches in self.route_classes:
            if cls.matches is not matches:
                return True
        return False


_KnownMatches = dict[int, tuple[Match, Scope]]


def _scan_routes(
    routes: Sequence[BaseRoute], scope: Scope, known: _KnownMatches | None = None
) -> tuple[BaseRoute, Scope] | None:
    """Find the route for `scope` by calling each route's `matches()` in order.

    Returns the first full match, else the first partial one, else None. `known`
    contains the results of `matches()` calls already made for this scope, by
    position, so that no route is called twice.
    """
    partial = None
    if known is None:
        # The loop below without the lookups in `known`: routers whose routes the
        # table cannot describe, such as FastAPI's, take this path on every request.
        for route in routes:
            match, child_scope = route.matches(scope)
            if match is _FULL:
                return route, child_scope
            if match is _PARTIAL and partial is None:
                partial = (route, child_scope)
        return partial

    for position, route in enumerate(routes):
        if position in known:
            match, child_scope = known[position]
        else:
            match, child_scope = route.matches(scope)
        if match is _FULL:
            return route, child_scope
        if match is _PARTIAL and partial is None:
            partial = (route, child_scope)
    return partial


def _any_route_matches(routes: Sequence[BaseRoute], scope: Scope, known: _KnownMatches | None = None) -> bool:
    """Tell whether some route gives a full or partial match, calling them in order."""
    for position, route in enumerate(routes):
        if known is not None and position in known:
            match = known[position][0]
        else:
            match = route.matches(scope)[0]
        if match is not _NONE:
            return True
    return False


def _merge_lifespan_state(scope: Scope, state: Any) -> None:
    # The server copies the lifespan scope's "state" into every request scope, so a
    # server without it cannot pass on what the lifespan yielded.
    if "state" not in scope:
        raise RuntimeError('The server does not support "state" in the lifespan scope.')
    scope["state"].update(state)


class Router:
    """A list of routes tried in order, with the lifespan of the app that owns them."""

    # Built on the first request and again after the routes change. A class
    # attribute, so that a subclass that skips __init__ still routes.
    _route_index: _RouteIndex | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # A plain list is wrapped so that its mutations reach the route index. Any
        # other sequence stays as it is, and the router then tries its routes one
        # by one on every request.
        if name == "routes" and type(value) is list:
            value = _RouteList(value)
        super().__setattr__(name, value)

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        # Lifespan[Any], because the router cannot know the type of the application
        # object that the lifespan receives.
        lifespan: Lifespan[Any] | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        self.routes = [] if routes is None else list(routes)
        self.redirect_slashes = redirect_slashes
        self.default = default if default is not None else self.not_found
        self.lifespan_context: Lifespan[Any] = _DefaultLifespan(self) if lifespan is None else _adapt_lifespan(lifespan)
        self.middleware_stack = _wrap_app(self.app, middleware, max_body_size)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send a 404 response, or close the websocket, for a scope that no route matched."""
        # Inside an application, raise so that its exception handlers build the 404
        # and users can replace it. A router used without an application sends it itself.
        if scope["type"] != "websocket" and "app" in scope:
            raise HTTPException(status_code=404)
        await _send_not_found(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        url = _first_url_path(self.routes, name, path_params)
        if url is _NO_URL:
            raise NoMatchFound(name, path_params)
        return url  # type: ignore[no-any-return]

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the ASGI lifespan protocol around `lifespan_context`.

        A mapping yielded at startup is merged into the lifespan scope's "state", which
        the server copies into every request scope.
        """
        app: Any = scope.get("app")
        phase = "startup"
        await receive()
        try:
            async with self.lifespan_context(app) as state:
                if state is not None:
                    _merge_lifespan_state(scope, state)
                await send({"type": "lifespan.startup.complete"})
                phase = "shutdown"
                await receive()
        except BaseException:
            await send({"type": f"lifespan.{phase}.failed", "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch through the router middleware, which ends in `app()`."""
        await self.middleware_stack(scope, receive, send)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand the scope to the first route that fully matches it."""
        assert scope["type"] in ("http", "websocket", "lifespan")

        if "router" not in scope:
            scope["router"] = self

        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return

        # A route that matches by path but not by method is used only when no route
        # matches fully, and its handle() then sends the 405 response.
        found = self._match_route(scope)
        if found is not None:
            route, child_scope = found
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return

        route_path = get_route_path(scope)
        if scope["type"] == "http" and self.redirect_slashes and route_path != "/":
            # Redirect to the same path with the trailing slash added or removed,
            # if some route would take that path.
            path = scope["path"]
            redirect_scope = {**scope, "path": path.rstrip("/") if route_path.endswith("/") else path + "/"}
            if self._has_match(redirect_scope):
                redirect = RedirectResponse(url=str(URL(scope=redirect_scope)))
                await redirect(scope, receive, send)
                return

        await self.default(scope, receive, send)

    def _current_route_index(self) -> _RouteIndex | None:
        """Return the route index for the current routes, rebuilding a stale one.

        Returns None when `routes` is not a list that reports its changes.
        """
        routes = self.routes
        if type(routes) is not _RouteList:
            return None
        index = self._route_index
        if (
            index is None
            or index.list_version != routes._version
            or index.attribute_version != _route_attribute_version
            or index.matches_patched()
        ):
            index = _RouteIndex(routes, routes._version, _route_attribute_version)
            self._route_index = index
        return index

    def _lookup(
        self, index: _RouteIndex, scope: Scope
    ) -> tuple[int | None, int | None, tuple[str, ...] | None] | None:
        """Look up `(full, partial, values)` in the route table, or return None when the table cannot decide.

        It cannot when a value is not a plain `str`, or when the path contains a
        digit run longer than `int()` accepts. Starlette then raises ValueError in
        the first `{name:int}` route that matches the path, even one that would only
        be a partial match, and only the ordered scan does the same.

        `values` are the unconverted parameter values of the full match, if any.
        """
        route_path = get_route_path(scope)
        scope_type = scope["type"]
        if scope_type == "http":
            method = scope.get("method")
            if type(method) is not str:
                return None
        else:
            method = None
        if type(route_path) is not str:
            return None
        if len(route_path) > _INT_DIGITS_CHECK_THRESHOLD and _has_overlong_digit_run(route_path):
            return None
        return index.table.lookup_params(route_path, scope_type, method)

    def _match_route(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """Find the route that Starlette's in-order loop would pick, with its child scope.

        The table gives the first full and partial matches among the routes it
        describes. Opaque routes declared before the full match are called in order.
        The chosen route's own `matches()` supplies the child scope, except for a full
        match on a plain HTTP route, whose child scope is built here from the
        parameter values the table captured. A
        route whose result differs from the table's prediction sends the request
        through the plain ordered scan.
        """
        routes = self.routes
        if type(routes) is _RouteList and len(routes) < 2:
            # With one route, the ordered scan is one `matches()` call, which
            # costs less than checking that the index is current.
            return _scan_routes(routes, scope)

        # The freshness test of `_current_route_index()`, written out because it
        # runs on every request.
        index = self._route_index
        if (
            type(routes) is not _RouteList
            or index is None
            or index.list_version != routes._version
            or index.attribute_version != _route_attribute_version
            or index.matches_patched()
        ):
            index = self._current_route_index()
            if index is None:
                return _scan_routes(routes, scope)
        found = self._lookup(index, scope) if index.searchable else None
        if found is None:
            return _scan_routes(index.routes, scope)

        full, partial, values = found
        snapshot = index.routes
        known: _KnownMatches | None = None
        opaque_partial = None
        if index.opaque:
            known = {}
            stop = len(snapshot) if full is None else full
            for position in index.opaque:
                if position >= stop:
                    break
                route = snapshot[position]
                match, child_scope = route.matches(scope)
                if match is _FULL:
                    return route, child_scope
                known[position] = (match, child_scope)
                if match is _PARTIAL and opaque_partial is None and (partial is None or position < partial):
                    opaque_partial = (route, child_scope)

        if full is not None:
            names = index.http_params[full]
            if names is not None and (values is not None or not names):
                # What `Route.matches()` returns, without running the regex again.
                # The attributes are read now, as `matches()` reads them: a
                # convertor dict or a method set changed in place does not reach
                # the table. The route's class has `Route.matches` but need not
                # subclass `Route`.
                http_route: Any = snapshot[full]
                path_params = dict(scope.get("path_params", {}))
                if names and values is not None:
                    convertors = http_route.param_convertors
                    for name, value in zip(names, values):
                        path_params[name] = convertors[name].convert(value)
                child_scope = {"endpoint": http_route.endpoint, "path_params": path_params}
                methods = http_route.methods
                if not methods or scope["method"] in methods:
                    return http_route, child_scope
            chosen, expected = full, _FULL
        elif opaque_partial is not None:
            return opaque_partial
        elif partial is not None:
            chosen, expected = partial, _PARTIAL
        else:
            return None
        route = snapshot[chosen]
        match, child_scope = route.matches(scope)
        if match is expected:
            return route, child_scope

        # The route disagrees with the table, so the ordered scan decides.
        if known is None:
            known = {}
        known[chosen] = (match, child_scope)
        return _scan_routes(snapshot, scope, known)

    def _has_match(self, scope: Scope) -> bool:
        """Tell whether any route gives a full or partial match for `scope`.

        The redirect for a trailing slash uses this. As in Starlette's loop, the
        routes are called in order and the first one that matches ends the search.
        """
        index = self._current_route_index()
        if index is None:
            return _any_route_matches(self.routes, scope)
        found = self._lookup(index, scope) if index.searchable else None
        if found is None:
            return _any_route_matches(index.routes, scope)

        full, partial, _ = found
        # The table reports a partial match only when it comes before the full one.
        first = full if partial is None else partial
        routes = index.routes
        known: _KnownMatches = {}
        stop = len(routes) if first is None else first
        for position in index.opaque:
            if position >= stop:
                break
            match, child_scope = routes[position].matches(scope)
            if match is not _NONE:
                return True
            known[position] = (match, child_scope)

        if first is None:
            return False
        match, child_scope = routes[first].matches(scope)
        if match is not _NONE:
            return True
        known[first] = (match, child_scope)
        return _any_route_matches(routes, scope, known)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Router) and self.routes == other.routes

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:  # pragma: no cover
        """Append a `Mount` of `app` at `path`."""
        self.routes.append(Mount(path, app=app, name=name))

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:  # pragma: no cover
        """Append a `Host` route that sends requests for `host` to `app`."""
        self.routes.append(Host(host, app=app, name=name))

    def add_route(
        self,
        path: str,
        endpoint: Callable[[Request], Awaitable[Response] | Response],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:  # pragma: no cover
        """Append a `Route` for `endpoint` at `path`."""
        route = Route(path, endpoint=endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        self.routes.append(route)

    def add_websocket_route(
        self,
        path: str,
        endpoint: Callable[[WebSocket], Awaitable[None]],
        name: str | None = None,
    ) -> None:  # pragma: no cover
        """Append a `WebSocketRoute` for `endpoint` at `path`."""
        self.routes.append(WebSocketRoute(path, endpoint=endpoint, name=name))
