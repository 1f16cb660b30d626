from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

from rustlette.requests import HTTPConnection, StateT
from rustlette.responses import Response
from rustlette.types import Message, Receive, Scope, Send


class WebSocketState(enum.Enum):
    """The stage one side of a WebSocket connection has reached."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


class WebSocketDisconnect(Exception):
    """The peer closed the connection, with its close code and reason."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""


class WebSocketDisconnected(RuntimeError):
    """Use of a WebSocket after its connection is over."""


# The messages the application may send in each state, and the state each one leads to.
# `WebSocket.send` handles the RESPONSE state on its own, because there `more_body`
# decides whether the denial response continues.
_SEND_TRANSITIONS: dict[WebSocketState, dict[str, WebSocketState]] = {
    WebSocketState.CONNECTING: {
        "websocket.accept": WebSocketState.CONNECTED,
        "websocket.close": WebSocketState.DISCONNECTED,
        "websocket.http.response.start": WebSocketState.RESPONSE,
    },
    WebSocketState.CONNECTED: {
        "websocket.send": WebSocketState.CONNECTED,
        "websocket.close": WebSocketState.DISCONNECTED,
    },
}

_SEND_EXPECTED: dict[WebSocketState, str] = {
    WebSocketState.CONNECTING: '"websocket.accept", "websocket.close" or "websocket.http.response.start"',
    WebSocketState.CONNECTED: '"websocket.send" or "websocket.close"',
}

_NOT_CONNECTED = 'WebSocket is not connected. Need to call "accept" first.'
_BAD_JSON_MODE = 'The "mode" argument should be "text" or "binary".'


class WebSocket(HTTPConnection[StateT]):
    """A WebSocket connection that checks each message against the ASGI message order."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        super().__init__(scope)
        assert scope["type"] == "websocket"
        self._receive = receive
        self._send = send
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING

    async def receive(self) -> Message:
        """
        Receive the next ASGI message from the client, and reject a message that is
        out of order for the connection's current state.
        """
        state = self.client_state
        if state == WebSocketState.CONNECTING:
            message = await self._receive()
            message_type = message["type"]
            if message_type != "websocket.connect":
                raise RuntimeError(f'Expected ASGI message "websocket.connect", but got {message_type!r}')
            self.client_state = WebSocketState.CONNECTED
            return message

        if state != WebSocketState.CONNECTED:
            raise WebSocketDisconnected('Cannot call "receive" once a disconnect message has been received.')

        message = await self._receive()
        message_type = message["type"]
        if message_type == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
        elif message_type != "websocket.receive":
            raise RuntimeError(
                f'Expected ASGI message "websocket.receive" or "websocket.disconnect", but got {message_type!r}'
            )
        return message

    async def send(self, message: Message) -> None:
        """
        Send an ASGI message to the client, and reject a message that is out of order
        for the connection's current state.
        """
        state = self.application_state
        if state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')

        message_type = message["type"]
        if state == WebSocketState.RESPONSE:
            if message_type != "websocket.http.response.body":
                raise RuntimeError(f'Expected ASGI message "websocket.http.response.body", but got {message_type!r}')
            if not message.get("more_body", False):
                self.application_state = WebSocketState.DISCONNECTED
            await self._send(message)
            return

        next_state = _SEND_TRANSITIONS[state].get(message_type)
        if next_state is None:
            raise RuntimeError(f"Expected ASGI message {_SEND_EXPECTED[state]}, but got {message_type!r}")
        self.application_state = next_state

        if state == WebSocketState.CONNECTING:
            await self._send(message)
            return

        # uvicorn raises `ClientDisconnected`, an OSError, when the socket is already
        # gone. For the application that is an abnormal closure, code 1006.
        try:
            await self._send(message)
        except OSError:
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(code=1006)

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        # An application may accept before reading anything, so consume the
        # "websocket.connect" message on its behalf.
        if self.client_state == WebSocketState.CONNECTING:
            await self.receive()
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": headers or []})

    def _raise_on_disconnect(self, message: Message) -> None:
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))

    async def _receive_data(self) -> Message:
        if self.application_state != WebSocketState.CONNECTED:
            raise WebSocketDisconnected(_NOT_CONNECTED)
        message = await self.receive()
        self._raise_on_disconnect(message)
        return message

    async def receive_text(self) -> str:
        message = await self._receive_data()
        return cast(str, message["text"])

    async def receive_bytes(self) -> bytes:
        message = await self._receive_data()
        return cast(bytes, message["bytes"])

    async def receive_json(self, mode: str = "text") -> Any:
        if mode not in {"text", "binary"}:
            raise RuntimeError(_BAD_JSON_MODE)
        message = await self._receive_data()
        if mode == "text":
            return json.loads(message["text"])
        return json.loads(message["bytes"].decode("utf-8"))

    async def iter_text(self) -> AsyncIterator[str]:
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: str = "text") -> None:
        if mode not in {"text", "binary"}:
            raise RuntimeError(_BAD_JSON_MODE)
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": text})
        else:
            await self.send({"type": "websocket.send", "bytes": text.encode("utf-8")})

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: Response) -> None:
        """
        Reject the handshake with an HTTP response, which needs a server that supports
        the ASGI "websocket.http.response" extension.
        """
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            raise RuntimeError("The server doesn't support the Websocket Denial Response extension.")
        await response(self.scope, self.receive, self.send)


class WebSocketClose:
    """An ASGI application that closes the WebSocket with a given code and reason."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": self.code, "reason": self.reason})
