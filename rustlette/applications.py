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
        self.exception_handlers = {} if exception_handlers is None else dict(exception_handlers)
        self.user_middleware = [] if middleware is None else list(middleware)
        self.middleware_stack: ASGIApp | None = None

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap the router in the middleware, from the innermost out, and return the outermost app."""
        debug = self.debug
        error_handler = None
        exception_handlers: dict[Any, ExceptionHandler] = {}

        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                exception_handlers[key] = value

        middleware = [Middleware(ServerErrorMiddleware, handler=error_handler, debug=debug)]
        if self.max_body_size is not None:
            middleware.append(Middleware(RequestBodyLimitMiddleware, max_body_size=self.max_body_size))
        middleware += self.user_middleware
        middleware.append(Middleware(ExceptionMiddleware, handlers=exception_handlers, debug=debug))

        app = self.router
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        return app

    @property
    def routes(self) -> list[BaseRoute]:
        """The router's list of routes."""
        return self.router.routes

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self.router.url_path_for(name, **path_params)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        # Built on the first call, so middleware and handlers added after
        # construction are still included.
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        await self.middleware_stack(scope, receive, send)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Mount `app` at `path`, as `Mount(path, app=app, name=name)` in the routes does."""
        self.router.mount(path, app=app, name=name)  # pragma: no cover

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Send requests for `host` to `app`, as `Host(host, app=app, name=name)` in the routes does."""
        self.router.host(host, app=app, name=name)  # pragma: no cover

    def add_middleware(self, middleware_class: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        """Add a middleware outside all the middleware added so far."""
        if self.middleware_stack is not None:  # pragma: no cover
            raise RuntimeError("Cannot add middleware after an application has started")
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def add_exception_handler(
        self,
        exc_class_or_status_code: int | type[Exception],
        handler: ExceptionHandler,
    ) -> None:  # pragma: no cover
        """Register `handler` for an exception class or an HTTP status code."""
        self.exception_handlers[exc_class_or_status_code] = handler

    def add_route(
        self,
        path: str,
        route: Callable[[Request], Awaitable[Response] | Response],
        methods: list[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:  # pragma: no cover
        """Add a `Route` for the endpoint `route` at `path`."""
        self.router.add_route(path, route, methods=methods, name=name, include_in_schema=include_in_schema)
