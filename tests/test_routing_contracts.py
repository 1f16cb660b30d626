"""What plugins and subclasses rely on in routing, and hostile paths, against starlette.

FastAPI, Sentry and OpenTelemetry subclass the route classes without calling their
`__init__`, copy mounts and reassign their patterns, patch module functions, replace
the router's app, walk `app.routes` calling `matches()`, and add routes after
startup. Each case runs on both frameworks and compares what they send or return.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from differential import Differential, Framework, call, http_scope, sorted_allow_header


def _echo(fw: Framework, label: str) -> Any:
    response_class = fw.responses.PlainTextResponse

    async def endpoint(request: Any) -> Any:
        scope = request.scope
        params = sorted((key, type(value).__name__, str(value)) for key, value in request.path_params.items())
        route = getattr(scope.get("route"), "name", None)
        return response_class(repr((label, params, scope["root_path"], scope["path"], route)))

    return endpoint


def _api_route_class(fw: Framework) -> type:
    """Return a `Route` subclass shaped like FastAPI's `APIRoute`."""
    routing = fw.routing

    class APIRouteLike(routing.Route):  # type: ignore[misc, name-defined]
        def __init__(self, path: str, endpoint: Any, *, methods: list[str] | None = None, name: str) -> None:
            # Like APIRoute: no Route.__init__, and the attributes are set one by one.
            self.path = path
            self.endpoint = endpoint
            self.name = name
            self.methods = {method.upper() for method in methods or ["GET"]}
            self.path_regex, self.path_format, self.param_convertors = routing.compile_path(path)
            self.app = routing.request_response(endpoint)
            self.include_in_schema = True

        def matches(self, scope: Any) -> Any:
            match, child_scope = super().matches(scope)
            if match is not routing.Match.NONE:
                child_scope["route"] = self
            return match, child_scope

    return APIRouteLike


def _outcomes(client: Any, *requests: tuple[str, str]) -> list[tuple[int, str, str | None]]:
    results = []
    for method, path in requests:
        response = client.request(method, path, follow_redirects=False)
        allow = response.headers.get("allow")
        results.append((response.status_code, response.text, None if allow is None else ", ".join(sorted(allow.split(", ")))))
    return results


# Subclasses and copies.


def test_api_route_subclass_interleaved_with_routes(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        route, api_route = fw.routing.Route, _api_route_class(fw)
        return fw.applications.Starlette(
            routes=[
                route("/items/top", _echo(fw, "top"), name="top"),
                api_route("/items/{item_id:int}", _echo(fw, "api-int"), methods=["POST"], name="api-int"),
                route("/items/{slug}", _echo(fw, "slug"), methods=["PUT"], name="slug"),
                api_route("/items/me", _echo(fw, "api-me"), name="api-me"),
                route("/items/{name}", _echo(fw, "name"), name="name"),
            ]
        )

    requests = [
        call("GET", "/items/top"),
        call("GET", "/items/me"),
        call("GET", "/items/7"),
        call("POST", "/items/7"),
        call("HEAD", "/items/me"),
        call("DELETE", "/items/x"),
        call("GET", "/items/me/"),
    ]
    outcomes = differential.compare(
        factory, *requests, client_options={"follow_redirects": False}, normalize=sorted_allow_header
    )
    assert b"'api-me'" in outcomes[1].body
    assert outcomes[5].status == 405


def test_copied_mount_with_reassigned_pattern(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        routing = fw.routing
        mount = routing.Mount("/v1", routes=[routing.Route("/users/{name}", _echo(fw, "user"), name="user")], name="v1")
        # FastAPI's include_router copies a mount and gives the copy another prefix.
        moved = copy.copy(mount)
        moved.path = "/v2/{tenant}"
        moved.path_regex, moved.path_format, moved.param_convertors = routing.compile_path("/v2/{tenant}/{path:path}")
        moved.name = "v2"

        async def move(request: Any) -> Any:
            moved.path = "/v3"
            moved.path_regex, moved.path_format, moved.param_convertors = routing.compile_path("/v3/{path:path}")
            return fw.responses.PlainTextResponse("moved")

        return fw.applications.Starlette(routes=[routing.Route("/move", move, methods=["POST"]), mount, moved])

    requests = [
        call("GET", "/v1/users/ada"),
        call("GET", "/v2/acme/users/ada"),
        call("GET", "/v3/users/ada"),
        call("POST", "/move"),
        call("GET", "/v2/acme/users/ada"),
        call("GET", "/v3/users/ada"),
        call("GET", "/v1/users/ada"),
    ]
    outcomes = differential.compare(factory, *requests)
    assert [outcome.status for outcome in outcomes] == [200, 200, 404, 200, 404, 200, 200]


def test_dataclass_subclass_of_base_route(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        routing = fw.routing

        @dataclasses.dataclass
        class PrefixRoute(routing.BaseRoute):  # type: ignore[misc, name-defined]
            prefix: str
            label: str

            def matches(self, scope: Any) -> Any:
                if scope["type"] == "http" and scope["path"].startswith(self.prefix):
                    return routing.Match.FULL, {"path_params": {"rest": scope["path"][len(self.prefix) :]}}
                return routing.Match.NONE, {}

            async def handle(self, scope: Any, receive: Any, send: Any) -> None:
                text = f"{self.label} {scope['path_params']}"
                await fw.responses.PlainTextResponse(text)(scope, receive, send)

        prefix_route = PrefixRoute("/a", "prefix")

        async def retarget(request: Any) -> Any:
            prefix_route.prefix = "/b"
            return fw.responses.PlainTextResponse("retargeted")

        return fw.applications.Starlette(
            routes=[
                routing.Route("/retarget", retarget, methods=["POST"]),
                routing.Route("/a/b", _echo(fw, "static"), name="static"),
                prefix_route,
                routing.Route("/b/{x}", _echo(fw, "b"), name="b"),
            ]
        )

    requests = [
        call("GET", "/a/b"),
        call("GET", "/a/c"),
        call("GET", "/b/c"),
        call("POST", "/retarget"),
        call("GET", "/a/c"),
        call("GET", "/b/c"),
    ]
    outcomes = differential.compare(factory, *requests)
    assert outcomes[1].body == b"prefix {'rest': '/c'}"
    assert outcomes[5].body == b"prefix {'rest': '/c'}"


# Replacing and patching.


def _small_app(fw: Framework) -> Any:
    routing = fw.routing
    return fw.applications.Starlette(
        routes=[
            routing.Route("/users/{name}", _echo(fw, "user"), name="user"),
            routing.Mount("/api", routes=[routing.Route("/items/{id:int}", _echo(fw, "item"), name="item")]),
        ]
    )


def test_replacing_router_app_and_middleware_stack(differential: Differential) -> None:
    def replaced_app(fw: Framework) -> Any:
        app = _small_app(fw)

        async def other(scope: Any, receive: Any, send: Any) -> None:
            await fw.responses.PlainTextResponse("replaced")(scope, receive, send)

        # `__call__` goes through `middleware_stack`, which is bound to the original `app`.
        app.router.app = other
        return app

    def replaced_stack(fw: Framework) -> Any:
        app = _small_app(fw)
        router = app.router
        original = router.middleware_stack

        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("path_params", {})["wrapped"] = "yes"
            await original(scope, receive, send)

        router.middleware_stack = wrapped
        return app

    requests = [call("GET", "/users/ada"), call("GET", "/api/items/3"), call("GET", "/nowhere")]
    outcomes = differential.compare(replaced_app, *requests)
    assert outcomes[0].status == 200
    outcomes = differential.compare(replaced_stack, *requests)
    assert b"wrapped" in outcomes[0].body


def test_patched_request_response_is_used(
    differential: Differential, reference: Framework, candidate: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    for fw in (reference, candidate):
        original = fw.routing.request_response

        def patched(func: Any, original: Any = original) -> Any:
            app = original(func)

            async def instrumented(scope: Any, receive: Any, send: Any) -> None:
                async def send_marked(message: Any) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message["headers"], (b"x-instrumented", b"1")]
                    await send(message)

                await app(scope, receive, send_marked)

            return instrumented

        monkeypatch.setattr(fw.routing, "request_response", patched)

    outcomes = differential.compare(_small_app, call("GET", "/users/ada"), call("GET", "/api/items/3"))
    assert outcomes[1].header("x-instrumented") == "1"


def _walk_routes(fw: Framework, routes: list[Any], scope: dict[str, Any], depth: int = 0) -> list[Any]:
    """Find the matching route as tracing plugins do: `matches()` on each route in order."""
    found: list[Any] = []
    for route in routes:
        match, child_scope = route.matches(scope)
        found.append((depth, type(route).__name__, getattr(route, "name", None), match.name))
        if match is fw.routing.Match.FULL:
            nested = getattr(route, "routes", None)
            if nested:
                found.extend(_walk_routes(fw, nested, {**scope, **child_scope}, depth + 1))
            params = sorted((key, str(value)) for key, value in child_scope.get("path_params", {}).items())
            found.append(("params", params, child_scope.get("root_path")))
            break
    return found


def test_plugins_walking_routes_see_same_matches(differential: Differential) -> None:
    def walk(fw: Framework) -> Any:
        app = _small_app(fw)
        client = fw.testclient.TestClient(app)
        client.get("/users/ada")  # the first request builds rustlette's route index
        client.close()
        assert isinstance(app.routes, list)
        results = []
        for path in ("/users/ada", "/api/items/3", "/api/items/x", "/nowhere"):
            for scope_type in ("http", "websocket"):
                scope: dict[str, Any] = {"type": scope_type, "path": path, "root_path": "", "method": "GET", "headers": []}
                results.append(_walk_routes(fw, app.routes, scope))
        return results, app.routes == list(app.routes), len(copy.copy(app.routes))

    differential.compare_call(walk, label="walking app.routes with matches()")


# Changes after startup.

_Mutation = Callable[[Framework, Any, dict[str, Any]], None]


def _route(fw: Framework, path: str, label: str, **options: Any) -> Any:
    return fw.routing.Route(path, _echo(fw, label), name=label, **options)




def _iadd(routes: Any, more: list[Any]) -> Any:
    routes += more
    return routes


def _imul(routes: Any) -> None:
    routes *= 2


def _reassign_pattern(fw: Framework, route: Any, path: str) -> None:
    route.path = path
    route.path_regex, route.path_format, route.param_convertors = fw.routing.compile_path(path)


def _reassign_convertors(fw: Framework, route: Any) -> None:
    # The `{n}` group keeps its regex but now converts with the int convertor.
    route.param_convertors = {"n": fw.convertors.CONVERTOR_TYPES["int"]}


def _never_matches(fw: Framework) -> Any:
    def matches(scope: Any) -> Any:
        return fw.routing.Match.NONE, {}

    return matches


def _delete_instance_matches(fw: Framework, route: Any) -> None:
    route.matches = _never_matches(fw)
    del route.matches


def _change_class(fw: Framework, route: Any) -> None:
    class NeverRoute(type(route)):  # type: ignore[misc]
        def matches(self, scope: Any) -> Any:
            return fw.routing.Match.NONE, {}

    route.__class__ = NeverRoute


_MUTATIONS: dict[str, _Mutation] = {
    "append": lambda fw, app, spare: app.routes.append(spare["late"]),
    "mount": lambda fw, app, spare: app.mount("/users/me", spare["router"]),
    "add_route": lambda fw, app, spare: app.add_route("/late", _echo(fw, "late")),
    "insert_first": lambda fw, app, spare: app.routes.insert(0, spare["other"]),
    "setitem": lambda fw, app, spare: app.routes.__setitem__(0, spare["other"]),
    "setitem_slice": lambda fw, app, spare: app.routes.__setitem__(slice(0, 1), [spare["late"]]),
    "delitem": lambda fw, app, spare: app.routes.__delitem__(0),
    "pop": lambda fw, app, spare: app.routes.pop(0),
    "remove": lambda fw, app, spare: app.routes.remove(app.routes[0]),
    "clear": lambda fw, app, spare: app.routes.clear(),
    "extend": lambda fw, app, spare: app.routes.extend([spare["late"]]),
    "iadd": lambda fw, app, spare: app.router.__setattr__("routes", _iadd(app.routes, [spare["late"]])),
    "imul": lambda fw, app, spare: _imul(app.routes),
    "reverse": lambda fw, app, spare: app.routes.reverse(),
    "sort": lambda fw, app, spare: app.routes.sort(key=lambda route: getattr(route, "path", "")),
    "assign_list": lambda fw, app, spare: setattr(app.router, "routes", [spare["late"]]),
    "nested_append": lambda fw, app, spare: app.routes[1].routes.append(spare["nested"]),
    "reassign_regex": lambda fw, app, spare: _reassign_pattern(fw, app.routes[0], "/people/{name}"),
    "reassign_methods": lambda fw, app, spare: setattr(app.routes[0], "methods", {"POST"}),
    "reassign_convertors": lambda fw, app, spare: _reassign_convertors(fw, app.routes[2]),
    "instance_matches": lambda fw, app, spare: setattr(app.routes[0], "matches", _never_matches(fw)),
    "delete_instance_matches": lambda fw, app, spare: _delete_instance_matches(fw, app.routes[0]),
    "change_class": lambda fw, app, spare: _change_class(fw, app.routes[0]),
}


def _mutable_app(fw: Framework) -> Any:
    routing = fw.routing
    return fw.applications.Starlette(
        routes=[
            _route(fw, "/users/{name}", "user", methods=["GET"]),
            routing.Mount("/api", routes=[_route(fw, "/items/{id}", "item")]),
            _route(fw, "/n/{n}", "n"),
            _route(fw, "/users/me", "me"),
        ]
    )


_PROBES = [
    ("GET", "/users/me"),
    ("GET", "/users/ada"),
    ("POST", "/users/ada"),
    ("GET", "/people/ada"),
    ("GET", "/late"),
    ("GET", "/api/items/3"),
    ("GET", "/api/other/3"),
    ("GET", "/n/12"),
    ("GET", "/n/x"),
    ("GET", "/users/me/"),
]


@pytest.mark.parametrize("name", list(_MUTATIONS))
def test_changes_after_startup_take_effect(differential: Differential, name: str) -> None:
    def run(fw: Framework) -> Any:
        app = _mutable_app(fw)
        # Built before the first request: creating a route sets matching attributes,
        # which alone makes rustlette rebuild its index, and the list has to as well.
        spare = {
            "late": _route(fw, "/late", "late"),
            "other": _route(fw, "/users/{other}", "other"),
            "nested": _route(fw, "/other/{id:int}", "nested"),
            "router": fw.routing.Router(routes=[_route(fw, "/", "mounted")]),
        }
        with fw.testclient.TestClient(app, raise_server_exceptions=False) as client:
            before = _outcomes(client, *_PROBES)
            _MUTATIONS[name](fw, app, spare)
            after = _outcomes(client, *_PROBES)
        return before, after

    before, after = differential.compare_call(run, label=f"{name} after startup")[1]
    if name not in ("delete_instance_matches", "imul"):
        assert before != after, "the change should alter at least one response"


def test_patching_matches_on_the_class(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        app = _mutable_app(fw)
        route_class = fw.routing.Route
        original = route_class.matches

        def patched_matches(self: Any, scope: Any) -> Any:
            # Takes a path that no pattern matches, and drops the users routes.
            if scope["path"] == "/late":
                return fw.routing.Match.FULL, {"endpoint": self.endpoint, "path_params": {}}
            if scope["path"].startswith("/users"):
                return fw.routing.Match.NONE, {}
            return original(self, scope)

        with fw.testclient.TestClient(app) as client:
            before = _outcomes(client, *_PROBES)
            route_class.matches = patched_matches
            try:
                patched = _outcomes(client, *_PROBES)
            finally:
                route_class.matches = original
            restored = _outcomes(client, *_PROBES)
        return before, patched, restored

    before, patched, restored = differential.compare_call(run, label="Route.matches patched")[1]
    assert patched != before
    assert restored == before


def test_route_index_asks_only_chosen_route(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not differential: Starlette calls matches() on every route before the one it picks.
    from rustlette._utils import get_route_path as original
    from rustlette.applications import Starlette
    from rustlette.testclient import TestClient

    calls = 0

    def counting(scope: Any) -> str:
        nonlocal calls
        calls += 1
        return original(scope)

    framework = Framework("rustlette")
    routes = [_route(framework, f"/resources{number}/{{id:int}}", f"r{number}") for number in range(300)]
    with TestClient(Starlette(routes=routes)) as client:
        client.get("/resources0/1")
        monkeypatch.setattr("rustlette.routing.get_route_path", counting)
        response = client.get("/resources299/1")
    assert response.status_code == 200
    # One call for the table lookup. The table also captures the parameter values,
    # so the chosen route's matches() is not called either.
    assert calls == 1


# Hostile paths.


def _register_strict_convertor(fw: Framework) -> None:
    """Register `{name:strict}`, which matches any segment and raises ValueError for "bad"."""

    class StrictConvertor(fw.convertors.Convertor):  # type: ignore[misc, name-defined]
        regex = "[^/]+"

        def convert(self, value: str) -> str:
            if value == "bad":
                raise ValueError(f"invalid value {value!r}")
            return value

        def to_string(self, value: str) -> str:
            return value

    if "strict" not in fw.convertors.CONVERTOR_TYPES:
        fw.convertors.register_url_convertor("strict", StrictConvertor())


for _package in ("starlette", "rustlette"):
    _register_strict_convertor(Framework(_package))


def _hostile_app(fw: Framework) -> Any:
    routing = fw.routing
    route = routing.Route
    return fw.applications.Starlette(
        routes=[
            route("/users/me", _echo(fw, "me"), name="me"),
            route("/users/{name}", _echo(fw, "user"), name="user"),
            route("/files/{rest:path}", _echo(fw, "file"), name="file"),
            route("/n/{id:int}", _echo(fw, "n-post"), methods=["POST"], name="n-post"),
            route("/n/{id:int}", _echo(fw, "n"), name="n"),
            route("/s/{word}", _echo(fw, "s-post"), methods=["POST"], name="s-post"),
            route("/s/{id:int}", _echo(fw, "s-put"), methods=["PUT"], name="s-put"),
            route("/s/{rest:path}", _echo(fw, "s"), name="s"),
            route("/r/x/{id:int}/", _echo(fw, "r"), name="r"),
            # A custom convertor that raises in a partial match before the full one.
            route("/c/{word:strict}", _echo(fw, "c-post"), methods=["POST"], name="c-post"),
            route("/c/{word}", _echo(fw, "c"), name="c"),
            routing.Mount("/m/{id:int}", routes=[route("/{name}", _echo(fw, "m"), name="m")]),
            route("/{a}/{b}", _echo(fw, "pair"), name="pair"),
        ]
    )


_DIGITS_1000 = "1" * 1000
_DIGITS_5000 = "7" * 5000

_HOSTILE_SCOPES: dict[str, tuple[str, bytes | None]] = {
    "percent_decoded_utf8": ("/users/caf\u00e9", b"/users/caf%C3%A9"),
    "invalid_utf8_replaced": ("/users/\ufffd", b"/users/%FF"),
    "invalid_utf8_surrogate": ("/users/\udcff", b"/users/\xff"),
    "encoded_slash_decoded": ("/users/a/b", b"/users/a%2Fb"),
    "literal_percent_2f": ("/users/a%2Fb", b"/users/a%252Fb"),
    "nul_in_segment": ("/users/a\x00b", b"/users/a%00b"),
    "nul_alone": ("/\x00", b"/%00"),
    "newline_at_end": ("/users/me\n", b"/users/me%0A"),
    "empty_path": ("", b""),
    "root": ("/", None),
    "double_slash": ("//", None),
    "empty_segment": ("/users//me", None),
    "trailing_empty_segment": ("/users/", None),
    "megabyte_segment": ("/users/" + "a" * (1 << 20), None),
    "megabyte_rest": ("/files/" + "a/" * (1 << 19), None),
    "ten_thousand_segments": ("/a" * 10_000, None),
    "int_1000_digits": ("/n/" + _DIGITS_1000, None),
    "int_5000_digits": ("/n/" + _DIGITS_5000, None),
    "int_5000_digits_later_partial": ("/s/" + _DIGITS_5000, None),
    "int_5000_digits_redirect": ("/r/x/" + _DIGITS_5000, None),
    "int_5000_digits_mount": ("/m/" + _DIGITS_5000 + "/x", None),
    "int_5000_digits_unused": ("/users/" + _DIGITS_5000, None),
    "int_4300_digits": ("/n/" + "9" * 4300, None),
    "int_4301_digits": ("/n/" + "9" * 4301, None),
    "custom_convertor_raises": ("/c/bad", None),
    "custom_convertor_passes": ("/c/good", None),
}


@pytest.mark.parametrize("name", list(_HOSTILE_SCOPES))
def test_hostile_paths_answer_as_starlette(differential: Differential, name: str) -> None:
    path, raw_path = _HOSTILE_SCOPES[name]
    for method in ("GET", "DELETE"):
        scope = http_scope(path, method=method, raw_path=raw_path)
        differential.compare_scope(_hostile_app, scope, normalize=sorted_allow_header)


def test_overlong_int_raises_value_error(differential: Differential) -> None:
    scope = http_scope("/s/" + _DIGITS_5000)
    outcome = differential.compare_scope(_hostile_app, scope)
    assert outcome.status == 500
    assert outcome.error is not None
    assert outcome.error[0] == "builtins.ValueError"


@pytest.fixture
def _int_digit_limit() -> Iterator[None]:
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(700)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(limit)


@pytest.mark.usefixtures("_int_digit_limit")
def test_lowered_int_digit_limit_is_read_per_request(differential: Differential) -> None:
    for digits in (700, 701):
        outcome = differential.compare_scope(_hostile_app, http_scope("/s/" + "3" * digits))
        assert outcome.status == (200 if digits == 700 else 500)
