"""Differential tests for `templating`: `Jinja2Templates` and its template responses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import jinja2
import pytest

from differential import Differential, Framework, call, describe_exception

Factory = Callable[[Framework], Any]

_TEMPLATES = {
    "index.html": (
        "<html>Hello, {{ name }}! {{ request.method }} {{ request.url }}"
        " home={{ url_for('homepage') }} user={{ url_for('user', username=name) }}</html>"
    ),
    "escaped.html": "<p>{{ markup }}</p>",
    "plain.txt": "{{ markup }} in a text template",
    "processors.html": "{{ site }} / {{ theme }} / {{ request.url.path }}",
    "broken.html": "{{ url_for('no-such-route') }}",
    "undefined.html": "{{ missing.attribute }}",
    "custom-url-for.html": "{{ url_for('anything') }}",
}


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "templates"
    directory.mkdir()
    for name, source in _TEMPLATES.items():
        (directory / name).write_text(source, encoding="utf-8")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extra.html").write_text("from the second directory: {{ name }}")
    (extra / "index.html").write_text("shadowed by the first directory")
    return directory


def _site(request: Any) -> dict[str, Any]:
    return {"site": "Example", "theme": request.query_params.get("theme", "light")}


def _templating_app(templates_factory: Callable[[Framework], Any]) -> Factory:
    def factory(fw: Framework) -> Any:
        templates = templates_factory(fw)
        background_runs: list[str] = []

        async def homepage(request: Any) -> Any:
            return templates.TemplateResponse(request, "index.html", {"name": "Ann & <Bob>"})

        async def user(request: Any) -> Any:
            return templates.TemplateResponse(
                request,
                "index.html",
                context={"name": request.path_params["username"]},
                status_code=203,
                headers={"X-Template": "index", "Cache-Control": "no-store"},
            )

        async def escaped(request: Any) -> Any:
            return templates.TemplateResponse(request, "escaped.html", {"markup": "<script>alert(1)</script>"})

        async def plain(request: Any) -> Any:
            return templates.TemplateResponse(request, "plain.txt", {"markup": "<b>kept</b>"}, media_type="text/plain")

        async def processors(request: Any) -> Any:
            return templates.TemplateResponse(request, "processors.html", {"site": "overridden", "theme": "x"})

        async def background(request: Any) -> Any:
            task = fw.background.BackgroundTask(background_runs.append, "ran")
            return templates.TemplateResponse(request, "escaped.html", {"markup": background_runs}, background=task)

        async def named(request: Any) -> Any:
            return templates.TemplateResponse(request, request.path_params["name"], {"name": "n", "markup": "m"})

        Route = fw.routing.Route
        routes = [
            Route("/", homepage, name="homepage"),
            Route("/users/{username}", user, name="user"),
            Route("/escaped", escaped),
            Route("/plain", plain),
            Route("/processors", processors),
            Route("/background", background),
            Route("/named/{name:path}", named),
        ]
        return fw.applications.Starlette(routes=routes)

    return factory


def _directory_templates(directory: Any, **options: Any) -> Callable[[Framework], Any]:
    def build(fw: Framework) -> Any:
        return fw.module("templating").Jinja2Templates(directory=directory, **options)

    return build


_CALLS = [
    call("GET", "/"),
    call("HEAD", "/"),
    call("GET", "/users/tom%20smith"),
    call("GET", "/escaped"),
    call("GET", "/plain"),
    call("GET", "/processors?theme=dark"),
    call("GET", "/background"),
    call("GET", "/background"),
    call("GET", "/named/extra.html"),
    call("GET", "/named/missing.html"),
    call("GET", "/named/broken.html"),
    call("GET", "/named/undefined.html"),
]


def test_templates_from_directory(differential: Differential, template_dir: Path) -> None:
    outcomes = differential.compare(_templating_app(_directory_templates(template_dir)), *_CALLS)
    assert outcomes[0].body == (
        b"<html>Hello, Ann &amp; &lt;Bob&gt;! GET http://testserver/"
        b" home=http://testserver/ user=http://testserver/users/Ann &amp; &lt;Bob&gt;</html>"
    )
    assert outcomes[0].header("content-type") == "text/html; charset=utf-8"
    assert outcomes[9].error == (
        "jinja2.exceptions.TemplateNotFound",
        f"'missing.html' not found in search path: '{template_dir}'",
    )


def test_templates_from_several_directories(differential: Differential, template_dir: Path) -> None:
    directories = [template_dir, template_dir.parent / "extra"]
    outcomes = differential.compare(_templating_app(_directory_templates(directories)), *_CALLS)
    assert outcomes[8].body == b"from the second directory: n"


def test_templates_with_context_processors(differential: Differential, template_dir: Path) -> None:
    def broken_processor(request: Any) -> dict[str, Any]:
        if request.url.path == "/escaped":
            raise RuntimeError("processor failed")
        return {}

    build = _directory_templates(template_dir, context_processors=[_site, broken_processor])
    outcomes = differential.compare(_templating_app(build), *_CALLS)
    assert outcomes[5].body == b"Example / dark / /processors"
    assert outcomes[3].error == ("builtins.RuntimeError", "processor failed")


def test_templates_from_env(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        env = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=False)
        return fw.module("templating").Jinja2Templates(env=env)

    outcomes = differential.compare(_templating_app(build), *_CALLS)
    # This environment does not escape, unlike the one built from a directory.
    assert b"<script>" in outcomes[3].body


def test_env_keeps_its_own_url_for(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        env = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES))
        env.globals["url_for"] = lambda name: f"custom:{name}"
        return fw.module("templating").Jinja2Templates(env=env)

    outcomes = differential.compare(_templating_app(build), call("GET", "/named/custom-url-for.html"))
    assert outcomes[0].body == b"custom:anything"


@pytest.mark.parametrize("arguments", ["both", "neither", "empty-directory"])
def test_directory_or_env_required(differential: Differential, template_dir: Path, arguments: str) -> None:
    def build(fw: Framework) -> Any:
        Jinja2Templates = fw.module("templating").Jinja2Templates
        if arguments == "both":
            return Jinja2Templates(template_dir, env=jinja2.Environment())
        if arguments == "neither":
            return Jinja2Templates()
        return Jinja2Templates("")

    _, error_type, message = differential.compare_call(build, label=f"Jinja2Templates with {arguments}")
    assert (error_type, message) == ("builtins.AssertionError", "either 'directory' or 'env' arguments must be passed")


def test_response_debug_information(differential: Differential, template_dir: Path) -> None:
    def run(fw: Framework) -> Any:
        build = _directory_templates(template_dir, context_processors=[_site])
        client = fw.testclient.TestClient(_templating_app(build)(fw))
        response = client.get("/users/ann?theme=blue")
        context = response.context
        return (
            response.template.name,
            sorted(context),
            context["name"],
            type(context["request"]).__name__,
            context["request"].url.path,
            sorted(response.extensions),
        )

    _, result = differential.compare_call(run, label="template and context on the test response")
    assert result[:3] == ("index.html", ["name", "request", "site", "theme"], "ann")


def test_template_response_outside_test_client(differential: Differential, template_dir: Path) -> None:
    def run(fw: Framework) -> Any:
        templates = fw.module("templating").Jinja2Templates(template_dir)
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
        request = fw.requests.Request(scope)
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:  # pragma: no cover
            return {"type": "http.disconnect"}

        response = templates.TemplateResponse(request, "escaped.html", {"markup": "&"})
        anyio.run(response, scope, receive, send)
        return [message["type"] for message in sent], sent[-1]["body"]

    _, result = differential.compare_call(run, label="template response without the debug extension")
    assert result == (["http.response.start", "http.response.body"], b"<p>&amp;</p>")


def test_context_argument_handling(differential: Differential, template_dir: Path) -> None:
    def run(fw: Framework) -> Any:
        templates = fw.module("templating").Jinja2Templates(template_dir)
        request = fw.requests.Request({"type": "http", "method": "GET", "path": "/", "headers": []})
        empty: dict[str, Any] = {}
        filled: dict[str, Any] = {"markup": "x"}
        own_request: dict[str, Any] = {"markup": "y", "request": "not a request"}
        responses = [
            templates.TemplateResponse(request, "escaped.html", empty),
            templates.TemplateResponse(request, "escaped.html", filled),
            templates.TemplateResponse(request, "escaped.html", own_request),
            templates.TemplateResponse(request, "escaped.html"),
        ]
        return (
            empty,
            sorted(filled),
            own_request["request"],
            [response.context is context for response, context in zip(responses, [empty, filled, own_request, None])],
            [response.body for response in responses],
            [response.template.name for response in responses],
        )

    differential.compare_call(run, label="TemplateResponse context argument")


def test_template_objects(differential: Differential, template_dir: Path) -> None:
    def run(fw: Framework) -> Any:
        templates = fw.module("templating").Jinja2Templates(directory=template_dir, context_processors=None)
        template = templates.get_template("escaped.html")
        env = templates.env
        return (
            type(template).__name__,
            template.name,
            templates.context_processors,
            type(env.loader).__name__,
            env.autoescape("x.html"),
            env.autoescape("x.txt"),
            "url_for" in env.globals,
        )

    differential.compare_call(run, label="Jinja2Templates attributes")


def test_missing_template_error(differential: Differential, template_dir: Path) -> None:
    def run(fw: Framework) -> Any:
        templates = fw.module("templating").Jinja2Templates(directory=template_dir)
        try:
            templates.get_template("nowhere.html")
        except Exception as exc:
            return describe_exception(exc, fw.package)
        return None  # pragma: no cover

    _, result = differential.compare_call(run, label="get_template for a missing file")
    assert result == ("jinja2.exceptions.TemplateNotFound", f"'nowhere.html' not found in search path: '{template_dir}'")
