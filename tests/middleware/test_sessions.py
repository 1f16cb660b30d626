"""Differential tests for `middleware.sessions`.

The signed cookie contains the signing time in seconds, so every test freezes the clock
of itsdangerous: both frameworks then produce the same cookie bytes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import itsdangerous
import pytest

from differential import Differential, Framework, call, describe_exception, http_scope

_NOW = 1_700_000_000
_SECRET = "example-secret"


@pytest.fixture(autouse=True)
def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: _NOW)


def _signed_cookie(payload: bytes, *, age: int = 0, secret: str = _SECRET) -> str:
    """Sign `payload` as the middleware would have done `age` seconds ago."""
    signer = itsdangerous.TimestampSigner(secret)
    signer.get_timestamp = lambda: _NOW - age  # type: ignore[method-assign]
    return signer.sign(payload).decode()


def _session_cookie(data: Any, **options: Any) -> str:
    return _signed_cookie(base64.b64encode(json.dumps(data).encode()), **options)


def _session_app(fw: Framework, **options: Any) -> Any:
    """An app whose endpoints read and change the session in the ways an app would."""
    JSONResponse = fw.responses.JSONResponse

    async def view(request: Any) -> Any:
        return JSONResponse({"session": request.session})

    async def update(request: Any) -> Any:
        request.session.update(await request.json())
        return JSONResponse({"session": request.session})

    async def clear(request: Any) -> Any:
        request.session.clear()
        return JSONResponse({"session": request.session})

    async def edit(request: Any) -> Any:
        session = request.session
        operation = request.path_params["operation"]
        if operation == "set":
            session["key"] = "value"
        elif operation == "delete":
            del session["key"]
        elif operation == "pop":
            session.pop("key")
        elif operation == "pop-missing":
            session.pop("missing", None)
        elif operation == "popitem":
            session.popitem()
        elif operation == "setdefault-new":
            session.setdefault("new", [1, 2])
        elif operation == "setdefault-existing":
            session.setdefault("key", "other")
        elif operation == "ior":
            session |= {"merged": True}
        elif operation == "read":
            session.get("key")
        return JSONResponse({"session": session, "modified": session.modified, "accessed": session.accessed})

    async def untouched(request: Any) -> Any:
        return fw.responses.PlainTextResponse("no session access", headers={"Vary": "Accept-Encoding"})

    async def vary(request: Any) -> Any:
        request.session["seen"] = True
        return fw.responses.PlainTextResponse("vary", headers={"Vary": "Accept-Encoding"})

    async def replace(request: Any) -> Any:
        request.scope["session"] = fw.module("middleware.sessions").Session({"replaced": 1})
        request.scope["session"].mark_modified()
        return JSONResponse({})

    async def websocket_endpoint(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_json({"session": websocket.session})
        await websocket.close()

    Route = fw.routing.Route
    routes = [
        Route("/view", view),
        Route("/update", update, methods=["POST"]),
        Route("/clear", clear, methods=["POST"]),
        Route("/edit/{operation}", edit, methods=["POST"]),
        Route("/untouched", untouched),
        Route("/vary", vary),
        Route("/replace", replace),
        fw.routing.WebSocketRoute("/ws", websocket_endpoint),
    ]
    sessions = fw.module("middleware.sessions")
    middleware = [fw.middleware.Middleware(sessions.SessionMiddleware, secret_key=_SECRET, **options)]
    return fw.applications.Starlette(routes=routes, middleware=middleware)


def test_session_round_trip(differential: Differential) -> None:
    outcomes = differential.compare(
        _session_app,
        call("GET", "/view"),
        call("POST", "/update", json={"user": "ann", "items": [1, "é"]}),
        call("GET", "/view"),
        call("POST", "/update", json={"user": "bob"}),
        call("GET", "/view"),
        call("POST", "/clear"),
        call("GET", "/view"),
        call("POST", "/clear"),
    )
    assert outcomes[0].header("set-cookie") is None
    cookie = _session_cookie({"user": "ann", "items": [1, "é"]})
    assert outcomes[1].header("set-cookie") == f"session={cookie}; path=/; Max-Age=1209600; httponly; samesite=lax"
    assert json.loads(outcomes[2].body) == {"session": {"user": "ann", "items": [1, "é"]}}
    assert outcomes[5].header("set-cookie") == (
        "session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax"
    )
    assert outcomes[7].header("set-cookie") is None


_OPTIONS: dict[str, dict[str, Any]] = {
    "cookie-name": {"session_cookie": "sid"},
    "no-max-age": {"max_age": None},
    "short-max-age": {"max_age": 60},
    "path": {"path": "/app"},
    "strict": {"same_site": "strict"},
    "none-https-only": {"same_site": "none", "https_only": True},
    "domain": {"domain": "example.org"},
    "partitioned": {"partitioned": True, "https_only": True},
    "all": {
        "session_cookie": "s",
        "max_age": 5,
        "path": "/",
        "same_site": "strict",
        "https_only": True,
        "domain": "testserver",
        "partitioned": True,
    },
}


@pytest.mark.parametrize("name", list(_OPTIONS))
def test_session_cookie_options(differential: Differential, name: str) -> None:
    def factory(fw: Framework) -> Any:
        return _session_app(fw, **_OPTIONS[name])

    differential.compare(
        factory,
        call("POST", "/update", json={"a": 1}),
        call("GET", "/view"),
        call("POST", "/clear"),
        call("POST", "https://testserver/update", json={"b": 2}),
        call("GET", "https://testserver/view"),
        call("POST", "https://testserver/clear"),
    )


def test_secret_object_as_key(differential: Differential) -> None:
    def factory(fw: Framework) -> Any:
        app = _session_app(fw)
        sessions = fw.module("middleware.sessions")
        return sessions.SessionMiddleware(app, secret_key=fw.datastructures.Secret(_SECRET))

    cookie = _session_cookie({"from": "secret"})
    outcomes = differential.compare(factory, call("GET", "/view", headers={"Cookie": f"session={cookie}"}))
    assert json.loads(outcomes[0].body) == {"session": {"from": "secret"}}


_COOKIES = {
    "valid": _session_cookie({"key": "value", "n": 1}),
    "valid-empty": _session_cookie({}),
    "expired": _session_cookie({"key": "value"}, age=1209601),
    "at-max-age": _session_cookie({"key": "value"}, age=1209600),
    "other-secret": _session_cookie({"key": "value"}, secret="another"),
    "tampered": _session_cookie({"key": "value"})[:-2] + "xx",
    "garbage": "not-a-signed-value",
    "empty": "",
}

# The session each cookie of `_COOKIES` decodes to. Any other cookie starts an empty one.
_DECODED = {"valid": {"key": "value", "n": 1}, "at-max-age": {"key": "value"}}


@pytest.mark.parametrize("name", list(_COOKIES))
def test_incoming_session_cookies(differential: Differential, name: str) -> None:
    headers = {"Cookie": f"session={_COOKIES[name]}"}
    outcomes = differential.compare(
        _session_app,
        call("GET", "/view", headers=headers),
        call("POST", "/clear", headers=headers),
        call("POST", "/edit/read", headers=headers),
        call("GET", "/untouched", headers=headers),
    )
    assert json.loads(outcomes[0].body) == {"session": _DECODED.get(name, {})}
    # Only a session that was decoded gets a cookie that clears it.
    cleared = outcomes[1].header("set-cookie")
    assert (cleared is not None) == (name in ("valid", "valid-empty", "at-max-age"))


@pytest.mark.parametrize("cookie", [b"session=caf\xc3\xa9", b"session=\xff\xfe", b"session=a; session=b"])
def test_raw_cookie_header_bytes(differential: Differential, cookie: bytes) -> None:
    outcome = differential.compare_scope(_session_app, http_scope("/view", headers=[(b"cookie", cookie)]))
    assert outcome.status == 200


def test_signed_cookie_with_invalid_payload(differential: Differential) -> None:
    cookies = [
        _signed_cookie(b"!!!"),
        _signed_cookie(base64.b64encode(b"{not json")),
        _signed_cookie(base64.b64encode(b"[1, 2]")),
    ]
    outcomes = differential.compare(
        _session_app, *[call("GET", "/view", headers={"Cookie": f"session={cookie}"}) for cookie in cookies]
    )
    assert all(outcome.error is not None for outcome in outcomes)


@pytest.mark.parametrize(
    "operation",
    ["set", "delete", "pop", "pop-missing", "popitem", "setdefault-new", "setdefault-existing", "ior", "read"],
)
def test_session_operations_mark_changes(differential: Differential, operation: str) -> None:
    headers = {"Cookie": f"session={_COOKIES['valid']}"}
    differential.compare(_session_app, call("POST", f"/edit/{operation}", headers=headers))


def test_popitem_on_empty_session(differential: Differential) -> None:
    outcomes = differential.compare(_session_app, call("POST", "/edit/popitem"))
    assert outcomes[0].error is not None


def test_vary_header_is_extended(differential: Differential) -> None:
    outcomes = differential.compare(_session_app, call("GET", "/vary"), call("GET", "/untouched"))
    assert outcomes[0].header("vary") == "Accept-Encoding, Cookie"
    assert outcomes[1].header("vary") == "Accept-Encoding"


def test_session_replaced_in_scope(differential: Differential) -> None:
    outcomes = differential.compare(_session_app, call("GET", "/replace"))
    assert outcomes[0].header("set-cookie") == (
        f"session={_session_cookie({'replaced': 1})}; path=/; Max-Age=1209600; httponly; samesite=lax"
    )


@pytest.mark.parametrize("name", ["valid", "expired", "garbage"])
def test_websocket_reads_session(differential: Differential, name: str) -> None:
    def session(fw: Framework) -> Any:
        client = fw.testclient.TestClient(_session_app(fw))
        try:
            with client.websocket_connect("/ws", headers={"Cookie": f"session={_COOKIES[name]}"}) as connection:
                return connection.receive_json()
        except Exception as exc:
            return describe_exception(exc, fw.package)

    differential.compare_call(session, label=f"websocket with a {name} session cookie")


def test_session_dict_flags(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        Session = fw.module("middleware.sessions").Session
        steps: list[tuple[Any, ...]] = []
        session = Session({"a": 1})
        steps.append((dict(session), session.accessed, session.modified))
        session.get("a")
        steps.append((dict(session), session.accessed, session.modified))
        session.mark_accessed()
        steps.append((dict(session), session.accessed, session.modified))
        session.pop("missing", None)
        steps.append((dict(session), session.accessed, session.modified))
        session.setdefault("a", 2)
        steps.append((dict(session), session.accessed, session.modified))
        result = session.__ior__({"b": 2})
        steps.append((dict(session), session.accessed, session.modified, result is session))
        fresh = Session()
        fresh.update()
        steps.append((dict(fresh), fresh.accessed, fresh.modified, isinstance(fresh, dict)))
        return steps

    differential.compare_call(describe, label="Session flags")


def test_middleware_attributes(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        SessionMiddleware = fw.module("middleware.sessions").SessionMiddleware
        middleware = SessionMiddleware(None, "key", same_site="none", https_only=True, domain="d", partitioned=True)
        return (
            middleware.session_cookie,
            middleware.max_age,
            middleware.path,
            middleware.security_flags,
            type(middleware.signer).__name__,
            middleware.signer.secret_keys,
        )

    differential.compare_call(describe, label="SessionMiddleware attributes")
