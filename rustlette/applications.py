from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from rustlette.datastructures import State, URLPath
from rustlette.middleware import Middleware, _MiddlewareFactory
from rustlette.middleware.body_limit import RequestBodyLimitMiddleware
from rustlette.middleware.errors import ServerErrorMiddleware
from rustlette.middleware.exceptions import ExceptionMiddleware
from rustlette.requests import Request
from rustlette.responses import Response
from rustlette.routing import BaseRoute, Router
from rustlette.types import ASGIApp, ExceptionHandler, Lifespan, Receive, Scope, Send

AppType = TypeVar("AppType", bound="Starlette")
P = ParamSpec("P")

# Handlers under these keys catch what nothing else handled, so they belong to
# ServerErrorMiddleware, the outermost layer, and not to ExceptionMiddleware.
_SERVER_ERROR_KEYS = (500, Exception)


def _split_exception_handlers(
    handlers: Mapping[Any, ExceptionHandler],
) -> tuple[ExceptionHandler | None, dict[Any, ExceptionHandler]]:
    """Separate the server error handler from the handlers for specific errors.

    When both `500` and `Exception` have a handler, the one registered last wins.
    """
    server_error_handler: ExceptionHandler | None = None
    specific: dict[Any, ExceptionHandler] = {}
    for key, handler in handlers.items():
        if key in _SERVER_ERROR_KEYS:
            server_error_handler = handler
        else:
            specific[key] = handler
    return server_error_handler, specific


class Starlette:
    """An ASGI application: a router wrapped in error handling and user middleware."""

    def __init__(
        self: AppType,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        lifespan: Lifespan[AppType] | None = None,
        *,
        max_body_size: int | None = None,
    ) -> None:
        """Create the application.

        Parameters:
            debug: Send traceback pages for unhandled errors.
            routes: The HTTP and WebSocket routes, tried in order.
            middleware: Middleware run on every request, first in the list outermost.
                `ServerErrorMiddleware` always runs outside them, to turn any
                unhandled error into a 500 response. `ExceptionMiddleware` always runs
                inside them, to turn exceptions that have a handler into responses.
            exception_handlers: Handlers keyed by exception class or by HTTP status
                code. A handler is called as `handler(request, exc)`, may be a plain or
                an async function, and returns the response. A handler for `500` or
                `Exception` goes to `ServerErrorMiddleware`.
            lifespan: A function that takes the application and returns an async
                context manager, entered at startup and exited at shutdown. A mapping it
                yields becomes the initial `request.state` of every request.
            max_body_size: The maximum size in bytes of an HTTP request body.
                `None` sets no limit.
        """
        self.debug = debug
        self.state = State()
        self.router = Router(routes, lifespan=lifespan)
        self.max_body_size = max_body_size
        # Copies, so that add_middleware and add_exception_handler never edit the caller's objects.
        self.exception_handlers: dict[Any, ExceptionHandler] = dict(exception_handlers or {})
        self.user_middleware: list[Middleware] = list(middleware or ())
        # None until the first call. Subclasses such as FastAPI's set and read this
        # attribute, so it keeps Starlette's name and meaning.
        self.middleware_stack: ASGIApp | None = None

    def _middleware_layers(self) -> list[Middleware]:
        """List every middleware of the stack, outermost first."""
        server_error_handler, specific_handlers = _split_exception_handlers(self.exception_handlers)

        outer = [Middleware(ServerErrorMiddleware, handler=server_error_handler, debug=self.debug)]
        # The body limit wraps the user middleware, so their reads of the body count against it too.
        if self.max_body_size is not None:
            outer.append(Middleware(RequestBodyLimitMiddleware, max_body_size=self.max_body_size))
        inner = Middleware(ExceptionMiddleware, handlers=specific_handlers, debug=self.debug)
        return [*outer, *self.user_middleware, inner]

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap the router in the middleware, from the innermost out, and return the outermost app."""
        app: ASGIApp = self.router
        for factory, args, kwargs in self._middleware_layers()[::-1]:
            app = factory(app, *args, **kwargs)
        return app

    @property
    def routes(self) -> list[BaseRoute]:
        """The router's list of routes."""
        return self.router.routes

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self.router.url_path_for(name, **path_params)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        stack = self.middleware_stack
        if stack is None:
            # Built on the first call and not in __init__, so that middleware and
            # handlers added after construction are part of it.
            stack = self.middleware_stack = self.build_middleware_stack()
        await stack(scope, receive, send)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Mount `app` at `path`, as `Mount(path, app=app, name=name)` in the routes does."""
        self.router.mount(path, app=app, name=name)

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Send requests for `host` to `app`, as `Host(host, app=app, name=name)` in the routes does."""
        self.router.host(host, app=app, name=name)

    def add_middleware(self, middleware_class: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        """Add a middleware outside all the middleware added so far."""
        # The stack is frozen once built, so a late addition would be silently ignored.
        if self.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        self.user_middleware[:0] = [Middleware(middleware_class, *args, **kwargs)]

    def add_exception_handler(
        self,
        exc_class_or_status_code: int | type[Exception],
        handler: ExceptionHandler,
    ) -> None:
        """Register `handler` for an exception class or an HTTP status code."""
        self.exception_handlers[exc_class_or_status_code] = handler

    def add_route(
        self,
        path: str,
        route: Callable[[Request], Awaitable[Response] | Response],
        methods: list[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Add a `Route` for the endpoint `route` at `path`."""
        self.router.add_route(path, route, methods=methods, name=name, include_in_schema=include_in_schema)
