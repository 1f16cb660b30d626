"""Differential tests for `staticfiles`.

Both frameworks serve the same files, so sizes, modification times and the ETags built
from them agree.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from differential import Differential, Framework, Outcome, call, describe_exception, http_scope

Factory = Callable[[Framework], Any]


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    """A directory of files to serve, next to a file that must stay out of reach."""
    (tmp_path / "secret.txt").write_text("outside the static directory")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "linked.txt").write_text("reached through a symlink")

    root = tmp_path / "static"
    root.mkdir()
    (root / "example.txt").write_text("<file content>")
    (root / "data.json").write_bytes(b'{"a": 1}')
    (root / "caf\u00e9 \u4e2d.txt").write_text("unicode name")
    (root / "404.html").write_text("<h1>Custom not found</h1>")
    (root / "big.bin").write_bytes(bytes(range(256)) * 400)
    docs = root / "docs"
    docs.mkdir()
    (docs / "index.html").write_text("<h1>Docs index</h1>")
    (docs / "page.html").write_text("<p>page</p>")
    (root / "empty-dir").mkdir()
    (root / "link-outside").symlink_to(outside)
    (root / "link-inside.txt").symlink_to(root / "example.txt")
    return root


def _static_app(directory: Path, **options: Any) -> Factory:
    """Serve `directory` at the root of an application, whose exception middleware renders 404 and 405."""

    def factory(fw: Framework) -> Any:
        static = fw.module("staticfiles").StaticFiles(directory=directory, **options)
        return fw.applications.Starlette(routes=[fw.routing.Mount("/", app=static)])

    return factory


def _mounted_app(directory: Path, **options: Any) -> Factory:
    def factory(fw: Framework) -> Any:
        static = fw.module("staticfiles").StaticFiles(directory=directory, **options)

        async def homepage(request: Any) -> Any:
            return fw.responses.PlainTextResponse(str(request.url_for("static", path="/docs/page.html")))

        routes = [fw.routing.Route("/", homepage), fw.routing.Mount("/static", app=static, name="static")]
        return fw.applications.Starlette(routes=routes)

    return factory


_PATHS = [
    "/example.txt",
    "/data.json",
    "/caf%C3%A9%20%E4%B8%AD.txt",
    "/big.bin",
    "/docs",
    "/docs/",
    "/docs/index.html",
    "/docs/page.html",
    "/docs/missing.html",
    "/empty-dir",
    "/empty-dir/",
    "/missing.txt",
    "/",
    "",
    "/example.txt/child",
    "/link-outside/linked.txt",
    "/link-inside.txt",
    "/%2e%2e/secret.txt",
    "/docs/..%2Fexample.txt",
    "/%5Cexample.txt",
    "/" + "a" * 300,
]


@pytest.mark.parametrize("html", [False, True])
@pytest.mark.parametrize("follow_symlink", [False, True])
def test_static_paths(differential: Differential, static_dir: Path, html: bool, follow_symlink: bool) -> None:
    calls = [call("GET", path) for path in _PATHS] + [call("HEAD", path) for path in _PATHS[:8]]
    differential.compare(
        _static_app(static_dir, html=html, follow_symlink=follow_symlink),
        *calls,
        client_options={"follow_redirects": False},
    )


def test_static_file_served(differential: Differential, static_dir: Path) -> None:
    outcomes = differential.compare(_static_app(static_dir), call("GET", "/example.txt"), call("HEAD", "/example.txt"))
    assert outcomes[0].status == 200
    assert outcomes[0].body == b"<file content>"
    assert outcomes[1].body == b""
    assert outcomes[0].header("content-type") == "text/plain; charset=utf-8"


def test_html_mode_redirects_and_fallbacks(differential: Differential, static_dir: Path) -> None:
    outcomes = differential.compare(
        _static_app(static_dir, html=True),
        call("GET", "/docs?x=1"),
        call("GET", "/docs/"),
        call("GET", "/nowhere"),
        client_options={"follow_redirects": False},
    )
    assert (outcomes[0].status, outcomes[0].header("location")) == (307, "http://testserver/docs/?x=1")
    assert outcomes[1].body == b"<h1>Docs index</h1>"
    assert (outcomes[2].status, outcomes[2].body) == (404, b"<h1>Custom not found</h1>")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_static_methods_not_allowed(differential: Differential, static_dir: Path, method: str) -> None:
    outcomes = differential.compare(_static_app(static_dir), call(method, "/example.txt"))
    assert outcomes[0].status == 405


def test_static_error_raised_without_exception_middleware(differential: Differential, static_dir: Path) -> None:
    def run(fw: Framework) -> Any:
        client = fw.testclient.TestClient(fw.module("staticfiles").StaticFiles(directory=static_dir))
        try:
            client.get("/missing.txt")
        except Exception as exc:
            return describe_exception(exc, fw.package), getattr(exc, "headers", None)
        return None  # pragma: no cover

    _, result = differential.compare_call(run, label="bare StaticFiles for a missing file")
    assert result[0] == ("<framework>.exceptions.HTTPException", "404: Not Found")


_CONDITIONAL_HEADERS: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "if-none-match-same": lambda first: {"If-None-Match": first["etag"]},
    "if-none-match-weak": lambda first: {"If-None-Match": "W/" + first["etag"]},
    "if-none-match-list": lambda first: {"If-None-Match": f'"other", {first["etag"]} , "x"'},
    "if-none-match-star": lambda first: {"If-None-Match": " * "},
    "if-none-match-other": lambda first: {"If-None-Match": '"other"'},
    "if-none-match-empty": lambda first: {"If-None-Match": "", "If-Modified-Since": first["last-modified"]},
    "if-modified-since-same": lambda first: {"If-Modified-Since": first["last-modified"]},
    "if-modified-since-later": lambda first: {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    "if-modified-since-earlier": lambda first: {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
    "if-modified-since-invalid": lambda first: {"If-Modified-Since": "not a date"},
    "both-etag-wins": lambda first: {"If-None-Match": '"other"', "If-Modified-Since": first["last-modified"]},
}


@pytest.mark.parametrize("name", list(_CONDITIONAL_HEADERS))
def test_conditional_requests(differential: Differential, static_dir: Path, name: str) -> None:
    # Read the validators from a first response, the way a browser or cache would.
    first = differential.compare(_static_app(static_dir), call("GET", "/example.txt"))[0]
    validators = {"etag": first.header("etag") or "", "last-modified": first.header("last-modified") or ""}
    headers = _CONDITIONAL_HEADERS[name](validators)
    outcomes = differential.compare(
        _static_app(static_dir),
        call("GET", "/example.txt", headers=headers),
        call("HEAD", "/data.json", headers=headers),
    )
    if name in ("if-none-match-same", "if-none-match-weak", "if-none-match-list", "if-modified-since-same"):
        assert outcomes[0].status == 304


def test_not_modified_keeps_listed_headers(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        datastructures = fw.datastructures
        headers = datastructures.Headers(
            raw=[
                (b"etag", b'"1"'),
                (b"content-type", b"text/plain"),
                (b"cache-control", b"max-age=60"),
                (b"vary", b"Accept-Encoding"),
                (b"content-length", b"10"),
                (b"expires", b"0"),
                (b"date", b"today"),
                (b"content-location", b"/x"),
            ]
        )
        response = fw.module("staticfiles").NotModifiedResponse(headers)
        return response.status_code, response.body, response.headers.raw

    differential.compare_call(describe, label="NotModifiedResponse headers")


@pytest.mark.parametrize(
    "range_header", ["bytes=0-9", "bytes=10-20, 30-40", "bytes=-5", "bytes=200000-", "bytes=abc", "items=0-1"]
)
def test_static_range_requests(differential: Differential, static_dir: Path, range_header: str) -> None:
    def normalize(outcome: Outcome) -> Outcome:
        # Multipart ranges use a random boundary, so the boundary is blanked out.
        boundary = re.search(r"boundary=([0-9a-f]+)$", outcome.header("content-type") or "")
        if boundary is None:
            return outcome
        found, blank = boundary[1].encode(), b"BOUNDARY"
        headers = tuple((key, value.replace(found, blank)) for key, value in outcome.headers)
        return replace(outcome, headers=headers, body=outcome.body.replace(found, blank))

    differential.compare(
        _static_app(static_dir), call("GET", "/big.bin", headers={"Range": range_header}), normalize=normalize
    )


def test_mounted_static_files(differential: Differential, static_dir: Path) -> None:
    outcomes = differential.compare(
        _mounted_app(static_dir, html=True),
        call("GET", "/"),
        call("GET", "/static/example.txt"),
        call("GET", "/static/docs"),
        call("GET", "/static/docs/"),
        call("GET", "/static"),
        call("GET", "/static/"),
        call("GET", "/static/../secret.txt"),
        call("GET", "/staticx/example.txt"),
        client_options={"follow_redirects": False},
    )
    assert outcomes[0].body == b"http://testserver/static/docs/page.html"
    assert outcomes[2].header("location") == "http://testserver/static/docs/"


@pytest.mark.parametrize(
    "raw_path",
    ["/../secret.txt", "/docs/../../secret.txt", "/example.txt\x00.png", "/\\..\\secret.txt", "//etc/passwd"],
)
def test_static_raw_paths(differential: Differential, static_dir: Path, raw_path: str) -> None:
    outcome = differential.compare_scope(_mounted_app(static_dir), http_scope("/static" + raw_path))
    assert outcome.status == 404


def test_static_websocket_is_closed(differential: Differential, static_dir: Path) -> None:
    def connect(fw: Framework) -> Any:
        client = fw.testclient.TestClient(fw.module("staticfiles").StaticFiles(directory=static_dir))
        try:
            with client.websocket_connect("/example.txt"):
                pass  # pragma: no cover
        except Exception as exc:
            return describe_exception(exc, fw.package), getattr(exc, "code", None)
        return None  # pragma: no cover

    _, result = differential.compare_call(connect, label="websocket to StaticFiles")
    assert result == (("<framework>.websockets.WebSocketDisconnect", ""), 1000)


def test_missing_directory_at_init(differential: Differential, tmp_path: Path) -> None:
    def build(fw: Framework) -> Any:
        fw.module("staticfiles").StaticFiles(directory=tmp_path / "missing")

    _, error_type, message = differential.compare_call(build, label="StaticFiles with a missing directory")
    assert (error_type, message) == ("builtins.RuntimeError", f"Directory '{tmp_path / 'missing'}' does not exist")


@pytest.mark.parametrize("target", ["missing", "file"])
def test_unchecked_directory_fails_on_first_request(differential: Differential, tmp_path: Path, target: str) -> None:
    (tmp_path / "file").write_text("not a directory")
    directory = tmp_path / target

    def run(fw: Framework) -> Any:
        app = fw.module("staticfiles").StaticFiles(directory=directory, check_dir=False)
        client = fw.testclient.TestClient(app)
        results = []
        for _ in range(2):
            try:
                results.append(client.get("/x").status_code)
            except Exception as exc:
                results.append(describe_exception(exc, fw.package))
        return results, app.config_checked

    _, (results, _) = differential.compare_call(run, label=f"check_dir=False with a {target} path")
    assert results[0][0] == "builtins.RuntimeError"


@pytest.fixture
def static_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An importable package with a `statics` folder and an `assets` folder."""
    package = tmp_path / "packages" / "staticpkg"
    (package / "statics").mkdir(parents=True)
    (package / "assets").mkdir()
    (package / "__init__.py").write_text("")
    (package / "statics" / "package.txt").write_text("from the package")
    (package / "assets" / "asset.txt").write_text("an asset")
    (tmp_path / "packages" / "nostatics").mkdir()
    (tmp_path / "packages" / "nostatics" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "packages"))
    yield "staticpkg"
    for name in ("staticpkg", "nostatics"):
        sys.modules.pop(name, None)


def test_packages_serve_statics(differential: Differential, static_dir: Path, static_package: str) -> None:
    def factory(fw: Framework) -> Any:
        packages = [static_package, (static_package, "assets")]
        return fw.module("staticfiles").StaticFiles(directory=static_dir, packages=packages)

    outcomes = differential.compare(
        factory, call("GET", "/package.txt"), call("GET", "/asset.txt"), call("GET", "/example.txt")
    )
    assert [outcome.status for outcome in outcomes] == [200, 200, 200]


@pytest.mark.parametrize(
    "packages",
    [["no_such_package_here"], ["nostatics"], [("staticpkg", "missing")], [("os", "statics")], ["sys"]],
)
def test_packages_errors(differential: Differential, static_package: str, packages: list[Any]) -> None:
    def build(fw: Framework) -> Any:
        return fw.module("staticfiles").StaticFiles(packages=packages).all_directories

    _, error_type, _ = differential.compare_call(build, label=f"StaticFiles(packages={packages!r})")
    assert error_type == "builtins.AssertionError"


def test_get_directories_and_paths(differential: Differential, static_dir: Path) -> None:
    def describe(fw: Framework) -> Any:
        static = fw.module("staticfiles").StaticFiles(directory=static_dir, html=True)
        paths = [
            static.get_path(http_scope(path, root_path=root))
            for path, root in [("/a/b", ""), ("/a/../b", ""), ("/", ""), ("/app/x/./y", "/app"), ("/app", "/app")]
        ]
        lookups = [static.lookup_path(path) for path in ["example.txt", "/etc/passwd", "\\x", "../secret.txt"]]
        return (
            static.get_directories(static_dir),
            static.get_directories(None, None),
            paths,
            [(full, stat is not None) for full, stat in lookups],
            static.directory,
            static.packages,
            static.html,
            static.follow_symlink,
            static.config_checked,
        )

    differential.compare_call(describe, label="StaticFiles helpers")


@pytest.mark.parametrize("error", ["permission", "other-os", "name-too-long", "value"])
def test_lookup_errors_map_to_responses(differential: Differential, static_dir: Path, error: str) -> None:
    def factory(fw: Framework) -> Any:
        class FailingStaticFiles(fw.module("staticfiles").StaticFiles):  # type: ignore[misc]
            def lookup_path(self, path: str) -> Any:
                if error == "permission":
                    raise PermissionError("no access")
                if error == "other-os":
                    raise OSError(5, "I/O error")
                if error == "name-too-long":
                    raise OSError(36, "File name too long")
                raise ValueError("embedded null byte")

        return fw.applications.Starlette(routes=[fw.routing.Mount("/", FailingStaticFiles(directory=static_dir))])

    differential.compare(factory, call("GET", "/example.txt"))


def test_is_not_modified_method(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        Headers = fw.datastructures.Headers
        static = fw.module("staticfiles").StaticFiles(check_dir=False)
        response_headers = Headers({"etag": '"abc"', "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT"})
        cases = [
            {},
            {"if-none-match": '"abc"'},
            {"if-none-match": 'W/"abc"'},
            {"if-none-match": '"abc"x'},
            {"if-modified-since": "Mon, 01 Jan 2024 00:00:00 GMT"},
            {"if-modified-since": "Sun, 31 Dec 2023 23:59:59 GMT"},
            {"if-modified-since": "garbage"},
        ]
        results = [static.is_not_modified(response_headers, Headers(case)) for case in cases]
        results.append(static.is_not_modified(Headers({"etag": '"abc"'}), Headers(cases[4])))
        return results

    differential.compare_call(describe, label="StaticFiles.is_not_modified")


def test_symlink_to_outside_needs_follow_symlink(differential: Differential, static_dir: Path) -> None:
    for follow_symlink, status in [(False, 404), (True, 200)]:
        outcomes = differential.compare(
            _static_app(static_dir, follow_symlink=follow_symlink), call("GET", "/link-outside/linked.txt")
        )
        assert outcomes[0].status == status
    assert os.path.islink(static_dir / "link-outside")
