"""Tests for the TestClient's WebSocket sessions, the `WebSocket` class and `WebSocketEndpoint`.

Each case runs under starlette and under rustlette, and the differential fixture
compares the steps recorded on the app side and on the client side.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from differential import Differential, Framework, describe_exception

Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


class _AppError(Exception):
    pass


def _attempt(fw: Framework, action: Callable[[], Any]) -> Any:
    """Run `action` and return its result, or a description of the exception it raised."""
    try:
        return ("returned", action())
    except Exception as exc:
        described = describe_exception(exc, fw.package)
        details = {name: getattr(exc, name) for name in ("code", "reason") if hasattr(exc, name)}
        # A denial response is also an httpx response.
        response: Any = exc
        if hasattr(response, "status_code"):
            details.update(status=response.status_code, headers=response.headers.multi_items(), body=response.content)
        return ("raised", *described, details)


def _websocket_scope(**extra: Any) -> dict[str, Any]:
    return {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "subprotocols": [],
        "state": {},
        **extra,
    }


def _drive(app: Any, scope: dict[str, Any], incoming: list[Message], *, send_error: bool = False) -> Any:
    """Run `app` without a client. Feed it `incoming`, and return what it sent and what it raised."""
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        if send_error and message["type"] == "websocket.send":
            raise OSError("connection reset")
        sent.append(message)

    async def run() -> Any:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            return type(exc).__name__, str(exc), getattr(exc, "code", None)
        return None

    return sent, anyio.run(run)


# Sessions with plain ASGI apps


def _echo_app(seen: list[Message]) -> Any:
    """Accept with a subprotocol and a header, echo each data message back, and return on disconnect."""

    async def app(scope: Any, receive: Receive, send: Send) -> None:
        seen.append({key: value for key, value in scope.items() if key != "state"})
        seen.append(await receive())
        await send({"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-accepted", b"yes")]})
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", **{k: v for k, v in message.items() if k in ("text", "bytes")}})

    return app


def test_session_messages_both_ways(differential: Differential) -> None:
    def steps(fw: Framework) -> list[Any]:
        seen: list[Message] = []
        client = fw.testclient.TestClient(_echo_app(seen))
        result: list[Any] = []
        with client.websocket_connect("/ws?room=1", subprotocols=["chat", "json"]) as session:
            result += [session.accepted_subprotocol, session.extra_headers]
            session.send_text("héllo")
            result.append(session.receive_text())
            session.send_bytes(b"\x00\xff")
            result.append(session.receive_bytes())
            session.send_json({"k": "é", "n": [1, 2]})
            result.append(session.receive_json())
            session.send_json({"mode": "binary"}, mode="binary")
            result.append(session.receive_json(mode="binary"))
            session.send({"type": "websocket.receive", "text": "raw"})
            result.append(session.receive())
            session.close(4001, "leaving")
        return [result, seen]

    _, (result, seen) = differential.compare_call(steps, label="echo session")
    assert result[0] == "chat"
    assert result[2:6] == ["héllo", b"\x00\xff", {"k": "é", "n": [1, 2]}, {"mode": "binary"}]
    assert seen[-1] == {"type": "websocket.disconnect", "code": 4001, "reason": "leaving"}


@pytest.mark.parametrize(
    ("client_options", "url", "connect_options"),
    [
        ({}, "/ws", {}),
        ({}, "/chat/ro%20om?x=1&y=%C3%A9", {}),
        ({}, "/a%2525b/caf%C3%A9", {}),
        ({}, "ws://example.org:1234/x", {}),
        ({}, "wss://secure.test/x", {}),
        ({"base_url": "https://api.test/base/"}, "/ws", {}),
        ({"root_path": "/mounted", "client": ("1.2.3.4", 9)}, "/mounted/ws", {}),
        ({"headers": {"X-Client": "c"}, "cookies": {"sid": "1"}}, "/ws", {"headers": {"X-Extra": "e"}}),
        ({}, "/ws", {"headers": {"Connection": "keep-alive", "sec-websocket-key": "mine"}}),
        ({}, "/ws", {"subprotocols": ["a", " b ", "c"]}),
        ({}, "/ws", {"params": {"token": "t"}}),
    ],
)
def test_session_scope_matches_reference(
    differential: Differential, client_options: dict[str, Any], url: str, connect_options: dict[str, Any]
) -> None:
    def scope_seen(fw: Framework) -> Message:
        seen: list[Message] = []
        client = fw.testclient.TestClient(_echo_app(seen), **client_options)
        with client.websocket_connect(url, **connect_options):
            pass
        return seen[0]

    _, scope = differential.compare_call(scope_seen, label=url)
    assert scope["type"] == "websocket"
    assert scope["extensions"] == {"websocket.http.response": {}}


def test_connect_headers_argument_left_unchanged() -> None:
    from rustlette.testclient import TestClient

    headers = {"X-Extra": "e"}
    with TestClient(_echo_app([])).websocket_connect("/ws", headers=headers):
        pass

    assert headers == {"X-Extra": "e"}


def _closing_app(code: int | None, reason: str | None, *, accept: bool) -> Any:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await receive()
        if accept:
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": "before close"})
        message: Message = {"type": "websocket.close"}
        if code is not None:
            message["code"] = code
        if reason is not None:
            message["reason"] = reason
        await send(message)

    return app


@pytest.mark.parametrize("accept", [True, False])
@pytest.mark.parametrize(("code", "reason"), [(None, None), (1001, None), (4000, "custom reason")])
def test_app_close_raises_disconnect(
    differential: Differential, accept: bool, code: int | None, reason: str | None
) -> None:
    def steps(fw: Framework) -> list[Any]:
        client = fw.testclient.TestClient(_closing_app(code, reason, accept=accept))
        result: list[Any] = []

        def session() -> None:
            with client.websocket_connect("/ws") as connection:
                result.append(connection.receive_text())
                result.append(_attempt(fw, connection.receive_text))

        result.append(_attempt(fw, session))
        return result

    differential.compare_call(steps, label=f"code={code} reason={reason} accept={accept}")


@pytest.mark.parametrize("chunks", [[b"denied"], [b"den", b"", b"ied"], []])
def test_denial_response_raised(differential: Differential, chunks: list[bytes]) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await receive()
        headers = [(b"content-type", b"text/plain"), (b"x-reason", b"auth")]
        await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
        if not chunks:
            await send({"type": "websocket.http.response.body", "body": b""})
        for index, chunk in enumerate(chunks):
            more_body = index < len(chunks) - 1
            await send({"type": "websocket.http.response.body", "body": chunk, "more_body": more_body})

    def outcome(fw: Framework) -> Any:
        client = fw.testclient.TestClient(app)

        def connect() -> None:
            with client.websocket_connect("/ws"):
                pass

        try:
            connect()
        except fw.websockets.WebSocketDisconnect as exc:
            return _attempt(fw, connect), isinstance(exc, fw.testclient.WebSocketDenialResponse)
        return None

    _, (described, is_denial) = differential.compare_call(outcome, label=repr(chunks))
    assert is_denial
    assert described[3]["status"] == 403


@pytest.mark.parametrize("when", ["before_accept", "after_accept", "after_message"])
def test_app_exception_reaches_test(differential: Differential, when: str) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await receive()
        if when == "before_accept":
            raise _AppError(when)
        await send({"type": "websocket.accept"})
        if when == "after_message":
            await receive()
        raise _AppError(when)

    def outcome(fw: Framework) -> Any:
        def session() -> None:
            with fw.testclient.TestClient(app).websocket_connect("/ws") as connection:
                connection.send_text("trigger")

        return _attempt(fw, session)

    _, described = differential.compare_call(outcome, label=when)
    assert described[0] == "raised"
    assert described[2] == when


def test_app_return_without_close(differential: Differential) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "last words"})

    def outcome(fw: Framework) -> list[Any]:
        with fw.testclient.TestClient(app).websocket_connect("/ws") as connection:
            text = connection.receive_text()
            connection.send_text("ignored")
        return [text]

    differential.compare_call(outcome, label="return without close")


def test_session_inside_lifespan(differential: Differential) -> None:
    events: list[str] = []

    async def app(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            for _ in range(2):
                message = await receive()
                events.append(message["type"])
                await send({"type": message["type"] + ".complete"})
            return
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(scope["state"])})

    def outcome(fw: Framework) -> list[Any]:
        events.clear()
        with fw.testclient.TestClient(app) as client:
            with client.websocket_connect("/ws") as connection:
                text = connection.receive_text()
        return [text, list(events)]

    differential.compare_call(outcome, label="inside lifespan")


def test_connect_to_http_url_fails(differential: Differential) -> None:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def outcome(fw: Framework) -> Any:
        return _attempt(fw, lambda: fw.testclient.TestClient(app).websocket_connect("http://testserver/ws"))

    _, described = differential.compare_call(outcome, label="http url")
    assert described[1:3] == ("builtins.RuntimeError", "Expected WebSocket upgrade")


# The WebSocket class


def _websocket_app(fw: Framework, handler: Callable[[Any], Any], log: list[Any]) -> Any:
    """An app that wraps the connection in `fw`'s `WebSocket` and logs what `handler` does."""

    async def app(scope: Any, receive: Receive, send: Send) -> None:
        websocket = fw.websockets.WebSocket(scope, receive, send)
        try:
            await handler(websocket)
        except Exception as exc:
            log.append(("raised", *describe_exception(exc, fw.package)))
            raise
        finally:
            log.append((websocket.client_state.name, websocket.application_state.name))

    return app


async def _typed_exchange(websocket: Any) -> None:
    await websocket.accept(subprotocol="v1", headers=[(b"x-h", b"1")])
    await websocket.send_text(await websocket.receive_text() + "!")
    await websocket.send_bytes(await websocket.receive_bytes() + b"!")
    await websocket.send_json(await websocket.receive_json())
    await websocket.send_json(await websocket.receive_json(mode="binary"), mode="binary")
    await websocket.close(code=4100, reason="done")


def test_websocket_typed_exchange(differential: Differential) -> None:
    def outcome(fw: Framework) -> list[Any]:
        log: list[Any] = []
        client = fw.testclient.TestClient(_websocket_app(fw, _typed_exchange, log))
        result: list[Any] = []
        with client.websocket_connect("/ws", subprotocols=["v1"]) as connection:
            result += [connection.accepted_subprotocol, connection.extra_headers]
            connection.send_text("text")
            result.append(connection.receive_text())
            connection.send_bytes(b"bytes")
            result.append(connection.receive_bytes())
            connection.send_json({"a": "é"})
            result.append(connection.receive())
            connection.send_json([1, 2], mode="binary")
            result.append(connection.receive())
            result.append(_attempt(fw, connection.receive_text))
        return [result, log]

    _, (result, log) = differential.compare_call(outcome, label="typed exchange")
    assert result[4] == {"type": "websocket.send", "text": '{"a":"é"}'}
    assert log == [("CONNECTED", "DISCONNECTED")]


@pytest.mark.parametrize("kind", ["text", "bytes", "json"])
def test_websocket_iteration_ends_on_disconnect(differential: Differential, kind: str) -> None:
    async def handler(websocket: Any) -> None:
        await websocket.accept()
        items = [item async for item in getattr(websocket, f"iter_{kind}")()]
        log_items.append(items)

    log_items: list[Any] = []

    def outcome(fw: Framework) -> list[Any]:
        log_items.clear()
        log: list[Any] = []
        client = fw.testclient.TestClient(_websocket_app(fw, handler, log))
        with client.websocket_connect("/ws") as connection:
            for index in range(3):
                if kind == "text":
                    connection.send_text(f"t{index}")
                elif kind == "bytes":
                    connection.send_bytes(b"b%d" % index)
                else:
                    connection.send_json({"i": index})
        return [list(log_items), log]

    _, (items, _) = differential.compare_call(outcome, label=kind)
    assert len(items[0]) == 3


async def _receive_before_accept(websocket: Any) -> None:
    await websocket.receive_text()


async def _send_before_accept(websocket: Any) -> None:
    await websocket.send_text("too early")


async def _accept_twice(websocket: Any) -> None:
    await websocket.accept()
    await websocket.accept()


async def _send_after_close(websocket: Any) -> None:
    await websocket.accept()
    await websocket.close()
    await websocket.send_text("too late")


async def _receive_after_disconnect(websocket: Any) -> None:
    await websocket.accept()
    await websocket.receive()
    await websocket.receive()
    await websocket.receive()


async def _disconnect_during_receive_text(websocket: Any) -> None:
    await websocket.accept()
    await websocket.receive_text()
    await websocket.receive_text()


async def _bad_receive_mode(websocket: Any) -> None:
    await websocket.accept()
    await websocket.receive_json(mode="xml")


async def _bad_send_mode(websocket: Any) -> None:
    await websocket.accept()
    await websocket.send_json({}, mode="xml")


async def _close_before_accept(websocket: Any) -> None:
    await websocket.close(code=4403)


async def _receive_json_invalid(websocket: Any) -> None:
    await websocket.accept()
    await websocket.receive_json()


_MISUSE_HANDLERS = {
    "receive_before_accept": _receive_before_accept,
    "send_before_accept": _send_before_accept,
    "accept_twice": _accept_twice,
    "send_after_close": _send_after_close,
    "receive_after_disconnect": _receive_after_disconnect,
    "disconnect_during_receive_text": _disconnect_during_receive_text,
    "bad_receive_mode": _bad_receive_mode,
    "bad_send_mode": _bad_send_mode,
    "close_before_accept": _close_before_accept,
    "receive_json_invalid": _receive_json_invalid,
}


@pytest.mark.parametrize("name", sorted(_MISUSE_HANDLERS))
def test_websocket_misuse_errors(differential: Differential, name: str) -> None:
    def outcome(fw: Framework) -> list[Any]:
        log: list[Any] = []
        client = fw.testclient.TestClient(_websocket_app(fw, _MISUSE_HANDLERS[name], log))

        def session() -> None:
            with client.websocket_connect("/ws") as connection:
                connection.send_text("first")
                connection.close(1001)

        return [_attempt(fw, session), log]

    differential.compare_call(outcome, label=name)


@pytest.mark.parametrize(
    ("incoming", "handler_name"),
    [
        ([{"type": "websocket.receive", "text": "x"}], "accept"),
        ([{"type": "websocket.connect"}, {"type": "websocket.connect"}], "accept_then_receive"),
        ([{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1005}], "accept_then_receive_text"),
        ([{"type": "websocket.connect"}, {"type": "websocket.disconnect"}], "accept_then_receive_text"),
        ([{"type": "websocket.connect"}], "send_after_accept"),
        ([{"type": "websocket.connect"}], "send_bad_message"),
        ([{"type": "websocket.connect"}], "close_without_reason"),
        ([{"type": "websocket.connect"}], "close_with_reason"),
        ([{"type": "websocket.connect"}], "denial_without_extension"),
    ],
)
def test_websocket_driven_directly(differential: Differential, incoming: list[Message], handler_name: str) -> None:
    async def handler(websocket: Any, fw: Framework) -> None:
        if handler_name == "denial_without_extension":
            await websocket.send_denial_response(fw.responses.PlainTextResponse("no", status_code=403))
            return
        await websocket.accept()
        if handler_name == "accept_then_receive":
            await websocket.receive()
        elif handler_name == "accept_then_receive_text":
            await websocket.receive_text()
        elif handler_name == "send_after_accept":
            await websocket.send_text("dropped")
        elif handler_name == "send_bad_message":
            await websocket.send({"type": "websocket.accept"})
        elif handler_name == "close_without_reason":
            await websocket.close()
        elif handler_name == "close_with_reason":
            await websocket.close(4001, "bye")

    def outcome(fw: Framework) -> Any:
        async def app(scope: Any, receive: Receive, send: Send) -> None:
            await handler(fw.websockets.WebSocket(scope, receive, send), fw)

        return _drive(app, _websocket_scope(), [dict(message) for message in incoming], send_error=True)

    differential.compare_call(outcome, label=handler_name)


def test_denial_response_sent_by_websocket(differential: Differential) -> None:
    async def handler(websocket: Any) -> None:
        await websocket.send_denial_response(fw_responses[0].PlainTextResponse("go away", status_code=401))

    fw_responses: list[Any] = []

    def outcome(fw: Framework) -> Any:
        fw_responses[:] = [fw.responses]
        log: list[Any] = []
        client = fw.testclient.TestClient(_websocket_app(fw, handler, log))

        def connect() -> None:
            with client.websocket_connect("/ws"):
                pass

        return [_attempt(fw, connect), log]

    _, (described, log) = differential.compare_call(outcome, label="denial response")
    assert described[3]["status"] == 401
    assert described[3]["body"] == b"go away"
    # The denial response is sent without reading "websocket.connect".
    assert log == [("CONNECTING", "DISCONNECTED")]


def test_websocket_close_app(differential: Differential) -> None:
    def outcome(fw: Framework) -> Any:
        close = fw.websockets.WebSocketClose
        return [
            _drive(close(), _websocket_scope(), []),
            _drive(close(code=4001, reason=None), _websocket_scope(), []),
            _drive(close(code=4002, reason="bye"), _websocket_scope(), []),
        ]

    _, results = differential.compare_call(outcome, label="WebSocketClose")
    assert results[0][0] == [{"type": "websocket.close", "code": 1000, "reason": ""}]


def test_exception_and_state_types(differential: Differential) -> None:
    def outcome(fw: Framework) -> Any:
        module = fw.websockets
        disconnect = module.WebSocketDisconnect(1001, "gone")
        default = module.WebSocketDisconnect()
        keyword = module.WebSocketDisconnect(code=4000)
        return [
            [(member.name, member.value) for member in module.WebSocketState],
            (disconnect.code, disconnect.reason, disconnect.args, str(disconnect)),
            (default.code, default.reason, default.args),
            (keyword.code, keyword.reason, keyword.args),
            [base.__name__ for base in module.WebSocketDisconnected.__mro__],
        ]

    differential.compare_call(outcome, label="exception and state types")


# WebSocketEndpoint


def _endpoint(fw: Framework, encoding: str | None, log: list[Any]) -> Any:
    class Endpoint(fw.endpoints.WebSocketEndpoint):  # type: ignore[name-defined,misc]
        async def on_connect(self, websocket: Any) -> None:
            log.append("connect")
            await websocket.accept()

        async def on_receive(self, websocket: Any, data: Any) -> None:
            log.append(("receive", data))
            if data == "boom":
                raise _AppError("on_receive failed")
            await websocket.send_text(repr(data))

        async def on_disconnect(self, websocket: Any, close_code: int) -> None:
            log.append(("disconnect", close_code))

    Endpoint.encoding = encoding
    return Endpoint


@pytest.mark.parametrize("encoding", [None, "text", "bytes", "json", "xml"])
@pytest.mark.parametrize(
    "messages",
    [
        [("text", "hello")],
        [("bytes", b"raw")],
        [("text", '{"a": 1}'), ("bytes", b"[2]")],
        [("text", "not json")],
        [("text", "boom")],
    ],
)
def test_websocket_endpoint_decoding(
    differential: Differential, encoding: str | None, messages: list[tuple[str, Any]]
) -> None:
    def outcome(fw: Framework) -> list[Any]:
        log: list[Any] = []
        client = fw.testclient.TestClient(_endpoint(fw, encoding, log))
        replies: list[Any] = []

        def session() -> None:
            with client.websocket_connect("/ws") as connection:
                for kind, data in messages:
                    if kind == "text":
                        connection.send_text(data)
                    else:
                        connection.send_bytes(data)
                    replies.append(_attempt(fw, connection.receive_text))
                connection.close(4444)

        return [_attempt(fw, session), replies, log]

    differential.compare_call(outcome, label=f"encoding={encoding} messages={messages}")


@pytest.mark.parametrize("encoding", ["text", "bytes", "json"])
@pytest.mark.parametrize("message", [{"text": "plain"}, {"bytes": b"plain"}, {"text": "[1]"}])
def test_websocket_endpoint_closes_on_bad_data(
    differential: Differential, encoding: str, message: dict[str, Any]
) -> None:
    # Driven without a client, because a client loses the close message when the
    # endpoint raises right after sending it.
    def outcome(fw: Framework) -> Any:
        log: list[Any] = []
        incoming = [
            {"type": "websocket.connect"},
            {"type": "websocket.receive", **message},
            {"type": "websocket.disconnect", "code": 1001},
        ]
        return [_drive(_endpoint(fw, encoding, log), _websocket_scope(), incoming), log]

    differential.compare_call(outcome, label=f"encoding={encoding} message={message}")


def test_websocket_endpoint_default_hooks(differential: Differential) -> None:
    def outcome(fw: Framework) -> Any:
        client = fw.testclient.TestClient(fw.endpoints.WebSocketEndpoint)
        with client.websocket_connect("/ws") as connection:
            connection.send_text("ignored")
            connection.close()
        return connection.accepted_subprotocol

    differential.compare_call(outcome, label="default hooks")


def test_websocket_endpoint_rejects_http_scope(differential: Differential) -> None:
    def outcome(fw: Framework) -> Any:
        client = fw.testclient.TestClient(fw.endpoints.WebSocketEndpoint)
        return client.get("/").status_code

    differential.compare_call(outcome, label="http scope")
