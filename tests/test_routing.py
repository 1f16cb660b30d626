from __future__ import annotations

import threading
from typing import Any

import pytest

from hypothesis import given, settings, strategies as st

from differential import Differential, Framework, call, http_scope, sorted_allow_header


def _describe_params(params: dict[str, Any]) -> dict[str, list[str]]:
    return {key: [type(value).__name__, repr(value)] for key, value in params.items()}


def _routing_app(fw: Framework) -> Any:
    JSONResponse = fw.responses.JSONResponse
    PlainTextResponse = fw.responses.PlainTextResponse
    Route = fw.routing.Route

    async def show_params(request: Any) -> Any:
        return JSONResponse({"endpoint": request.url.path, "params": _describe_params(request.path_params)})

    def sync_endpoint(request: Any) -> Any:
        in_worker = threading.current_thread() is not threading.main_thread()
        return PlainTextResponse(f"sync in worker thread: {in_worker}")

    async def async_endpoint(request: Any) -> Any:
        in_worker = threading.current_thread() is not threading.main_thread()
        return PlainTextResponse(f"async in worker thread: {in_worker}")

    async def show_method(request: Any) -> Any:
        return PlainTextResponse(f"method {request.method}")

    async def url_for_user(request: Any) -> Any:
        return PlainTextResponse(str(request.url_for("user", username="ada lovelace")))

    return fw.applications.Starlette(
        routes=[
            Route("/users/{username}", show_params, name="user"),
            Route("/files/{rest:path}", show_params),
            Route("/items/{item_id:int}", show_params),
            Route("/prices/{amount:float}", show_params),
            Route("/objects/{key:uuid}", show_params),
            Route("/pairs/{left}/{right:int}", show_params),
            Route("/sync", sync_endpoint),
            Route("/async", async_endpoint),
            Route("/submit", show_method, methods=["POST"]),
            Route("/either", show_method, methods=["get", "post"]),
            Route("/edit", show_method, methods=["PUT", "PATCH", "DELETE"]),
            Route("/trailing/", show_method),
            Route("/plain", show_method),
            Route("/url-for", url_for_user),
        ]
    )


@pytest.mark.parametrize(
    ("url", "expected_status"),
    [
        ("/users/ada", 200),
        ("/users/ada%20lovelace", 200),
        ("/users/%C3%A9mile", 200),
        ("/users/a%2Fb", 404),
        ("/users/", 404),
        ("/users/ada/extra", 404),
        ("/files/", 200),
        ("/files/a/b/c.txt", 200),
        ("/files/a//b/", 200),
        ("/items/0", 200),
        ("/items/00042", 200),
        ("/items/12345678901234567890", 200),
        ("/items/-1", 404),
        ("/items/1.5", 404),
        ("/items/abc", 404),
        ("/prices/3", 200),
        ("/prices/3.25", 200),
        ("/prices/0.10000000000000000001", 200),
        ("/prices/3.", 404),
        ("/prices/.5", 404),
        ("/prices/-1.0", 404),
        ("/objects/12345678-1234-5678-1234-567812345678", 200),
        ("/objects/12345678123456781234567812345678", 200),
        ("/objects/ABCDEF12-ABCD-ABCD-ABCD-ABCDEF123456", 200),
        ("/objects/12345678-1234-5678-1234-56781234567", 404),
        ("/objects/not-a-uuid", 404),
        ("/pairs/x/7", 200),
        ("/pairs/x/y", 404),
    ],
)
def test_route_path_param_convertors(differential: Differential, url: str, expected_status: int) -> None:
    (outcome,) = differential.compare(_routing_app, call("GET", url))
    assert outcome.status == expected_status


_PATH_PREFIXES = ["/users/", "/files/", "/items/", "/prices/", "/objects/", "/pairs/", "/trailing", "/plain", "/"]


@settings(max_examples=200)
@given(
    prefix=st.sampled_from(_PATH_PREFIXES),
    rest=st.text(alphabet="/ab09.-eE_%?#\\é\x00", max_size=40),
    method=st.sampled_from(["GET", "HEAD", "POST"]),
)
def test_router_fuzzed_paths(differential: Differential, prefix: str, rest: str, method: str) -> None:
    scope = http_scope(prefix + rest, method=method)
    differential.compare_scope(_routing_app, scope, normalize=sorted_allow_header)


@pytest.mark.parametrize("url", ["/nowhere", "/users", "/items/", "/SYNC", "/%ff", "/users/ada?x=1"])
def test_router_unknown_route_returns_404(differential: Differential, url: str) -> None:
    (outcome,) = differential.compare(_routing_app, call("GET", url))
    assert outcome.status in (200, 404)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/submit"),
        ("PUT", "/submit"),
        ("HEAD", "/submit"),
        ("DELETE", "/either"),
        ("GET", "/edit"),
        ("POST", "/users/ada"),
        ("OPTIONS", "/sync"),
    ],
)
def test_route_rejects_wrong_method(differential: Differential, method: str, url: str) -> None:
    (outcome,) = differential.compare(_routing_app, call(method, url), normalize=sorted_allow_header)
    assert outcome.status == 405
    assert outcome.header("allow") is not None


@pytest.mark.parametrize(
    ("method", "url"),
    [("POST", "/submit"), ("GET", "/either"), ("POST", "/either"), ("PATCH", "/edit"), ("DELETE", "/edit")],
)
def test_route_accepts_listed_methods(differential: Differential, method: str, url: str) -> None:
    (outcome,) = differential.compare(_routing_app, call(method, url))
    assert outcome.body == f"method {method}".encode()


@pytest.mark.parametrize("url", ["/plain", "/users/ada", "/either", "/sync"])
def test_route_head_on_get_route(differential: Differential, url: str) -> None:
    (outcome,) = differential.compare(_routing_app, call("HEAD", url))
    assert outcome.status == 200
    assert outcome.body == b""
    assert outcome.header("content-length") not in (None, "0")


@pytest.mark.parametrize(
    "url",
    [
        "/trailing",
        "/trailing?a=1&b=%20",
        "/plain/",
        "/plain/?x=y",
        "/users/ada/",
        "/submit/",
        "/nowhere/",
    ],
)
def test_router_redirect_slashes(differential: Differential, url: str) -> None:
    (outcome,) = differential.compare(
        _routing_app, call("GET", url), client_options={"follow_redirects": False}
    )
    assert outcome.status in (307, 404)


def test_router_redirect_slashes_followed(differential: Differential) -> None:
    differential.compare(_routing_app, call("GET", "/trailing?q=1"), call("GET", "/plain/"))


@pytest.mark.parametrize("url", ["/trailing", "/plain/", "/trailing/", "/plain"])
def test_router_without_redirect_slashes(differential: Differential, url: str) -> None:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.PlainTextResponse("ok")

        router = fw.routing.Router(
            routes=[fw.routing.Route("/trailing/", endpoint), fw.routing.Route("/plain", endpoint)],
            redirect_slashes=False,
        )
        return fw.applications.Starlette(routes=[fw.routing.Mount("", app=router)])

    (outcome,) = differential.compare(factory, call("GET", url), client_options={"follow_redirects": False})
    assert outcome.status in (200, 404)


def test_route_sync_endpoint_runs_in_threadpool(differential: Differential) -> None:
    (outcome,) = differential.compare(_routing_app, call("GET", "/sync"))
    assert outcome.body == b"sync in worker thread: True"


def test_route_async_endpoint_runs_in_loop(differential: Differential) -> None:
    (outcome,) = differential.compare(_routing_app, call("GET", "/async"))
    assert outcome.body.startswith(b"async in worker thread:")


def test_request_url_for_named_route(differential: Differential) -> None:
    (outcome,) = differential.compare(_routing_app, call("GET", "/url-for"))
    assert outcome.body == b"http://testserver/users/ada lovelace"


def _bare_router(fw: Framework) -> Any:
    async def endpoint(request: Any) -> Any:
        return fw.responses.PlainTextResponse(f"{request.method} {request.url.path}")

    return fw.routing.Router(
        routes=[
            fw.routing.Route("/only-post", endpoint, methods=["POST"]),
            fw.routing.Route("/page/", endpoint),
        ]
    )


@pytest.mark.parametrize(
    ("method", "url", "expected_status"),
    [
        ("POST", "/only-post", 200),
        ("GET", "/only-post", 405),
        ("GET", "/missing", 404),
        ("GET", "/page", 307),
        ("HEAD", "/page/", 200),
    ],
)
def test_bare_router_without_application(
    differential: Differential, method: str, url: str, expected_status: int
) -> None:
    (outcome,) = differential.compare(
        _bare_router,
        call(method, url),
        client_options={"follow_redirects": False},
        normalize=sorted_allow_header,
    )
    assert outcome.status == expected_status


def test_route_used_as_standalone_app(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.PlainTextResponse(repr(request.path_params))

        return fw.routing.Route("/things/{thing_id:int}", endpoint, methods=["GET"])

    outcomes = differential.compare(
        factory,
        call("GET", "/things/3"),
        call("GET", "/things/x"),
        call("POST", "/things/3"),
        normalize=sorted_allow_header,
    )
    assert [outcome.status for outcome in outcomes] == [200, 404, 405]


def test_mount_strips_prefix_for_subroutes(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            scope = request.scope
            text = f"{scope['root_path']}|{request.url.path}|{request.path_params}|{request.url_for('api:item', n=5)}"
            return fw.responses.PlainTextResponse(text)

        api = fw.routing.Mount(
            "/api/{version}",
            routes=[fw.routing.Route("/items/{n:int}", endpoint, name="item")],
            name="api",
        )
        return fw.applications.Starlette(routes=[api])

    outcomes = differential.compare(
        factory,
        call("GET", "/api/v1/items/3"),
        call("GET", "/api/v1/items/x"),
        call("GET", "/api/v1"),
    )
    assert [outcome.status for outcome in outcomes] == [200, 404, 404]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("user", {"username": "ada"}),
        ("user", {"username": "a b/c"}),
        ("user", {}),
        ("user", {"username": "ada", "extra": 1}),
        ("unknown", {}),
        ("item", {"item_id": 5}),
        ("item", {"item_id": -5}),
        ("price", {"amount": 2.5}),
        ("price", {"amount": float("nan")}),
        ("price", {"amount": float("inf")}),
        ("price", {"amount": -1.0}),
        ("file", {"rest": "a/b c"}),
        ("object", {"key": "12345678-1234-5678-1234-567812345678"}),
        ("user", {"username": ""}),
    ],
)
def test_router_url_path_for(differential: Differential, name: str, params: dict[str, Any]) -> None:
    def url_path_for(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            raise NotImplementedError

        Route = fw.routing.Route
        router = fw.routing.Router(
            routes=[
                Route("/users/{username}", endpoint, name="user"),
                Route("/items/{item_id:int}", endpoint, name="item"),
                Route("/prices/{amount:float}", endpoint, name="price"),
                Route("/files/{rest:path}", endpoint, name="file"),
                Route("/objects/{key:uuid}", endpoint, name="object"),
            ]
        )
        path = router.url_path_for(name, **params)
        return (type(path).__name__, str(path), path.protocol, path.host)

    differential.compare_call(url_path_for, label=f"url_path_for({name!r}, **{params!r})")


@pytest.mark.parametrize(
    "path",
    [
        "/users/{id}/posts/{id}",
        "/a/{x}/{y}/{x}/{y}",
        "/users/{id:unknown}",
        "/users/{id:int}",
        "/{a:path}/{b:str}",
        "/users/{}",
        "/users/{1abc}",
        "{subdomain}.example.org",
        "/plain.html",
    ],
)
def test_compile_path_patterns_and_errors(differential: Differential, path: str) -> None:
    def compile_it(fw: Framework) -> Any:
        regex, path_format, convertors = fw.routing.compile_path(path)
        return (regex.pattern, regex.flags, path_format, {k: type(v).__name__ for k, v in convertors.items()})

    differential.compare_call(compile_it, label=f"compile_path({path!r})")


def test_route_rejects_relative_path(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        return fw.routing.Route("relative", lambda request: None)

    differential.compare_call(build, label="Route('relative', ...)")


def test_route_repr_and_equality(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            raise NotImplementedError

        Route = fw.routing.Route
        first = Route("/a", endpoint, methods=["GET", "POST"])
        second = Route("/a", endpoint, methods=["post", "get"])
        third = Route("/a", endpoint)
        return (repr(first), first.name, sorted(first.methods), first == second, first == third, sorted(third.methods))

    differential.compare_call(describe, label="Route repr, name, methods and ==")
