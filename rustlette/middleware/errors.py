from __future__ import annotations

import html
import inspect
import traceback
from collections.abc import Awaitable

from rustlette._utils import is_async_callable
from rustlette.concurrency import run_in_threadpool
from rustlette.requests import Request
from rustlette.responses import HTMLResponse, PlainTextResponse, Response
from rustlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

# The debug page templates are filled with str.format(), which ignores unused keyword
# arguments, so a replacement template may use any subset of the fields that
# ServerErrorMiddleware passes. STYLES and JS are inserted as values and are not
# formatted themselves, so their braces stay single.

STYLES = """
body {
    margin: 0;
    padding: 24px;
    font-family: system-ui, sans-serif;
    color: #1d2327;
    background-color: #fbfbfc;
}
h1 {
    margin: 0 0 8px 0;
    font-size: 24px;
}
h2 {
    margin: 0 0 24px 0;
    font-size: 18px;
    font-weight: normal;
    font-family: ui-monospace, monospace;
    color: #a3232a;
}
.traceback-heading {
    display: flex;
    justify-content: space-between;
    align-items: baseline;
}
.traceback-heading button {
    cursor: pointer;
}
.frame {
    margin-bottom: 8px;
    border: 1px solid #d5dbe1;
    border-radius: 4px;
    background-color: #ffffff;
}
.frame summary {
    padding: 8px 12px;
    cursor: pointer;
    background-color: #eef2f6;
}
.frame-filename {
    font-family: ui-monospace, monospace;
}
.source-code {
    padding: 8px 0;
    font-family: ui-monospace, monospace;
    font-size: 13px;
}
.frame-line {
    white-space: pre;
    padding: 0 12px;
}
.center-line {
    background-color: #fde8e9;
    font-weight: bold;
}
.lineno {
    display: inline-block;
    min-width: 4em;
    color: #6b7780;
    user-select: none;
}
"""

JS = """
<script>
    function toggleAllFrames(button) {
        const frames = document.querySelectorAll("details.frame");
        const expand = button.dataset.expanded !== "true";
        frames.forEach((frame) => { frame.open = expand; });
        button.dataset.expanded = String(expand);
        button.textContent = expand ? "Collapse all" : "Expand all";
    }
</script>
"""

TEMPLATE = """<!DOCTYPE html>
<html>
    <head>
        <meta charset="utf-8">
        <title>Starlette Debugger</title>
        <style>
            {styles}
        </style>
    </head>
    <body>
        <h1>500 Server Error</h1>
        <h2>{error}</h2>
        <div class="traceback-heading">
            <h3>Traceback, most recent call first</h3>
            <button type="button" onclick="toggleAllFrames(this)">Expand all</button>
        </div>
        <div class="traceback">{exc_html}</div>
        {js}
    </body>
</html>
"""

FRAME_TEMPLATE = """
<details class="frame {collapsed}" {open_attribute}>
    <summary>File <span class="frame-filename">{frame_filename}</span>, line <i>{frame_lineno}</i>, in <b>{frame_name}</b></summary>
    <div class="source-code">{code_context}</div>
</details>
"""  # noqa: E501

LINE = """
<div class="frame-line"><span class="lineno">{lineno}.</span>{line}</div>"""

CENTER_LINE = """
<div class="frame-line center-line"><span class="lineno">{lineno}.</span>{line}</div>"""

# The frame template fields that depend on whether the frame starts folded, which
# every frame but the innermost does.
_FOLDED_FRAME = {"collapsed": "collapsed", "collapse_button": "+", "open_attribute": ""}
_UNFOLDED_FRAME = {"collapsed": "", "collapse_button": "&#8210;", "open_attribute": "open"}


class ServerErrorMiddleware:
    """Sends a 500 response for any exception that reaches it, then re-raises the exception.

    With `debug` the response is a traceback page, as HTML when the client accepts
    it and as plain text otherwise. Without `debug`, `handler(request, exc)` builds the
    response, or a plain "Internal Server Error" is sent when there is no handler.
    Re-raising lets the server log the error and the test client raise it.

    Place it outermost, so that errors from every other middleware reach it.
    """

    def __init__(
        self,
        app: ASGIApp,
        handler: ExceptionHandler | None = None,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        # ASGI allows one response start per request. When the app has already sent
        # one, the error response is still built, so a handler runs, but it is not sent.
        headers_sent = False

        # A plain function that returns the awaitable of `send`, which saves a
        # coroutine per message.
        def send_and_track(message: Message) -> Awaitable[None]:
            nonlocal headers_sent
            if not headers_sent and message["type"] == "http.response.start":
                headers_sent = True
            return send(message)

        try:
            await self.app(scope, receive, send_and_track)
        except Exception as exc:
            error_response = await self._select_response(Request(scope), exc)
            if not headers_sent:
                await error_response(scope, receive, send)
            raise

    async def _select_response(self, request: Request, exc: Exception) -> Response:
        """Build the 500 response from the debug page, the handler or the plain default, in that order."""
        if self.debug:
            # The page reads source files from disk, which would block the event loop.
            return await run_in_threadpool(self.debug_response, request, exc)

        handler = self.handler
        if handler is None:
            return self.error_response(request, exc)
        if not is_async_callable(handler):
            return await run_in_threadpool(handler, request, exc)  # type: ignore[arg-type]
        return await handler(request, exc)  # type: ignore[arg-type, return-value]

    def format_line(self, index: int, line: str, frame_lineno: int, frame_index: int) -> str:
        """Render one source line of a frame, highlighting the line that was executing.

        `index` is the position of `line` in the frame's source excerpt, and
        `frame_index` is the position of the executing line, numbered `frame_lineno`.
        """
        template = CENTER_LINE if index == frame_index else LINE
        # Source lines may contain "<" and "&". The page keeps their indentation
        # with CSS, so only the line ending is stripped.
        text = html.escape(line.rstrip("\r\n"))
        return template.format(lineno=frame_lineno + index - frame_index, line=text)

    def generate_frame_html(self, frame: inspect.FrameInfo, is_collapsed: bool) -> str:
        """Render one traceback frame with its source excerpt."""
        excerpt = frame.code_context or []
        rendered_lines = [
            self.format_line(position, text, frame.lineno, frame.index)  # type: ignore[arg-type]
            for position, text in enumerate(excerpt)
        ]
        fold_fields = _FOLDED_FRAME if is_collapsed else _UNFOLDED_FRAME
        # File names such as "<stdin>" and "<string>" contain angle brackets.
        return FRAME_TEMPLATE.format(
            frame_filename=html.escape(frame.filename),
            frame_lineno=frame.lineno,
            frame_name=html.escape(frame.function),
            code_context="".join(rendered_lines),
            **fold_fields,
        )

    def generate_html(self, exc: Exception, limit: int = 7) -> str:
        """Render the HTML debug page for `exc`.

        Frames are listed innermost first and only the innermost one starts expanded.
        `limit` is the number of source lines shown around the executing line.
        """
        tb = exc.__traceback__
        frames = [] if tb is None else inspect.getinnerframes(tb, limit)
        frame_sections = [
            self.generate_frame_html(frame, depth > 0) for depth, frame in enumerate(reversed(frames))
        ]

        type_name, message = _describe_exception(exc)
        heading = html.escape(type_name) + ": " + html.escape(message)
        return TEMPLATE.format(styles=STYLES, js=JS, error=heading, exc_html="".join(frame_sections))

    def generate_plain_text(self, exc: Exception) -> str:
        """Render the traceback of `exc` as the interpreter prints it."""
        return "".join(traceback.format_exception(exc))

    def debug_response(self, request: Request, exc: Exception) -> Response:
        """Build the 500 traceback response, in HTML when the Accept header names text/html."""
        if "text/html" not in request.headers.get("accept", ""):
            return PlainTextResponse(self.generate_plain_text(exc), status_code=500)
        return HTMLResponse(self.generate_html(exc), status_code=500)

    def error_response(self, request: Request, exc: Exception) -> Response:
        """Build the 500 response used when there is neither `debug` nor a handler."""
        return PlainTextResponse("Internal Server Error", status_code=500)


def _describe_exception(exc: BaseException) -> tuple[str, str]:
    """Return the type name and the message of `exc` as the interpreter prints them."""
    # limit=0 skips extracting the stack, which the page renders separately.
    summary = traceback.TracebackException.from_exception(exc, limit=0)
    # From Python 3.13 on, the type name is qualified by module unless it is a builtin.
    type_name: str | None = getattr(summary, "exc_type_str", None)
    if type_name is None:  # pragma: no cover
        type_name = type(exc).__name__
    # str(summary) returns a placeholder where str(exc) would raise.
    return type_name, str(summary)
