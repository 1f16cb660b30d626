"""HTML responses rendered from Jinja2 templates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any, overload

from rustlette.background import BackgroundTask
from rustlette.datastructures import URL
from rustlette.requests import Request
from rustlette.responses import HTMLResponse
from rustlette.types import Receive, Scope, Send

try:
    import jinja2
except ImportError as _import_error:  # pragma: no cover
    raise ImportError("jinja2 must be installed to use Jinja2Templates") from _import_error

# Jinja 3.0 renamed `contextfunction` to `pass_context`, and Jinja 3.1 removed the old name.
if TYPE_CHECKING or hasattr(jinja2, "pass_context"):
    pass_context = jinja2.pass_context
else:  # pragma: no cover
    pass_context = jinja2.contextfunction

# The ASGI extension through which a test client asks for the template and its context.
_DEBUG_EXTENSION = "http.response.debug"

_ContextProcessor = Callable[[Request], dict[str, Any]]
_TemplateDirectories = str | PathLike[str] | Sequence[str | PathLike[str]]


@pass_context
def _url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> URL:
    """Build the URL of the route `name` for the request that the template renders."""
    current_request: Request = context["request"]
    return current_request.url_for(name, **path_params)


class _TemplateResponse(HTMLResponse):
    """An HTML response that keeps the template and context it was rendered from."""

    def __init__(
        self,
        template: Any,
        context: dict[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ):
        self.template = template
        self.context = context
        super().__init__(template.render(context), status_code, headers, media_type, background)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A context without a request is treated as if the server lacked the extension.
        connection = self.context.get("request", {})
        if _DEBUG_EXTENSION in connection.get("extensions", {}):
            debug_info = {"template": self.template, "context": self.context}
            await send({"type": _DEBUG_EXTENSION, "info": debug_info})
        await super().__call__(scope, receive, send)


class Jinja2Templates:
    """A renderer of Jinja2 templates into HTML responses.

    Templates come from `directory`, or from a ready `env`, and can call `url_for` to
    build the URL of a named route. Example:

        ```python
        templates = Jinja2Templates(directory="site/templates")

        async def homepage(request: Request) -> Response:
            return templates.TemplateResponse(request, "index.html", {"title": "Home"})
        ```
    """

    @overload
    def __init__(
        self,
        directory: _TemplateDirectories,
        *,
        context_processors: list[_ContextProcessor] | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        *,
        env: jinja2.Environment,
        context_processors: list[_ContextProcessor] | None = None,
    ) -> None: ...

    def __init__(
        self,
        directory: _TemplateDirectories | None = None,
        *,
        context_processors: list[_ContextProcessor] | None = None,
        env: jinja2.Environment | None = None,
    ) -> None:
        assert bool(directory) ^ bool(env), "either 'directory' or 'env' arguments must be passed"
        if directory is not None:
            # Autoescaping follows the template's file extension, so HTML is escaped and text is not.
            env = jinja2.Environment(loader=jinja2.FileSystemLoader(directory), autoescape=jinja2.select_autoescape())
        # Only narrows the type, because the check above already rejects a missing `env`.
        assert env is not None
        self.env = env
        self.context_processors = context_processors if context_processors else []
        self._setup_env_defaults(env)

    def _setup_env_defaults(self, env: jinja2.Environment) -> None:
        # A `url_for` global that the caller's own environment already defines wins.
        if "url_for" not in env.globals:
            env.globals["url_for"] = _url_for

    def get_template(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)

    def TemplateResponse(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> _TemplateResponse:
        """Render the template `name` and return it as an HTML response.

        The template receives `context`, the `request` unless the context sets its own, and
        whatever each context processor returns for the request, which overrides both.
        `context` is updated in place when it is a non-empty dict.
        """
        if not context:
            context = {}
        if "request" not in context:
            context["request"] = request
        for processor in self.context_processors:
            context.update(processor(request))

        return _TemplateResponse(
            self.get_template(name),
            context,
            status_code=status_code,
            headers=headers,
            media_type=media_type,
            background=background,
        )
