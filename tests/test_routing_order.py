"""Route selection order through whole apps, rustlette against starlette.

Every endpoint echoes the scope values that matching decides: its label, the path
parameters with their types, `root_path`, `app_root_path`, `path` and the name of
`scope["route"]`. Equal bodies therefore mean that both frameworks picked the same
route and built the same child scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from differential import Call, Differential, Framework, call, sorted_allow_header

_UUID = "12345678-1234-1234-1234-123456789abc"
_CUSTOM_CONVERTOR = "hexnum"

# A route tree is a tuple of descriptions:
#   ("route", template, methods)   methods None gives an ASGI endpoint, which takes any method
#   ("ws", template)
#   ("mount", template, children)  children None mounts an ASGI app instead of routes
#   ("host", template, children)
Description = tuple[Any, ...]


def _register_custom_convertor(fw: Framework) -> None:
    """Register `{name:hexnum}`, lowercase hex digits converted to an int, on `fw`."""
    base = fw.convertors.Convertor

    class HexConvertor(base):  # type: ignore[misc, valid-type]
        regex = "[0-9a-f]+"

        def convert(self, value: str) -> int:
            return int(value, 16)

        def to_string(self, value: int) -> str:
            return format(value, "x")

    if _CUSTOM_CONVERTOR not in fw.convertors.CONVERTOR_TYPES:
        fw.convertors.register_url_convertor(_CUSTOM_CONVERTOR, HexConvertor())


for _package in ("starlette", "rustlette"):
    _register_custom_convertor(Framework(_package))


def describe_scope(scope: dict[str, Any], label: str) -> str:
    """Render what routing put into `scope`, comparably across both frameworks."""
    params = sorted((key, type(value).__name__, str(value)) for key, value in scope.get("path_params", {}).items())
    route = scope.get("route")
    return repr(
        (label, params, scope.get("root_path"), scope.get("app_root_path"), scope["path"], getattr(route, "name", None))
    )


class EchoApp:
    """An ASGI app that responds to HTTP and websocket scopes with `describe_scope`."""

    def __init__(self, fw: Framework, label: str) -> None:
        self.fw = fw
        self.label = label

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        text = describe_scope(scope, self.label)
        if scope["type"] == "websocket":
            websocket = self.fw.websockets.WebSocket(scope, receive=receive, send=send)
            await websocket.accept()
            await websocket.send_text(text)
            await websocket.close()
            return
        response = self.fw.responses.PlainTextResponse(text)
        await response(scope, receive, send)


def build_routes(fw: Framework, descriptions: Sequence[Description], prefix: str = "r") -> list[Any]:
    """Build the routes of `descriptions` with `fw`, labelling each by its position."""
    routing = fw.routing
    routes = []
    for position, description in enumerate(descriptions):
        kind, template, extra = (*description, None)[:3]
        label = f"{prefix}{position}"
        if kind == "route":
            if extra is None:
                routes.append(routing.Route(template, EchoApp(fw, label), name=label))
            else:
                routes.append(routing.Route(template, _http_endpoint(fw, label), methods=list(extra), name=label))
        elif kind == "ws":
            routes.append(routing.WebSocketRoute(template, _websocket_endpoint(fw, label), name=label))
        elif kind == "mount":
            if extra is None:
                routes.append(routing.Mount(template, app=EchoApp(fw, label), name=label))
            else:
                routes.append(routing.Mount(template, routes=build_routes(fw, extra, label + "."), name=label))
        elif kind == "host":
            router = routing.Router(routes=build_routes(fw, extra, label + "."))
            routes.append(routing.Host(template, app=router, name=label))
        else:
            raise ValueError(f"unknown route kind {kind!r}")
    return routes


def _http_endpoint(fw: Framework, label: str) -> Any:
    response_class = fw.responses.PlainTextResponse

    async def endpoint(request: Any) -> Any:
        return response_class(describe_scope(request.scope, label))

    return endpoint


def _websocket_endpoint(fw: Framework, label: str) -> Any:
    async def endpoint(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_text(describe_scope(websocket.scope, label))
        await websocket.close()

    return endpoint


def app_factory(descriptions: Sequence[Description], appended: Sequence[Description] = ()) -> Any:
    """Return a factory for an app with these routes and a `POST /__append` route first.

    `POST /__append` extends the app's routes with `appended` while the app runs.
    """

    def factory(fw: Framework) -> Any:
        later = build_routes(fw, appended, "late")

        async def append(request: Any) -> Any:
            request.app.router.routes.extend(later)
            return fw.responses.PlainTextResponse("appended")

        routes = [fw.routing.Route("/__append", append, methods=["POST"]), *build_routes(fw, descriptions)]
        return fw.applications.Starlette(routes=routes)

    return factory


def compare_websocket(differential: Differential, factory: Any, path: str, host: str = "testserver") -> Any:
    """Open a websocket on both apps and compare the first text frame, or the error."""

    def connect(fw: Framework) -> Any:
        client = fw.testclient.TestClient(factory(fw))
        try:
            with client.websocket_connect(path, headers={"host": host}) as session:
                return session.receive_text()
        finally:
            client.close()

    return differential.compare_call(connect, label=f"websocket {path!r} host {host!r}")


_NO_REDIRECTS = {"follow_redirects": False}


# Declaration order.


def _get(path: str, host: str = "testserver", method: str = "GET") -> Call:
    return call(method, path, headers={"host": host})


_ORDER_CASES: list[tuple[str, list[Description], list[tuple[Call, int, str | None]]]] = [
    (
        "param_before_static",
        [("route", "/users/{name}", ("GET",)), ("route", "/users/me", ("GET",))],
        [(_get("/users/me"), 200, "r0"), (_get("/users/you"), 200, "r0")],
    ),
    (
        "static_before_param",
        [("route", "/users/me", ("GET",)), ("route", "/users/{name}", ("GET",))],
        [(_get("/users/me"), 200, "r0"), (_get("/users/you"), 200, "r1")],
    ),
    (
        "int_then_slug",
        [("route", "/{id:int}", ("GET",)), ("route", "/{slug}", ("GET",))],
        [(_get("/12"), 200, "r0"), (_get("/abc"), 200, "r1"), (_get("/1.5"), 200, "r1"), (_get("/-3"), 200, "r1")],
    ),
    (
        "slug_then_int",
        [("route", "/{slug}", ("GET",)), ("route", "/{id:int}", ("GET",))],
        [(_get("/12"), 200, "r0")],
    ),
    (
        "float_uuid_and_path",
        [
            ("route", "/v/{value:float}", ("GET",)),
            ("route", "/v/{key:uuid}", ("GET",)),
            ("route", "/v/{rest:path}", ("GET",)),
        ],
        [
            (_get("/v/1.5"), 200, "r0"),
            (_get("/v/15"), 200, "r0"),
            (_get(f"/v/{_UUID}"), 200, "r1"),
            (_get("/v/" + _UUID.replace("-", "").upper()), 200, "r1"),
            (_get("/v/1.5/x"), 200, "r2"),
            (_get("/v/"), 200, "r2"),
        ],
    ),
    (
        "mount_shadows_later_route",
        [("mount", "/users", (("route", "/{name}", ("GET",)),)), ("route", "/users/me", ("GET",))],
        [(_get("/users/me"), 200, "r0.0"), (_get("/users"), 307, None), (_get("/users/"), 404, None)],
    ),
    (
        "route_before_mount",
        [("route", "/users/me", ("GET",)), ("mount", "/users", (("route", "/{name}", ("GET",)),))],
        [(_get("/users/me"), 200, "r0"), (_get("/users/you"), 200, "r1.0")],
    ),
    (
        "nested_mounts_with_params",
        [
            (
                "mount",
                "/orgs/{org}",
                (
                    ("mount", "/teams/{team:int}", (("route", "/members/{member}", ("GET",)),)),
                    ("route", "/teams/{team}", ("GET",)),
                ),
            ),
        ],
        [
            (_get("/orgs/acme/teams/7/members/ada"), 200, "r0.0.0"),
            (_get("/orgs/acme/teams/seven"), 200, "r0.1"),
            (_get("/orgs/acme/teams/7"), 200, "r0.1"),
        ],
    ),
    (
        "host_before_route",
        [
            ("host", "{sub}.example.org", (("route", "/users/{name}", ("GET",)),)),
            ("route", "/users/me", ("GET",)),
        ],
        [
            (_get("/users/me", "api.example.org"), 200, "r0.0"),
            (_get("/users/me", "API.EXAMPLE.ORG:8000"), 200, "r0.0"),
            (_get("/users/me"), 200, "r1"),
            (_get("/other", "api.example.org"), 404, None),
        ],
    ),
    (
        "route_before_host",
        [
            ("route", "/users/me", ("GET",)),
            ("host", "{sub}.example.org", (("route", "/users/{name}", ("GET",)),)),
        ],
        [(_get("/users/me", "api.example.org"), 200, "r0"), (_get("/users/you", "api.example.org"), 200, "r1.0")],
    ),
    (
        "partial_then_full",
        [
            ("route", "/items", ("POST",)),
            ("route", "/items/{id}", ("GET",)),
            ("route", "/items", ("GET",)),
        ],
        [
            (_get("/items"), 200, "r2"),
            (_get("/items", method="HEAD"), 200, None),
            (_get("/items", method="POST"), 200, "r0"),
            (_get("/items", method="DELETE"), 405, None),
        ],
    ),
    (
        "first_partial_sets_allow",
        [("route", "/x", ("POST",)), ("route", "/x", ("PUT", "PATCH")), ("route", "/{name}", ("DELETE",))],
        [(_get("/x"), 405, None), (_get("/x", method="PATCH"), 200, "r1"), (_get("/y"), 405, None)],
    ),
    (
        "any_method_route_after_partial",
        [("route", "/x", ("POST",)), ("route", "/x", None)],
        [(_get("/x"), 200, "r1"), (_get("/x", method="OPTIONS"), 200, "r1"), (_get("/x", method="POST"), 200, "r0")],
    ),
    (
        "redirect_slashes",
        [("route", "/a/", ("GET",)), ("route", "/b", ("POST",)), ("route", "/c/{x:int}", ("GET",))],
        [
            (_get("/a"), 307, None),
            (_get("/b/"), 307, None),
            (_get("/c/1/"), 307, None),
            (_get("/c/x/"), 404, None),
            (_get("/a//"), 404, None),
        ],
    ),
    (
        "websocket_route_does_not_take_http",
        [("ws", "/live", None), ("route", "/live", ("GET",))],
        [(_get("/live"), 200, "r1")],
    ),
    (
        "mounted_app_gets_rest",
        [("mount", "/static", None), ("route", "/static/{name}", ("GET",)), ("mount", "", None)],
        [(_get("/static/a.css"), 200, "r0"), (_get("/static"), 200, "r2"), (_get("/elsewhere"), 200, "r2")],
    ),
]


@pytest.mark.parametrize(("routes", "requests"), [case[1:] for case in _ORDER_CASES], ids=[c[0] for c in _ORDER_CASES])
def test_declaration_order_picks_first_match(
    differential: Differential, routes: list[Description], requests: list[tuple[Call, int, str | None]]
) -> None:
    calls = [request for request, _, _ in requests]
    outcomes = differential.compare(
        app_factory(routes), *calls, client_options=_NO_REDIRECTS, normalize=sorted_allow_header
    )
    # The reference itself must pick the route the case names, or the case tests nothing.
    for (request, status, label), outcome in zip(requests, outcomes, strict=True):
        assert outcome.status == status, f"starlette sent {outcome.status} for {request}"
        if label is not None:
            assert outcome.body.startswith(f"('{label}',".encode()), f"starlette picked {outcome.body!r}"


def test_websocket_declaration_order(differential: Differential) -> None:
    routes: list[Description] = [
        ("route", "/live", ("GET",)),
        ("ws", "/live/{room}", None),
        ("ws", "/live/lobby", None),
        ("mount", "/live", None),
        ("host", "{sub}.example.org", (("ws", "/chat/{room:int}", None),)),
    ]
    factory = app_factory(routes)
    assert "'r1'" in compare_websocket(differential, factory, "/live/lobby")[1]
    compare_websocket(differential, factory, "/live/lobby/x")
    compare_websocket(differential, factory, "/live")
    compare_websocket(differential, factory, "/chat/7", host="eu.example.org")
    compare_websocket(differential, factory, "/chat/x", host="eu.example.org")


def test_partial_allow_header_keeps_route_order(differential: Differential) -> None:
    routes: list[Description] = [("route", "/doc", ("PUT",)), ("route", "/doc", ("PATCH", "DELETE"))]
    outcomes = differential.compare(app_factory(routes), _get("/doc"), normalize=sorted_allow_header)
    assert outcomes[0].header("allow") == "PUT"


def test_routes_appended_after_first_request(differential: Differential) -> None:
    routes: list[Description] = [("route", "/users/{name}", ("POST",))]
    appended: list[Description] = [("route", "/users/me", ("GET",)), ("route", "/new", ("GET",))]
    calls = [_get("/users/me"), _get("/new"), _get("/__append", method="POST"), _get("/users/me"), _get("/new")]
    outcomes = differential.compare(
        app_factory(routes, appended), *calls, client_options=_NO_REDIRECTS, normalize=sorted_allow_header
    )
    assert [outcome.status for outcome in outcomes] == [405, 404, 200, 200, 200]


# Random tables and paths.

_LITERALS = ["users", "me", "a", "1", "12", "1.5", "x.json", "ff", _UUID]
_CONVERTORS = ["str", "int", "float", "uuid", "path", _CUSTOM_CONVERTOR]
# Values that satisfy or nearly satisfy each convertor.
_VALUES = {
    "str": ["a", "me", "12", "x.json", "ff"],
    "int": ["1", "12", "007", "x", "1.5"],
    "float": ["1.5", "2", "1.", "0.25"],
    "uuid": [_UUID, _UUID.replace("-", ""), _UUID.upper(), "zz"],
    "path": ["", "a", "a/b", "me/", "1/2/3"],
    _CUSTOM_CONVERTOR: ["ff", "12", "FF", "zz"],
}
_METHOD_SETS = [None, ("GET",), ("POST",), ("GET", "POST"), ("PUT", "DELETE")]
_HOST_TEMPLATES = ["{sub}.example.org", "api.example.org", "{n:int}.example.org"]
_HOSTS = ["testserver", "api.example.org", "7.example.org", "x.example.org", "API.Example.org:8000"]
_REQUEST_METHODS = ["GET", "GET", "HEAD", "POST", "DELETE"]

_segment = st.one_of(
    st.sampled_from(_LITERALS).map(lambda text: ("literal", text)),
    st.tuples(
        st.just("param"),
        st.sampled_from(["", "", "v"]),
        st.sampled_from([name for name in _CONVERTORS if name != "path"]),
        st.sampled_from(["", "", ".json"]),
    ),
)


@st.composite
def _template(draw: st.DrawFn, *, allow_path: bool = True, min_size: int = 0) -> tuple[tuple[Any, ...], ...]:
    segments: list[tuple[Any, ...]] = list(draw(st.lists(_segment, min_size=min_size, max_size=3)))
    if allow_path and draw(st.integers(0, 4)) == 0:
        segments.append(("path",))
    elif draw(st.integers(0, 5)) == 0:
        segments.append(("literal", ""))
    return tuple(segments)


def _render(segments: Sequence[tuple[Any, ...]], names: Any) -> str:
    parts = []
    for kind, *rest in segments:
        if kind == "literal":
            parts.append(rest[0])
        elif kind == "param":
            prefix, convertor, suffix = rest
            parts.append(f"{prefix}{{{next(names)}:{convertor}}}{suffix}")
        else:
            parts.append(f"{{{next(names)}:path}}")
    return "/" + "/".join(parts)


_leaf = st.one_of(
    st.tuples(st.just("route"), _template(), st.sampled_from(_METHOD_SETS)),
    st.tuples(st.just("ws"), _template()),
)
_mount = st.tuples(
    st.just("mount"),
    _template(allow_path=False, min_size=1),
    st.one_of(st.none(), st.lists(_leaf, min_size=1, max_size=4).map(tuple)),
)
_host = st.tuples(st.just("host"), st.sampled_from(_HOST_TEMPLATES), st.lists(_leaf, min_size=1, max_size=3).map(tuple))
_node = st.one_of(_leaf, _leaf, _mount, _host)


def _materialize(node: tuple[Any, ...], counter: Any) -> Description:
    """Turn a drawn node into a description with rendered templates."""
    kind = node[0]
    if kind == "route":
        return ("route", _render(node[1], counter), node[2])
    if kind == "ws":
        return ("ws", _render(node[1], counter))
    if kind == "mount":
        children = None if node[2] is None else tuple(_materialize(child, counter) for child in node[2])
        # Mount strips a trailing slash from its path, so "/a/" and "/a" mount alike.
        return ("mount", _render(node[1], counter), children)
    return ("host", node[1], tuple(_materialize(child, counter) for child in node[2]))


def _names() -> Any:
    return iter(f"p{number}" for number in range(1000))


def _fill(template: str, draw: st.DrawFn) -> str:
    """Replace each `{name:convertor}` of a template with a drawn near-miss value."""
    result = []
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        spec, _, rest = after.partition("}")
        convertor = spec.partition(":")[2] or "str"
        result.append(before)
        result.append(draw(st.sampled_from(_VALUES[convertor])))
    result.append(rest)
    return "".join(result)


def _path_templates(descriptions: Sequence[Description], prefix: str = "") -> list[str]:
    templates = []
    for description in descriptions:
        kind, template = description[0], description[1]
        if kind in ("route", "ws"):
            templates.append(prefix + template)
        elif kind == "mount":
            mount_path = prefix + template.rstrip("/")
            templates.append(mount_path + "/")
            templates.append(mount_path + "/a/b")
            if description[2] is not None:
                templates.extend(_path_templates(description[2], mount_path))
        else:
            templates.extend(_path_templates(description[2], prefix))
    return templates


@st.composite
def _scenarios(draw: st.DrawFn) -> tuple[list[Description], list[Description], list[Call], list[tuple[str, str]]]:
    counter = _names()
    routes = [_materialize(node, counter) for node in draw(st.lists(_node, min_size=1, max_size=8))]
    appended = [_materialize(node, counter) for node in draw(st.lists(_leaf, max_size=3))]

    templates = _path_templates(routes + appended) + ["/", "/users/me", "/zz"]
    paths = []
    for _ in range(draw(st.integers(4, 10))):
        path = _fill(draw(st.sampled_from(templates)), draw)
        tweak = draw(st.integers(0, 5))
        if tweak == 0:
            path = path[:-1] if path.endswith("/") and path != "/" else path + "/"
        elif tweak == 1 and path.rfind("/") > 0:
            # Not the first slash: the client would read "//x" as a host name.
            cut = path.rfind("/")
            path = path[:cut] + "/" + path[cut:]
        paths.append(path)

    calls = [
        call(draw(st.sampled_from(_REQUEST_METHODS)), path, headers={"host": draw(st.sampled_from(_HOSTS))})
        for path in paths
    ]
    split = draw(st.integers(0, len(calls)))
    calls.insert(split, call("POST", "/__append"))
    websockets = [(path, draw(st.sampled_from(_HOSTS))) for path in paths[:2]]
    return routes, appended, calls, websockets


@settings(max_examples=60)
@given(_scenarios())
def test_random_tables_match_starlette(
    differential: Differential,
    scenario: tuple[list[Description], list[Description], list[Call], list[tuple[str, str]]],
) -> None:
    routes, appended, calls, websockets = scenario
    factory = app_factory(routes, appended)
    differential.compare(factory, *calls, client_options=_NO_REDIRECTS, normalize=sorted_allow_header)
    for path, host in websockets:
        compare_websocket(differential, factory, path, host)
