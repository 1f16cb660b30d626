"""The Rust `RouteTable` against Starlette's own first-to-last route loop."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from rustlette._rust import RouteTable

_GITHUB_ROUTES = Path(__file__).resolve().parents[1] / "benches" / "data" / "github-api-routes.tsv"

_UUID = "12345678-1234-1234-1234-123456789abc"

# Literal segments that collide with each other and with convertor values, so that
# generated tables shadow and overlap a lot.
_LITERALS = ["", "a", "b", "me", "1", "12", "1.5", "x.json", _UUID, "%2F", "café", "\x00", "a.b", "$(x)", "\ud800"]
_CONVERTORS = ["str", "int", "float", "uuid"]
_AFFIXES = ["", "", "v", ".json", "-"]
# Values that satisfy or nearly satisfy each convertor, to build paths that reach
# deep into the table.
_VALUES = ["a", "me", "1", "12", "1.5", "1.", ".5", "x.json", _UUID, _UUID.replace("-", ""), "a\nb", "", "%2F"]
_METHODS = ["GET", "POST", "PUT"]
_REQUEST_METHODS = ["GET", "HEAD", "POST", "DELETE", "get"]


class _App:
    """A class endpoint, which leaves a `Route` with `methods=None`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the tests only match routes")


def _endpoint(request: Any) -> None:
    raise AssertionError("the tests only match routes")


_segments = st.one_of(
    st.sampled_from(_LITERALS).map(lambda text: ("literal", text)),
    st.tuples(st.just("param"), st.sampled_from(_AFFIXES), st.sampled_from(_CONVERTORS), st.sampled_from(_AFFIXES)),
)


def _render(segments: Sequence[tuple[str, ...]]) -> str:
    """Join segment descriptions into a template, numbering the parameters."""
    names = (f"p{number}" for number in range(100))
    rendered = []
    for kind, *parts in segments:
        if kind == "literal":
            rendered.append(parts[0])
        elif kind == "param":
            prefix, convertor, suffix = parts
            rendered.append(f"{prefix}{{{next(names)}:{convertor}}}{suffix}")
        elif kind == "pair":
            rendered.append(f"{{{next(names)}}}-{{{next(names)}}}")
        else:
            rendered.append(f"{parts[0]}{{{next(names)}:path}}")
    return "/" + "/".join(rendered)


@st.composite
def _templates(draw: st.DrawFn, *, allow_path: bool = True) -> tuple[str, bool]:
    """Draw a path template and whether the table should accept it."""
    segments: list[tuple[str, ...]] = draw(st.lists(_segments, min_size=1, max_size=4))
    expressible = True
    if draw(st.integers(0, 9)) == 0:
        # Two parameters in one segment, which the table leaves to Python.
        segments[-1] = ("pair",)
        expressible = False
    if allow_path:
        tail = draw(st.sampled_from(["none", "none", "end", "end", "prefixed", "middle"]))
        if tail == "end":
            segments.append(("path", ""))
        elif tail == "prefixed":
            segments.append(("path", "f"))
        elif tail == "middle":
            segments.insert(len(segments) - 1, ("path", ""))
            expressible = False
    return _render(segments), expressible


@st.composite
def _routes(draw: st.DrawFn) -> tuple[BaseRoute, bool]:
    kind = draw(st.sampled_from(["http", "http", "http", "websocket", "mount"]))
    if kind == "mount":
        template, expressible = draw(_templates(allow_path=False))
        prefix = draw(st.sampled_from(["", template, template + "/"]))
        return Mount(prefix, app=_App()), expressible or prefix == ""
    template, expressible = draw(_templates())
    if kind == "websocket":
        return WebSocketRoute(template, _App()), expressible
    methods = draw(st.one_of(st.none(), st.lists(st.sampled_from(_METHODS), max_size=3)))
    if methods is None and draw(st.booleans()):
        return Route(template, _App()), expressible
    return Route(template, _endpoint, methods=methods), expressible


def _fill(route: BaseRoute, values: Sequence[str]) -> str:
    """Return a path built from the route's format with the given parameter values."""
    path_format: str = getattr(route, "path_format")
    parts = re.split(r"\{[a-z0-9]+\}", path_format)
    path = parts[0]
    for index, part in enumerate(parts[1:]):
        path += values[index % len(values)] + part
    return path


def _entry(route: BaseRoute) -> Any:
    if isinstance(route, Route):
        return ("http", route.path_regex, route.methods)
    if isinstance(route, WebSocketRoute):
        return ("websocket", route.path_regex)
    if isinstance(route, Mount):
        return ("mount", route.path_regex)
    return None


def _scope(path: str, scope_type: str, method: str) -> Scope:
    scope: Scope = {"type": scope_type, "path": path, "root_path": ""}
    if scope_type == "http":
        scope["method"] = method
    return scope


def _table_loop(table: RouteTable, routes: Sequence[BaseRoute], scope: Scope) -> tuple[int | None, int | None]:
    """Combine one table lookup with `matches()` on the opaque routes before it."""
    full, partial = table.lookup(scope["path"], scope["type"], scope.get("method"))
    for index in table.opaque:
        if full is not None and index > full:
            break
        match, _ = routes[index].matches(scope)
        if match is Match.FULL:
            full = index
            break
        if match is Match.PARTIAL and (partial is None or index < partial):
            partial = index
    if full is not None and partial is not None and partial > full:
        partial = None
    return full, partial


@st.composite
def _paths(draw: st.DrawFn, routes: Sequence[BaseRoute]) -> str:
    style = draw(st.integers(0, 3))
    if style == 0 or not routes:
        segments = draw(st.lists(st.sampled_from(_LITERALS + _VALUES), max_size=6))
        path = "/" + "/".join(segments)
    elif style == 1:
        path = draw(st.text(alphabet="/a1.\n-", max_size=12))
    else:
        route = draw(st.sampled_from(routes))
        values = draw(st.lists(st.sampled_from(_VALUES), min_size=1, max_size=3))
        path = _fill(route, values)
        if isinstance(route, Mount):
            path += draw(st.sampled_from(["", "/", "/a", "/a/b", "/\n", "/a\nb"]))
    return path + draw(st.sampled_from(["", "", "", "/", "\n", "\n\n", "//"]))


def _reference(
    routes: Sequence[BaseRoute], scope: Scope, skip: Sequence[int] = ()
) -> tuple[int | None, int | None]:
    """Return the first FULL and the first PARTIAL before it, as `Router.app` finds
    them, ignoring the routes at the indices in `skip`."""
    partial = None
    for index, route in enumerate(routes):
        if index in skip:
            continue
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return index, partial
        if match is Match.PARTIAL and partial is None:
            partial = index
    return None, partial


def _check_paths(data: st.DataObject, table: RouteTable, routes: Sequence[BaseRoute], count: int) -> None:
    for _ in range(count):
        path = data.draw(_paths(routes), label="path")
        scope_type = data.draw(st.sampled_from(["http", "websocket"]), label="scope_type")
        scope = _scope(path, scope_type, data.draw(st.sampled_from(_REQUEST_METHODS), label="method"))
        assert table.lookup(path, scope_type, scope.get("method")) == _reference(routes, scope, table.opaque)
        assert _table_loop(table, routes, scope) == _reference(routes, scope)
        full, partial, values = table.lookup_params(path, scope_type, scope.get("method"))
        assert (full, partial) == table.lookup(path, scope_type, scope.get("method"))
        assert values == _group_values(routes, full, path)


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _group_values(routes: Sequence[BaseRoute], full: int | None, path: str) -> tuple[str, ...] | None:
    """Return the raw values that the regex of route `full` captures in `path`.

    The table gives none for a path with lone surrogates.
    """
    if full is None or _has_surrogate(path):
        return None
    found = routes[full].path_regex.match(path)  # type: ignore[attr-defined]
    assert found is not None
    return tuple(found.groupdict().values())


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_route_table_matches_random_tables(data: st.DataObject) -> None:
    drawn = data.draw(st.lists(_routes(), min_size=1, max_size=12), label="routes")
    routes = [route for route, _ in drawn]
    table = RouteTable([_entry(route) for route in routes])

    assert table.opaque == tuple(index for index, (_, expressible) in enumerate(drawn) if not expressible)
    _check_paths(data, table, routes, count=12)


# Templates that shadow each other in every order: parameters against literals,
# convertors that reject each other's values, mounts over routes.
_OVERLAPPING = [
    "/users/{name}",
    "/users/me",
    "/users/{id:int}",
    "/users/{id:int}/x",
    "/{id:int}",
    "/{value:float}",
    "/{key:uuid}",
    "/{slug}",
    "/{slug}.json",
    "/v{version:int}",
    "/{rest:path}",
    "/users/{rest:path}",
    "/f{rest:path}",
    "/",
    "/a/b",
]


@st.composite
def _overlapping_routes(draw: st.DrawFn) -> BaseRoute:
    kind = draw(st.sampled_from(["http", "http", "websocket", "mount"]))
    if kind == "mount":
        return Mount(draw(st.sampled_from(["", "/users", "/users/{name}", "/1"])), app=_App())
    template = draw(st.sampled_from(_OVERLAPPING))
    if kind == "websocket":
        return WebSocketRoute(template, _App())
    methods = draw(st.one_of(st.none(), st.lists(st.sampled_from(_METHODS), max_size=2)))
    return Route(template, _endpoint, methods=methods)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_route_table_matches_overlapping_tables(data: st.DataObject) -> None:
    routes = data.draw(st.lists(_overlapping_routes(), min_size=1, max_size=30), label="routes")
    table = RouteTable([_entry(route) for route in routes])

    assert table.opaque == ()
    _check_paths(data, table, routes, count=20)


@pytest.mark.parametrize(
    "path",
    [
        "/users/me",
        "/users/me\n",
        "/users/12",
        "/users/12/x",
        "/users/",
        "/users",
        "/12",
        "/1.5",
        f"/{_UUID}",
        "/abc.json",
        "/v3",
        "/fx/y",
        "/",
        "/\n",
        "//",
        "/a/b",
        "/a/b/",
        "/users/a\nb",
        "/users/%2F",
        "/\x00",
        "/\ud800",
        "",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
def test_route_table_overlap_examples(path: str, method: str) -> None:
    routes: list[BaseRoute] = [Route(template, _endpoint, methods=["POST"]) for template in _OVERLAPPING]
    routes += [Route(template, _endpoint) for template in reversed(_OVERLAPPING)]
    routes.append(Mount("/users", app=_App()))
    table = RouteTable([_entry(route) for route in routes])
    scope = _scope(path, "http", method)

    assert table.lookup(path, "http", method) == _reference(routes, scope)


def _github_routes() -> list[BaseRoute]:
    with _GITHUB_ROUTES.open(newline="") as rows:
        return [Route(path, _endpoint, methods=[method]) for method, path in csv.reader(rows, delimiter="\t")]


def test_route_table_github_api_routes() -> None:
    routes = _github_routes()
    table = RouteTable([_entry(route) for route in routes])

    assert len(table) == 203
    assert table.opaque == ()
    for route in routes:
        for values in (["octocat"], ["1", "x"], ["a\nb"]):
            path = _fill(route, values)
            for suffix in ("", "/", "\n"):
                for method in ("GET", "HEAD", "PUT", "PATCH"):
                    scope = _scope(path + suffix, "http", method)
                    assert table.lookup(path + suffix, "http", method) == _reference(routes, scope), scope


@pytest.mark.parametrize(
    "entry",
    [
        None,
        ("http", re.compile("^/a$", re.IGNORECASE), None),
        ("http", re.compile(b"^/a$"), None),
        ("http", "^/(?P<x>[a-z]+)$", None),
        ("http", "^/a", None),
        ("http", "^/(?P<a>[^/]+)-(?P<b>[^/]+)$", None),
        ("http", "^/(?P<rest>.*)/edit$", None),
        ("http", "^/a$", {b"GET"}),
        ("http", "^/a$", {"GET": True}),
        ("websocket", r"^/a\d$"),
        ("mount", "^/a|b/(?P<path>.*)$"),
    ],
)
def test_route_table_marks_inexpressible_entries_opaque(entry: Any) -> None:
    table = RouteTable([("http", "^/a$", None), entry, ("http", "^/b$", None)])

    assert table.opaque == (1,)
    assert len(table) == 3
    assert table.lookup("/b", "http", "GET") == (2, None)


def test_route_table_accepts_plain_pattern_strings() -> None:
    table = RouteTable(
        [
            ("http", r"^/items/(?P<id>[0-9]+)$", frozenset({"GET", "HEAD"})),
            ("http", r"^/items/(?P<id>[0-9]+)$", ["DELETE"]),
            ("websocket", r"^/items/(?P<id>[0-9]+)$"),
            ("http", "^/\ud800$", ()),
        ]
    )

    assert table.opaque == ()
    assert table.lookup("/items/3", "http", "HEAD") == (0, None)
    assert table.lookup("/items/3", "http", "DELETE") == (1, 0)
    assert table.lookup("/items/3", "http", "PUT") == (None, 0)
    assert table.lookup("/items/3", "websocket", None) == (2, None)
    assert table.lookup("/\ud800", "http", "PUT") == (3, None)
    assert table.lookup("/\ud801", "http", "PUT") == (None, None)


def test_route_table_other_scope_types_match_nothing() -> None:
    table = RouteTable([("mount", "^/(?P<path>.*)$")])

    assert table.lookup("/", "lifespan", None) == (None, None)
    assert table.lookup("/", "HTTP", "GET") == (None, None)
    assert table.lookup("/", "websocket", "GET") == (0, None)


def test_route_table_http_lookup_needs_method() -> None:
    table = RouteTable([])

    with pytest.raises(ValueError) as info:
        table.lookup("/", "http", None)
    assert str(info.value) == "method is required when scope_type is 'http'"


@pytest.mark.parametrize(
    ("entries", "exception", "message"),
    [
        (
            [1],
            TypeError,
            "route table entry 0 must be None, ('http', pattern, methods), ('websocket', pattern) "
            "or ('mount', pattern), not 1",
        ),
        (
            [None, ("http", "^/$")],
            TypeError,
            "route table entry 1 must be None, ('http', pattern, methods), ('websocket', pattern) "
            "or ('mount', pattern), not ('http', '^/$')",
        ),
        (
            [()],
            TypeError,
            "route table entry 0 must be None, ('http', pattern, methods), ('websocket', pattern) "
            "or ('mount', pattern), not ()",
        ),
        (
            [("ws", "^/$")],
            ValueError,
            "route table entry 0 has unknown kind 'ws': expected 'http', 'websocket' or 'mount'",
        ),
        (
            [("mount", b"^/$")],
            TypeError,
            "pattern of route table entry 0 must be str or re.Pattern, not bytes",
        ),
    ],
)
def test_route_table_rejects_malformed_entries(
    entries: list[Any], exception: type[Exception], message: str
) -> None:
    with pytest.raises(exception) as info:
        RouteTable(entries)
    assert str(info.value) == message


def test_route_table_long_paths() -> None:
    routes: list[BaseRoute] = [
        Route("/{a}/{b}", _endpoint),
        Route("/n/{n:int}", _endpoint),
        Mount("/m", app=_App()),
        Route("/{rest:path}", _endpoint),
    ]
    table = RouteTable([_entry(route) for route in routes])
    paths = [
        "/x" * 10_000,
        "/m/" + "y" * (1 << 20),
        "/m/" + "y" * (1 << 20) + "\n",
        "/n/" + "9" * 1000,
        "/" * (1 << 20),
    ]
    for path in paths:
        assert table.lookup(path, "http", "GET") == _reference(routes, _scope(path, "http", "GET"))


def test_route_table_len_and_repr() -> None:
    table = RouteTable([None, ("websocket", "^/$"), None])

    assert len(table) == 3
    assert repr(table) == "<RouteTable: 3 entries, 2 opaque>"
