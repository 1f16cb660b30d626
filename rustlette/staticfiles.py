from __future__ import annotations

import errno
import importlib.util
import os
import stat
from email.utils import parsedate

import anyio
import anyio.to_thread

from rustlette._utils import get_route_path
from rustlette.datastructures import URL, Headers
from rustlette.exceptions import HTTPException
from rustlette.responses import FileResponse, RedirectResponse, Response
from rustlette.types import Receive, Scope, Send
from rustlette.websockets import WebSocketClose

PathLike = str | os.PathLike[str]


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
        kept = {name: value for name, value in headers.items() if name in self.NOT_MODIFIED_HEADERS}
        super().__init__(status_code=304, headers=kept)


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
        self.config_checked = False
        self.follow_symlink = follow_symlink
        if check_dir and directory is not None and not os.path.isdir(directory):
            raise RuntimeError(f"Directory '{directory}' does not exist")

    def get_directories(
        self,
        directory: PathLike | None = None,
        packages: list[str | tuple[str, str]] | None = None,
    ) -> list[PathLike]:
        """List the directories to serve from, in lookup order: `directory`, then each package's.

        A package given by name serves its `statics` folder, and a `(package, folder)`
        pair serves that folder of the package.
        """
        directories: list[PathLike] = []
        if directory is not None:
            directories.append(directory)

        for package in packages or []:
            if isinstance(package, tuple):
                package, statics_dir = package
            else:
                statics_dir = "statics"
            spec = importlib.util.find_spec(package)
            assert spec is not None, f"Package {package!r} could not be found."
            assert spec.origin is not None, f"Package {package!r} could not be found."
            package_directory = os.path.normpath(os.path.join(spec.origin, "..", statics_dir))
            assert os.path.isdir(package_directory), (
                f"Directory '{statics_dir!r}' in package {package!r} could not be found."
            )
            directories.append(package_directory)

        return directories

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return

        assert scope["type"] == "http"

        # With check_dir=False the directory may be created after start-up, so it is checked here.
        if not self.config_checked:
            await self.check_config()
            self.config_checked = True

        path = self.get_path(scope)
        response = await self.get_response(path, scope)
        await response(scope, receive, send)

    def get_path(self, scope: Scope) -> str:
        """Turn the request path into a relative file system path, with `.` and `..` resolved.

        `"/css/../app.js"` gives `"app.js"`, and the root gives `"."`.
        """
        route_path = get_route_path(scope)
        return os.path.normpath(os.path.join(*route_path.split("/")))

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Build the response for `path`, or raise `HTTPException` with 401, 404 or 405."""
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})

        try:
            full_path, stat_result = await anyio.to_thread.run_sync(self.lookup_path, path)
        except PermissionError:
            raise HTTPException(status_code=401)
        except OSError as exc:
            # No file can have a name longer than the file system allows.
            if exc.errno == errno.ENAMETOOLONG:
                raise HTTPException(status_code=404)
            raise exc
        except ValueError:
            # The path contains a null byte, or another character no file name can have.
            raise HTTPException(status_code=404)

        if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
            return self.file_response(full_path, stat_result, scope)

        if stat_result is not None and stat.S_ISDIR(stat_result.st_mode) and self.html:
            index_path = os.path.join(path, "index.html")
            full_path, stat_result = await anyio.to_thread.run_sync(self.lookup_path, index_path)
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                if not scope["path"].endswith("/"):
                    # Relative links in the index page resolve against the directory only
                    # when its URL ends in "/".
                    url = URL(scope=scope)
                    return RedirectResponse(url=url.replace(path=url.path + "/"))
                return self.file_response(full_path, stat_result, scope)

        if self.html:
            full_path, stat_result = await anyio.to_thread.run_sync(self.lookup_path, "404.html")
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                return FileResponse(full_path, stat_result=stat_result, status_code=404)
        raise HTTPException(status_code=404)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """Find `path` in the served directories and return its full path and `os.stat` result.

        Returns `("", None)` when no directory contains it. A path that resolves outside a
        directory is skipped for that directory.
        """
        # An absolute path would make os.path.join drop the directory.
        if path.startswith(("/", "\\")):
            return "", None

        for directory in self.all_directories:
            joined_path = os.path.join(directory, path)
            if self.follow_symlink:
                # Symlinks may point anywhere, so only ".." is kept from leaving the directory.
                full_path = os.path.abspath(joined_path)
                directory = os.path.abspath(directory)
            else:
                full_path = os.path.realpath(joined_path)
                directory = os.path.realpath(directory)
            if os.path.commonpath([full_path, directory]) != str(directory):
                continue
            try:
                return full_path, os.stat(full_path)
            except (FileNotFoundError, NotADirectoryError):
                continue
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
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

    async def check_config(self) -> None:
        """Raise `RuntimeError` when `directory` is missing or is not a directory.

        A misconfigured app then fails loudly instead of responding to every request with 404.
        """
        if self.directory is None:
            return

        try:
            stat_result = await anyio.to_thread.run_sync(os.stat, self.directory)
        except FileNotFoundError:
            raise RuntimeError(f"StaticFiles directory '{self.directory}' does not exist.")
        if not (stat.S_ISDIR(stat_result.st_mode) or stat.S_ISLNK(stat_result.st_mode)):
            raise RuntimeError(f"StaticFiles path '{self.directory}' is not a directory.")

    def is_not_modified(self, response_headers: Headers, request_headers: Headers) -> bool:
        """Tell whether the request's conditional headers let a 304 replace the response.

        If-None-Match takes precedence over If-Modified-Since, as RFC 9110 section 13.2.2
        orders them. Weak tags compare equal to the strong ones.
        """
        if_none_match = request_headers.get("if-none-match")
        if if_none_match:
            if if_none_match.strip() == "*":
                return True
            # FileResponse always sets an ETag.
            etag = response_headers["etag"]
            return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]

        if_modified_since = request_headers.get("if-modified-since")
        last_modified = response_headers.get("last-modified")
        if if_modified_since is None or last_modified is None:
            return False
        since_date = parsedate(if_modified_since)
        modified_date = parsedate(last_modified)
        return since_date is not None and modified_date is not None and since_date >= modified_date
