"""An ASGI app that serves files from directories and from the static folders of packages."""

from __future__ import annotations

import errno
import importlib.util
import os
import stat
from email.utils import parsedate
from typing import TypeGuard

import anyio
import anyio.to_thread

from rustlette._utils import get_route_path
from rustlette.datastructures import URL, Headers
from rustlette.exceptions import HTTPException
from rustlette.responses import FileResponse, RedirectResponse, Response
from rustlette.types import Receive, Scope, Send
from rustlette.websockets import WebSocketClose

PathLike = str | os.PathLike[str]


def _is_regular_file(stat_result: os.stat_result | None) -> TypeGuard[os.stat_result]:
    return stat_result is not None and stat.S_ISREG(stat_result.st_mode)


def _is_directory(stat_result: os.stat_result | None) -> bool:
    return stat_result is not None and stat.S_ISDIR(stat_result.st_mode)


def _package_static_directory(package: str | tuple[str, str]) -> str:
    """Locate the static folder of an installed package: `statics`, or the folder a `(package, folder)` pair names."""
    name, folder = package if isinstance(package, tuple) else (package, "statics")
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"Package {name!r} could not be found."
    # The origin is the package's `__init__.py`, so ".." is the package folder.
    directory = os.path.normpath(os.path.join(spec.origin, "..", folder))
    assert os.path.isdir(directory), f"Directory '{folder!r}' in package {name!r} could not be found."
    return directory


class NotModifiedResponse(Response):
    """A 304 response with the headers of the full response that RFC 9110 section 15.4.5 has it repeat."""

    NOT_MODIFIED_HEADERS = (
        "cache-control",
        "content-location",
        "date",
        "etag",
        "expires",
        "vary",
    )

    def __init__(self, headers: Headers):
        repeated = {name: value for name, value in headers.items() if name in self.NOT_MODIFIED_HEADERS}
        super().__init__(status_code=304, headers=repeated)


class StaticFiles:
    """An ASGI app that serves the files under one directory, or the `statics` folders of packages.

    Only GET and HEAD are allowed. Conditional requests get a 304, and a path that leaves
    the directories, even through a symlink unless `follow_symlink` is set, is not found.
    With `html=True`, a directory serves its `index.html` and a missing file serves the
    top-level `404.html` when there is one.
    """

    def __init__(
        self,
        *,
        directory: PathLike | None = None,
        packages: list[str | tuple[str, str]] | None = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlink: bool = False,
    ) -> None:
        self.directory = directory
        self.packages = packages
        self.all_directories = self.get_directories(directory, packages)
        self.html = html
        self.follow_symlink = follow_symlink
        # With check_dir=False the directory may be created after start-up, so the first
        # request checks it instead.
        self.config_checked = False
        if check_dir and directory is not None and not os.path.isdir(directory):
            raise RuntimeError(f"Directory '{directory}' does not exist")

    def get_directories(
        self,
        directory: PathLike | None = None,
        packages: list[str | tuple[str, str]] | None = None,
    ) -> list[PathLike]:
        """List the directories to serve from, in lookup order: `directory`, then each package's."""
        found: list[PathLike] = [] if directory is None else [directory]
        found += [_package_static_directory(package) for package in packages or ()]
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        assert scope["type"] == "http"

        if not self.config_checked:
            await self.check_config()
            self.config_checked = True

        response = await self.get_response(self.get_path(scope), scope)
        await response(scope, receive, send)

    def get_path(self, scope: Scope) -> str:
        """Turn the request path into a relative file system path, with `.` and `..` resolved.

        `"/css/../app.js"` gives `"app.js"`, and the root gives `"."`.
        """
        segments = get_route_path(scope).split("/")
        return os.path.normpath(os.path.join(*segments))

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Build the response for `path`, or raise `HTTPException` with 401, 404 or 405."""
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})

        full_path, stat_result = await self._lookup_requested_path(path)
        if _is_regular_file(stat_result):
            return self.file_response(full_path, stat_result, scope)

        if self.html:
            if _is_directory(stat_result):
                index_response = await self._directory_index_response(path, scope)
                if index_response is not None:
                    return index_response
            page_path, page_stat = await anyio.to_thread.run_sync(self.lookup_path, "404.html")
            if _is_regular_file(page_stat):
                return FileResponse(page_path, stat_result=page_stat, status_code=404)

        raise HTTPException(status_code=404)

    async def _lookup_requested_path(self, path: str) -> tuple[str, os.stat_result | None]:
        # Only the lookup of the path the client sent maps file system errors to HTTP
        # errors. Those of `index.html` and `404.html` propagate unchanged.
        try:
            return await anyio.to_thread.run_sync(self.lookup_path, path)
        except PermissionError:
            raise HTTPException(status_code=401)
        except (OSError, ValueError) as exc:
            # A name longer than the file system allows (ENAMETOOLONG) or one with a null byte
            # (ValueError) cannot name a file, so the path is not found.
            if isinstance(exc, OSError) and exc.errno != errno.ENAMETOOLONG:
                raise
            raise HTTPException(status_code=404)

    async def _directory_index_response(self, path: str, scope: Scope) -> Response | None:
        """Serve the `index.html` of a directory, or return `None` when it has none."""
        index_path, index_stat = await anyio.to_thread.run_sync(self.lookup_path, os.path.join(path, "index.html"))
        if not _is_regular_file(index_stat):
            return None
        if scope["path"].endswith("/"):
            return self.file_response(index_path, index_stat, scope)

        # Relative links in the index page resolve against the directory only when its
        # URL ends in "/".
        url = URL(scope=scope)
        return RedirectResponse(url=url.replace(path=f"{url.path}/"))

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """Find `path` in the served directories and return its full path and `os.stat` result.

        Returns `("", None)` when no directory contains it. A path that resolves outside a
        directory is skipped for that directory.
        """
        # An absolute path would make os.path.join drop the directory.
        if path.startswith(("/", "\\")):
            return "", None

        # Without follow_symlink, symlinks are resolved before the containment check, so
        # one that points outside the directory is rejected. With it, only ".." is.
        resolve = os.path.abspath if self.follow_symlink else os.path.realpath
        for directory in self.all_directories:
            candidate = resolve(os.path.join(directory, path))
            root = resolve(directory)
            if os.path.commonpath([candidate, root]) != root:
                continue
            try:
                return candidate, os.stat(candidate)
            except (FileNotFoundError, NotADirectoryError):
                pass
        return "", None

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Serve the file, or a 304 when the request's validators still match it."""
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        if not self.is_not_modified(response.headers, Headers(scope=scope)):
            return response
        return NotModifiedResponse(response.headers)

    async def check_config(self) -> None:
        """Raise `RuntimeError` when `directory` is missing or is not a directory.

        A misconfigured app then fails loudly instead of responding to every request with 404.
        """
        if self.directory is None:
            return

        try:
            directory_stat = await anyio.to_thread.run_sync(os.stat, self.directory)
        except FileNotFoundError:
            raise RuntimeError(f"StaticFiles directory '{self.directory}' does not exist.")
        mode = directory_stat.st_mode
        if not stat.S_ISDIR(mode) and not stat.S_ISLNK(mode):
            raise RuntimeError(f"StaticFiles path '{self.directory}' is not a directory.")

    def is_not_modified(self, response_headers: Headers, request_headers: Headers) -> bool:
        """Tell whether the request's conditional headers let a 304 replace the response.

        If-None-Match takes precedence over If-Modified-Since, as RFC 9110 section 13.2.2
        orders them.
        """
        if_none_match = request_headers.get("if-none-match")
        if if_none_match:
            if if_none_match.strip() == "*":
                return True
            # If-None-Match compares entity tags weakly, so a W/ prefix is ignored.
            # FileResponse always sets an ETag.
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return response_headers["etag"] in tags

        if_modified_since = request_headers.get("if-modified-since")
        if if_modified_since is None:
            return False
        since_date = parsedate(if_modified_since)
        last_modified = response_headers.get("last-modified")
        if last_modified is None:
            return False
        modified_date = parsedate(last_modified)
        if since_date is None or modified_date is None:
            return False
        return since_date >= modified_date
