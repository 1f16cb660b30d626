"""Differential tests for `schemas`: the schema built from routes, and its YAML response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from differential import Differential, Framework, call


def _routes(fw: Framework) -> list[Any]:
    """Routes that cover every kind the generator handles, with YAML docstrings."""
    Route = fw.routing.Route
    Mount = fw.routing.Mount

    def list_users(request: Any) -> Any:
        """
        responses:
          200:
            description: A list of users.
            examples:
              [{"username": "tom"}, {"username": "lucy"}]
        """

    def create_user(request: Any) -> Any:
        """
        Create a user. This prose comes before the schema.
        ---
        responses:
          200:
            description: A user.
            examples:
              {"username": "tom"}
        """

    def get_user(request: Any) -> Any:
        """
        responses:
          200:
            description: A user.
        parameters:
          - name: id
            in: path
            required: true
        """

    def plain_docstring(request: Any) -> Any:
        """This docstring is prose without a schema."""

    def no_docstring(request: Any) -> Any:
        pass

    def hidden(request: Any) -> Any:
        """
        responses:
          200:
            description: Left out of the schema.
        """

    def search(request: Any) -> Any:
        """
        responses:
          200:
            description: Query results.
        """

    class OrganisationsEndpoint(fw.endpoints.HTTPEndpoint):  # type: ignore[misc, name-defined]
        def get(self, request: Any) -> Any:
            """
            responses:
              200:
                description: A list of organisations.
            """

        def post(self, request: Any) -> Any:
            """
            responses:
              200:
                description: An organisation.
            """

        def query(self, request: Any) -> Any:
            """
            responses:
              200:
                description: Organisations found by a query.
            """

        def delete(self, request: Any) -> Any:
            """Deletes without a schema."""

    def regular_docs(request: Any) -> Any:
        """
        responses:
          200:
            description: Documentation.
        """

    async def websocket_endpoint(websocket: Any) -> None:
        """
        responses:
          200:
            description: Never listed, because WebSocket routes have no operations.
        """

    class Bound:
        def method(self, request: Any) -> Any:
            """
            responses:
              200:
                description: A bound method.
            """

    subapp = fw.applications.Starlette(routes=[Route("/subapp-endpoint", regular_docs)])
    return [
        Route("/users", list_users, methods=["GET", "HEAD"]),
        Route("/users", create_user, methods=["POST"]),
        Route("/users/{id:int}", get_user, methods=["GET"]),
        Route("/users/{id:int}/files/{path:path}", get_user, methods=["PUT", "PATCH"]),
        Route("/plain", plain_docstring),
        Route("/nodoc", no_docstring),
        Route("/hidden", hidden, include_in_schema=False),
        Route("/search", search, methods=["QUERY"]),
        Route("/organisations", OrganisationsEndpoint),
        Route("/bound", Bound().method, methods=["OPTIONS"]),
        fw.routing.WebSocketRoute("/ws", websocket_endpoint),
        Mount(
            "/api/{version:str}",
            routes=[
                Route("/docs", regular_docs, methods=["GET"]),
                Mount("/inner", routes=[Route("/deep/{slug:str}", get_user)]),
            ],
        ),
        Mount("/subapp", subapp),
        Mount("/static", app=lambda scope, receive, send: None),
        fw.routing.Host("api.example.org", fw.routing.Router(routes=[Route("/host-route", regular_docs)])),
    ]


_BASE_SCHEMAS = {
    "openapi-3.0": {"openapi": "3.0.0", "info": {"title": "Example API", "version": "1.0"}},
    "openapi-3.2": {"openapi": "3.2.0", "info": {"title": "Example API", "version": "1.0"}},
    "openapi-3.10": {"openapi": "3.10", "info": {"title": "Example API", "version": "1.0"}},
    "openapi-number": {"openapi": 3.2},
    "no-version": {"info": {"title": "No version"}},
    "unparsable-version": {"openapi": "v3"},
    "with-paths": {"openapi": "3.0.0", "paths": {"/existing": {"get": {"summary": "kept"}}}},
}


@pytest.mark.parametrize("name", list(_BASE_SCHEMAS))
def test_schema_from_routes(differential: Differential, name: str) -> None:
    def build(fw: Framework) -> Any:
        generator = fw.module("schemas").SchemaGenerator(_BASE_SCHEMAS[name])
        return generator.get_schema(routes=_routes(fw))

    _, schema = differential.compare_call(build, label=f"schema with base {name}")
    if name == "openapi-3.0":
        assert sorted(schema["paths"]) == [
            "/api/{version}/docs",
            "/api/{version}/inner/deep/{slug}",
            "/bound",
            "/host-route",
            "/organisations",
            "/subapp/subapp-endpoint",
            "/users",
            "/users/{id}",
            "/users/{id}/files/{path}",
        ]
        assert sorted(schema["paths"]["/organisations"]) == ["get", "post"]
    if name == "openapi-3.2":
        assert sorted(schema["paths"]["/organisations"]) == ["get", "post", "query"]
        assert list(schema["paths"]["/search"]) == ["query"]


def test_endpoints_listed(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        generator = fw.module("schemas").BaseSchemaGenerator()
        return [
            (endpoint.path, endpoint.http_method, endpoint.func.__name__, type(endpoint).__name__, endpoint._fields)
            for endpoint in generator.get_endpoints(_routes(fw))
        ]

    _, endpoints = differential.compare_call(build, label="get_endpoints")
    assert ("/users", "get", "list_users", "EndpointInfo", ("path", "http_method", "func")) in endpoints
    assert all(method != "head" for _, method, *_ in endpoints)


def _schema_app(fw: Framework) -> Any:
    schemas = fw.module("schemas")
    generator = schemas.SchemaGenerator(_BASE_SCHEMAS["openapi-3.0"])
    routes = [*_routes(fw), fw.routing.Route("/schema", generator.OpenAPIResponse, include_in_schema=False)]
    return fw.applications.Starlette(routes=routes)


def test_schema_endpoint_yaml(differential: Differential) -> None:
    outcomes = differential.compare(_schema_app, call("GET", "/schema"), call("HEAD", "/schema"))
    assert outcomes[0].header("content-type") == "application/vnd.oai.openapi"
    assert yaml.safe_load(outcomes[0].body)["info"] == {"title": "Example API", "version": "1.0"}


@pytest.mark.parametrize(
    "content",
    [
        {"openapi": "3.0.0", "paths": {}},
        {"text": "é ✓", "numbers": [1, 2.5, None, True], "nested": {"b": 1, "a": 2}},
        {},
        ["not", "a", "dict"],
        "a string",
    ],
)
def test_openapi_response_render(differential: Differential, content: Any) -> None:
    def render(fw: Framework) -> Any:
        response = fw.module("schemas").OpenAPIResponse(content)
        return response.body, response.headers.raw, response.media_type

    differential.compare_call(render, label=f"OpenAPIResponse({content!r})")


@pytest.mark.parametrize(
    "docstring",
    [
        None,
        "",
        "Only prose.",
        "summary: one line",
        "prose\n---\nresponses:\n  200:\n    description: ok\n",
        "first\n---\nsecond: 1\n---\nthird: 2\n",
        "---\n- a list\n- of items\n",
        "---\n",
        "key: [unclosed",
    ],
)
def test_parse_docstring(differential: Differential, docstring: str | None) -> None:
    def parse(fw: Framework) -> Any:
        def endpoint() -> None:
            pass

        endpoint.__doc__ = docstring
        return fw.module("schemas").BaseSchemaGenerator().parse_docstring(endpoint)

    differential.compare_call(parse, label=f"parse_docstring({docstring!r})")


def test_remove_converter(differential: Differential) -> None:
    def remove(fw: Framework) -> Any:
        generator = fw.module("schemas").BaseSchemaGenerator()
        paths = ["/users/{id:int}", "/{a:str}/{b}/{c:path}", "/plain", "/{odd:}/x", "/{x:float}{y:uuid}"]
        return [generator._remove_converter(path) for path in paths]

    differential.compare_call(remove, label="_remove_converter")


def _documented() -> None:
    """summary: documented"""


def test_without_pyyaml(differential: Differential, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(fw: Framework) -> Any:
        schemas = fw.module("schemas")
        results = []
        actions: list[Callable[[], Any]] = [
            lambda: schemas.OpenAPIResponse({"a": 1}),
            lambda: schemas.BaseSchemaGenerator().parse_docstring(_documented),
            lambda: schemas.BaseSchemaGenerator().parse_docstring(lambda: None),
        ]
        with monkeypatch.context() as patch:
            patch.setattr(schemas, "yaml", None)
            for action in actions:
                try:
                    results.append(("returned", action()))
                except AssertionError as exc:
                    results.append(("raised", str(exc)))
        return results

    _, results = differential.compare_call(run, label="schemas with yaml set to None")
    assert results == [
        ("raised", "`pyyaml` must be installed to use OpenAPIResponse."),
        ("raised", "`pyyaml` must be installed to use parse_docstring."),
        ("returned", {}),
    ]
