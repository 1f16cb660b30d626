"""Exceptions that applications raise to produce HTTP and WebSocket error responses."""

from __future__ import annotations

import http.client
from collections.abc import Mapping


class HTTPException(Exception):
    """An error that the exception middleware turns into an HTTP response.

    Without a `detail`, the detail is the standard reason phrase of the status code, or
    `""` for a code that has none.
    """

    def __init__(self, status_code: int, detail: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        # `Exception.__init__` is not called, so `args` keeps the positional arguments as given.
        self.status_code = status_code
        self.detail = http.client.responses.get(status_code, "") if detail is None else detail
        self.headers = headers

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class WebSocketException(Exception):
    """An error that closes the WebSocket with a close code and reason."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        # Any false value, not only None, becomes the empty reason.
        self.reason = reason if reason else ""

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class StarletteDeprecationWarning(UserWarning):
    """A deprecation warning that Python shows by default.

    It subclasses `UserWarning` because the default warning filters show a
    `DeprecationWarning` only for code in `__main__`, so users of a library would rarely see it.
    """
