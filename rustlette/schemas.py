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


class OpenAPIResponse(Response):
    """A response that renders a schema dict as YAML."""

    media_type = "application/vnd.oai.openapi"

    def render(self, content: Any) -> bytes:
        assert yaml is not None, "`pyyaml` must be installed to use OpenAPIResponse."
        assert isinstance(content, dict), "The schema passed to OpenAPIResponse should be a dictionary."
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
        endpoints_info: list[EndpointInfo] = []

        for route in routes:
            if isinstance(route, Mount | Host):
                # A Host adds nothing to the path, while a Mount prefixes its own path.
                prefix = self._remove_converter(route.path) if isinstance(route, Mount) else ""
                for sub_endpoint in self.get_endpoints(route.routes or []):
                    endpoints_info.append(
                        EndpointInfo(prefix + sub_endpoint.path, sub_endpoint.http_method, sub_endpoint.func)
                    )
                continue

            if not isinstance(route, Route) or not route.include_in_schema:
                continue

            path = self._remove_converter(route.path)
            if inspect.isfunction(route.endpoint) or inspect.ismethod(route.endpoint):
                for method in route.methods or ["GET"]:
                    if method != "HEAD":
                        endpoints_info.append(EndpointInfo(path, method.lower(), route.endpoint))
            else:
                for method in _ENDPOINT_METHODS:
                    if hasattr(route.endpoint, method):
                        endpoints_info.append(EndpointInfo(path, method, getattr(route.endpoint, method)))

        return endpoints_info

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

        parsed = yaml.safe_load(docstring.split("---")[-1])
        # A docstring without YAML parses to a plain string, which is not an operation.
        if not isinstance(parsed, dict):
            return {}
        return parsed

    def OpenAPIResponse(self, request: Request) -> Response:
        """Build the schema of the app's routes and return it as an `OpenAPIResponse`.

        Meant as the endpoint of a route, such as `Route("/schema", generator.OpenAPIResponse)`.
        """
        schema = self.get_schema(routes=request.app.routes)
        return OpenAPIResponse(schema)


class SchemaGenerator(BaseSchemaGenerator):
    """A generator of OpenAPI schemas: `base_schema` plus the documented operations of the routes."""

    def __init__(self, base_schema: dict[str, Any]) -> None:
        self.base_schema = base_schema

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        schema = dict(self.base_schema)
        schema.setdefault("paths", {})
        # The QUERY method is an operation only from OpenAPI 3.2 on.
        version = _OPENAPI_VERSION.match(str(schema.get("openapi", "")))
        supports_query = version is not None and (int(version[1]), int(version[2])) >= (3, 2)

        for endpoint in self.get_endpoints(routes):
            if endpoint.http_method == "query" and not supports_query:
                continue
            parsed = self.parse_docstring(endpoint.func)
            if not parsed:
                continue
            schema["paths"].setdefault(endpoint.path, {})[endpoint.http_method] = parsed

        return schema
