"""OpenAPI schemas built from the YAML part of endpoint docstrings."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from rustlette.requests import Request
from rustlette.responses import Response
from rustlette.routing import BaseRoute, Host, Mount, Route

try:
    import yaml
except ModuleNotFoundError:  # pragma: no cover
    yaml = None  # type: ignore[assignment]

# Methods of an endpoint class that become operations, in the order the schema lists them.
_ENDPOINT_METHODS = ("get", "post", "put", "patch", "delete", "options", "query")

# The `:int` of `{id:int}`. OpenAPI path templates have no converters.
_remove_converter_pattern = re.compile(r":\w+}")

# The leading `major.minor` of the schema's `openapi` field.
_OPENAPI_VERSION = re.compile(r"^(\d+)\.(\d+)")


def _supports_query_method(schema: dict[str, Any]) -> bool:
    """Tell whether the schema's OpenAPI version has the QUERY method, which arrived in 3.2."""
    version = _OPENAPI_VERSION.match(str(schema.get("openapi", "")))
    if version is None:
        return False
    return (int(version[1]), int(version[2])) >= (3, 2)


class OpenAPIResponse(Response):
    """A response that renders a schema dict as YAML."""

    media_type = "application/vnd.oai.openapi"

    def render(self, content: Any) -> bytes:
        assert yaml is not None, "`pyyaml` must be installed to use OpenAPIResponse."
        assert isinstance(content, dict), "The schema passed to OpenAPIResponse should be a dictionary."
        # Block style writes each key of a nested mapping on its own line.
        return yaml.dump(content, default_flow_style=False).encode("utf-8")


class EndpointInfo(NamedTuple):
    """One operation of the schema: its path template, lower-case method and the documented callable."""

    path: str
    http_method: str
    func: Callable[..., Any]


class BaseSchemaGenerator:
    """Base class for schema generators. Subclasses implement `get_schema`."""

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        raise NotImplementedError()  # pragma: no cover

    def get_endpoints(self, routes: list[BaseRoute]) -> list[EndpointInfo]:
        """List the operations of `routes`, descending into `Mount` and `Host` routes.

        A function endpoint gives one entry per method of its route, except HEAD. An
        endpoint class gives one entry per method it defines among get, post, put, patch,
        delete, options and query. Routes with `include_in_schema=False` are left out.
        """
        operations: list[EndpointInfo] = []
        for route in routes:
            if isinstance(route, Mount | Host):
                operations += self._nested_endpoints(route)
            elif isinstance(route, Route) and route.include_in_schema:
                operations += self._route_endpoints(route)
        return operations

    def _nested_endpoints(self, route: Mount | Host) -> list[EndpointInfo]:
        # A Host adds nothing to the path, while a Mount prefixes its own path.
        prefix = self._remove_converter(route.path) if isinstance(route, Mount) else ""
        return [
            EndpointInfo(prefix + inner.path, inner.http_method, inner.func)
            for inner in self.get_endpoints(route.routes or [])
        ]

    def _route_endpoints(self, route: Route) -> list[EndpointInfo]:
        path = self._remove_converter(route.path)
        endpoint = route.endpoint
        if not (inspect.isfunction(endpoint) or inspect.ismethod(endpoint)):
            # An endpoint class documents each handler method separately.
            return [
                EndpointInfo(path, method, getattr(endpoint, method))
                for method in _ENDPOINT_METHODS
                if hasattr(endpoint, method)
            ]
        # HEAD mirrors GET, so it is not an operation of its own.
        return [EndpointInfo(path, method.lower(), endpoint) for method in route.methods or ["GET"] if method != "HEAD"]

    def _remove_converter(self, path: str) -> str:
        """Drop the converters from a path template: `/users/{id:int}` gives `/users/{id}`."""
        return _remove_converter_pattern.sub("}", path)

    def parse_docstring(self, func_or_method: Callable[..., Any]) -> dict[str, Any]:
        """Parse the YAML in a docstring into a dict, or return `{}` when there is none.

        Prose may come first: only the text after the last `---` line is parsed.
        """
        docstring = func_or_method.__doc__
        if not docstring:
            return {}

        assert yaml is not None, "`pyyaml` must be installed to use parse_docstring."
        _, _, yaml_part = docstring.rpartition("---")
        parsed = yaml.safe_load(yaml_part)
        # A docstring without YAML parses to a plain string, which is not an operation.
        return parsed if isinstance(parsed, dict) else {}

    def OpenAPIResponse(self, request: Request) -> Response:
        """Build the schema of the app's routes and return it as an `OpenAPIResponse`.

        Meant as the endpoint of a route, such as `Route("/schema", generator.OpenAPIResponse)`.
        """
        return OpenAPIResponse(self.get_schema(routes=request.app.routes))


class SchemaGenerator(BaseSchemaGenerator):
    """A generator of OpenAPI schemas: `base_schema` plus the documented operations of the routes."""

    def __init__(self, base_schema: dict[str, Any]) -> None:
        self.base_schema = base_schema

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        # A shallow copy, as in Starlette: a `paths` dict that the base schema brings is
        # filled in place.
        schema = dict(self.base_schema)
        paths = schema.setdefault("paths", {})
        skip_query = not _supports_query_method(schema)

        for operation in self.get_endpoints(routes):
            if skip_query and operation.http_method == "query":
                continue
            documented = self.parse_docstring(operation.func)
            if not documented:
                continue
            if operation.path not in paths:
                paths[operation.path] = {}
            paths[operation.path][operation.http_method] = documented

        return schema
