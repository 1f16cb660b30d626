from __future__ import annotations

from typing import Any

import pytest

from differential import Differential, Framework, call, sorted_allow_header


def _endpoint_app(fw: Framework, *, inside_application: bool = True) -> Any:
    PlainTextResponse = fw.responses.PlainTextResponse

    class Items(fw.endpoints.HTTPEndpoint):  # type: ignore[misc, name-defined]
        async def get(self, request: Any) -> Any:
            return PlainTextResponse(f"get {request.path_params}")

        def post(self, request: Any) -> Any:
            return PlainTextResponse("sync post", status_code=201)

        async def delete(self, request: Any) -> Any:
            raise fw.exceptions.HTTPException(409, detail="in use")

    class WithHead(fw.endpoints.HTTPEndpoint):  # type: ignore[misc, name-defined]
        async def get(self, request: Any) -> Any:
            return PlainTextResponse("full body")

        async def head(self, request: Any) -> Any:
            return PlainTextResponse("", headers={"X-Head": "own handler"})

    class PostOnly(fw.endpoints.HTTPEndpoint):  # type: ignore[misc, name-defined]
        async def post(self, request: Any) -> Any:
            return PlainTextResponse("posted")

    routes = [
        fw.routing.Route("/items/{item_id:int}", Items),
        fw.routing.Route("/head", WithHead),
        fw.routing.Route("/post-only", PostOnly),
    ]
    if inside_application:
        return fw.applications.Starlette(routes=routes)
    return fw.routing.Router(routes=routes)


@pytest.mark.parametrize("inside_application", [True, False])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/items/3"),
        ("HEAD", "/items/3"),
        ("POST", "/items/3"),
        ("DELETE", "/items/3"),
        ("PUT", "/items/3"),
        ("OPTIONS", "/items/3"),
        ("GET", "/head"),
        ("HEAD", "/head"),
        ("GET", "/post-only"),
        ("HEAD", "/post-only"),
        ("POST", "/post-only"),
    ],
)
def test_http_endpoint_dispatch(differential: Differential, method: str, url: str, inside_application: bool) -> None:
    def factory(fw: Framework) -> Any:
        return _endpoint_app(fw, inside_application=inside_application)

    differential.compare(factory, call(method, url), normalize=sorted_allow_header)


def test_http_endpoint_rejects_websocket_scope(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        return fw.endpoints.HTTPEndpoint({"type": "websocket"}, None, None)

    differential.compare_call(build, label="HTTPEndpoint with a websocket scope")


def test_websocket_endpoint_json_echo(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        events: list[Any] = []

        class Echo(fw.endpoints.WebSocketEndpoint):  # type: ignore[misc, name-defined]
            encoding = "json"

            async def on_connect(self, websocket: Any) -> None:
                events.append("connect")
                await websocket.accept()

            async def on_receive(self, websocket: Any, data: Any) -> None:
                await websocket.send_json({"echo": data})

            async def on_disconnect(self, websocket: Any, close_code: int) -> None:
                events.append(("disconnect", close_code))

        app = fw.applications.Starlette(routes=[fw.routing.WebSocketRoute("/ws", Echo)])
        with fw.testclient.TestClient(app) as client:
            try:
                with client.websocket_connect("/ws") as session:
                    session.send_json({"a": 1})
                    events.append(session.receive_json())
                    session.send_text("not json")
                    close_message = session.receive()
                    events.append(close_message)
            except Exception as exc:
                # On malformed JSON the endpoint closes the socket and raises, which ends the session.
                events.append((type(exc).__name__, str(exc)))
        return events

    differential.compare_call(run, label="WebSocketEndpoint json echo and decode error")
