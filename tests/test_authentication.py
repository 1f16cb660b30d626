"""Differential tests for `authentication` and `middleware.authentication`."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import anyio
import pytest

from differential import Differential, Framework, call, describe_exception

_F = TypeVar("_F", bound=Callable[..., Any])


class Decorator(Protocol):
    def __call__(self, func: _F, /) -> _F: ...


def _basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def _backend(fw: Framework) -> Any:
    """A Basic auth backend: any password works, and the user "admin" also gets the admin scope."""
    authentication = fw.module("authentication")

    class BasicAuthBackend(authentication.AuthenticationBackend):  # type: ignore[misc, name-defined]
        async def authenticate(self, conn: Any) -> Any:
            if "Authorization" not in conn.headers:
                return None

            scheme, _, encoded = conn.headers["Authorization"].partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                decoded = base64.b64decode(encoded, validate=True).decode("ascii")
            except ValueError:
                raise authentication.AuthenticationError("Invalid basic auth credentials")
            username, _, _password = decoded.partition(":")
            scopes = ["authenticated", "admin"] if username == "admin" else ["authenticated"]
            return authentication.AuthCredentials(scopes), authentication.SimpleUser(username)

    return BasicAuthBackend()


def _requires(fw: Framework) -> Callable[..., Decorator]:
    """Return the framework's `requires`, typed so that decorated endpoints keep their types."""
    requires: Callable[..., Decorator] = fw.module("authentication").requires
    return requires


def _auth_app(fw: Framework, **middleware_options: Any) -> Any:
    requires = _requires(fw)
    JSONResponse = fw.responses.JSONResponse

    def describe(request: Any) -> Any:
        return JSONResponse(
            {
                "authenticated": request.user.is_authenticated,
                "user": request.user.display_name,
                "identity": request.user.identity,
                "scopes": request.auth.scopes,
            }
        )

    async def homepage(request: Any) -> Any:
        return describe(request)

    @requires("authenticated")
    async def dashboard(request: Any) -> Any:
        return describe(request)

    @requires("authenticated")
    def dashboard_sync(request: Any) -> Any:
        return describe(request)

    @requires(["authenticated", "admin"], status_code=404)
    async def admin(request: Any) -> Any:
        return describe(request)

    @requires(("authenticated", "admin"), status_code=401)
    def admin_sync(request: Any) -> Any:
        return describe(request)

    @requires("authenticated", redirect="homepage")
    async def private(request: Any) -> Any:
        return describe(request)

    @requires("authenticated", redirect="homepage")
    def private_sync(request: Any) -> Any:
        return describe(request)

    @requires([])
    async def no_scopes(request: Any) -> Any:
        return describe(request)

    class Profile(fw.endpoints.HTTPEndpoint):  # type: ignore[misc, name-defined]
        @requires("authenticated")
        async def get(self, request: Any) -> Any:
            return describe(request)

        @requires("admin")
        def post(self, request: Any) -> Any:
            return describe(request)

    @requires("authenticated")
    async def websocket_endpoint(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_json({"user": websocket.user.display_name, "scopes": websocket.auth.scopes})
        await websocket.close()

    async def websocket_open(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_json({"authenticated": websocket.user.is_authenticated})
        await websocket.close()

    Route = fw.routing.Route
    routes = [
        Route("/", homepage, name="homepage"),
        Route("/dashboard", dashboard),
        Route("/dashboard/sync", dashboard_sync),
        Route("/admin", admin),
        Route("/admin/sync", admin_sync),
        Route("/private", private),
        Route("/private/sync", private_sync),
        Route("/no-scopes", no_scopes),
        Route("/profile", Profile),
        fw.routing.WebSocketRoute("/ws", websocket_endpoint),
        fw.routing.WebSocketRoute("/ws/open", websocket_open),
    ]
    middleware = [
        fw.middleware.Middleware(
            fw.module("middleware.authentication").AuthenticationMiddleware,
            backend=_backend(fw),
            **middleware_options,
        )
    ]
    return fw.applications.Starlette(routes=routes, middleware=middleware)


_PATHS = [
    "/",
    "/dashboard",
    "/dashboard/sync",
    "/admin",
    "/admin/sync",
    "/private",
    "/private/sync",
    "/private?x=1&y=%20",
    "/no-scopes",
    "/profile",
]

_CREDENTIALS = {
    "anonymous": {},
    "user": _basic("tom:secret"),
    "admin": _basic("admin:secret"),
    "other-scheme": {"Authorization": "Bearer abc"},
    "bad-base64": {"Authorization": "Basic !!!"},
}


@pytest.mark.parametrize("who", list(_CREDENTIALS))
def test_requires_http_endpoints(differential: Differential, who: str) -> None:
    headers = _CREDENTIALS[who]
    calls = [call("GET", path, headers=headers) for path in _PATHS]
    calls += [call("POST", "/profile", headers=headers), call("DELETE", "/dashboard", headers=headers)]
    outcomes = differential.compare(_auth_app, *calls, client_options={"follow_redirects": False})

    statuses = {item.url: outcome.status for item, outcome in zip(calls, outcomes, strict=True) if item.method == "GET"}
    if who == "anonymous":
        assert statuses["/dashboard"] == 403
        assert statuses["/private"] == 303
    if who == "bad-base64":
        assert set(statuses.values()) == {400}


def test_requires_redirect_keeps_next_url(differential: Differential) -> None:
    outcomes = differential.compare(
        _auth_app,
        call("GET", "/private?next=old&q=%C3%A9"),
        call("GET", "https://example.org:8443/private/sync"),
        client_options={"follow_redirects": False},
    )
    expected_next = "http%3A%2F%2Ftestserver%2Fprivate%3Fnext%3Dold%26q%3D%25C3%25A9"
    assert outcomes[0].header("location") == f"http://testserver/?next={expected_next}"


def test_requires_follows_redirect_to_login(differential: Differential) -> None:
    outcomes = differential.compare(_auth_app, call("GET", "/private"))
    assert outcomes[0].status == 200


def test_custom_on_error_response(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        def on_error(conn: Any, exc: Exception) -> Any:
            return fw.responses.JSONResponse({"error": str(exc), "path": conn.url.path}, status_code=401)

        return _auth_app(fw, on_error=on_error)

    outcomes = differential.compare(
        factory, call("GET", "/dashboard", headers=_CREDENTIALS["bad-base64"]), call("GET", "/", headers=_basic("a:b"))
    )
    assert outcomes[0].status == 401


def test_middleware_passes_lifespan_through(differential: Differential) -> None:
    differential.compare(_auth_app, call("GET", "/", headers=_basic("tom:x")), lifespan=True)


def _websocket_session(fw: Framework, path: str, headers: dict[str, str], **middleware_options: Any) -> Any:
    client = fw.testclient.TestClient(_auth_app(fw, **middleware_options))
    try:
        with client.websocket_connect(path, headers=headers) as session:
            return ("received", session.receive_json())
    except Exception as exc:
        return ("raised", *describe_exception(exc, fw.package), getattr(exc, "code", None))


@pytest.mark.parametrize("who", list(_CREDENTIALS))
@pytest.mark.parametrize("path", ["/ws", "/ws/open"])
def test_websocket_authentication(differential: Differential, who: str, path: str) -> None:
    def session(fw: Framework) -> Any:
        return _websocket_session(fw, path, _CREDENTIALS[who])

    _, result = differential.compare_call(session, label=f"websocket {path} as {who}")
    if who == "bad-base64" or (who in ("anonymous", "other-scheme") and path == "/ws"):
        assert result[:2] == ("raised", "<framework>.websockets.WebSocketDisconnect")
        assert result[-1] == 1000
    else:
        assert result[0] == "received"


def test_websocket_error_calls_on_error(differential: Differential) -> None:
    def session(fw: Framework) -> Any:
        seen: list[str] = []

        def on_error(conn: Any, exc: Exception) -> Any:
            seen.append(f"{conn.scope['type']}: {exc}")
            return fw.responses.PlainTextResponse("unused")

        result = _websocket_session(fw, "/ws/open", _CREDENTIALS["bad-base64"], on_error=on_error)
        return result, seen

    _, (_, seen) = differential.compare_call(session, label="websocket on_error")
    assert seen == ["websocket: Invalid basic auth credentials"]


def _no_connection_parameter(user: Any) -> None:
    """Shared by both frameworks, so the function repr in the error message is the same."""


def test_requires_without_connection_parameter(differential: Differential) -> None:
    def decorate(fw: Framework) -> Any:
        fw.module("authentication").requires("authenticated")(_no_connection_parameter)

    _, error_type, message = differential.compare_call(decorate, label="requires on a function without request")
    assert error_type == "builtins.Exception"
    assert message.startswith('No "request" or "websocket" argument on function "<function ')


@pytest.mark.parametrize("kind", ["async", "sync", "websocket"])
def test_requires_rejects_wrong_argument_type(differential: Differential, kind: str) -> None:
    def run(fw: Framework) -> Any:
        requires = fw.module("authentication").requires

        async def async_endpoint(request: Any) -> None: ...

        def sync_endpoint(request: Any) -> None: ...

        async def websocket_endpoint(websocket: Any) -> None: ...

        endpoint = {"async": async_endpoint, "sync": sync_endpoint, "websocket": websocket_endpoint}[kind]
        wrapped = requires("authenticated")(endpoint)
        if kind == "sync":
            return wrapped("not a connection")

        async def main() -> Any:
            return await wrapped(websocket="not a connection") if kind == "websocket" else await wrapped(None)

        return anyio.run(main)

    _, error_type, _ = differential.compare_call(run, label=f"{kind} endpoint called with a string")
    assert error_type == "builtins.AssertionError"


def test_requires_reads_keyword_request(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        requires = _requires(fw)
        authentication = fw.module("authentication")

        @requires("read")
        def endpoint(prefix: str, request: Any) -> str:
            return f"{prefix}{request.user.display_name}"

        scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
        scope["auth"] = authentication.AuthCredentials(["read"])
        scope["user"] = authentication.SimpleUser("ann")
        granted = endpoint("user ", request=fw.requests.Request(scope))
        scope["auth"] = authentication.AuthCredentials(["write"])
        try:
            endpoint("user ", request=fw.requests.Request(scope))
        except fw.exceptions.HTTPException as exc:
            return granted, exc.status_code, exc.detail
        return granted, None, None

    _, result = differential.compare_call(run, label="requires with the request passed by keyword")
    assert result == ("user ann", 403, "Forbidden")


def test_requires_keeps_function_metadata(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        requires = fw.module("authentication").requires

        async def endpoint(request: Any) -> None:
            """Show the page."""

        wrapped = requires("x")(endpoint)
        return wrapped.__name__, wrapped.__doc__, wrapped.__wrapped__ is endpoint

    differential.compare_call(run, label="functools.wraps metadata")


def test_user_and_credential_classes(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        authentication = fw.module("authentication")
        simple = authentication.SimpleUser("amy")
        anonymous = authentication.UnauthenticatedUser()
        conn = fw.requests.HTTPConnection({"type": "http", "auth": authentication.AuthCredentials(("a", "b"))})
        return [
            (simple.is_authenticated, simple.display_name, simple.identity, simple.username),
            (anonymous.is_authenticated, anonymous.display_name, anonymous.identity),
            authentication.AuthCredentials().scopes,
            authentication.AuthCredentials(["x"]).scopes,
            authentication.has_required_scope(conn, ["a", "b"]),
            authentication.has_required_scope(conn, ["a", "c"]),
            authentication.has_required_scope(conn, []),
            issubclass(authentication.AuthenticationError, Exception),
            issubclass(authentication.SimpleUser, authentication.BaseUser),
            str(authentication.AuthenticationError("bad token")),
        ]

    differential.compare_call(describe, label="user and credential classes")


def test_default_on_error_response(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        middleware = fw.module("middleware.authentication").AuthenticationMiddleware
        response = middleware.default_on_error(None, ValueError("nope"))
        return response.status_code, response.body, response.headers.raw

    differential.compare_call(describe, label="AuthenticationMiddleware.default_on_error")
