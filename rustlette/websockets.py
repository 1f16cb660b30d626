from __future__ import annotations

import contextlib
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


_CONNECTING = WebSocketState.CONNECTING
_CONNECTED = WebSocketState.CONNECTED
_DISCONNECTED = WebSocketState.DISCONNECTED
_RESPONSE = WebSocketState.RESPONSE

# The ASGI message types each side may pass in each state, mapped to the state that
# follows. A state missing from a table means that side is finished. The order of
# the message types is the order the error message lists them in.
_CLIENT_TRANSITIONS: dict[WebSocketState, dict[str, WebSocketState]] = {
    _CONNECTING: {"websocket.connect": _CONNECTED},
    _CONNECTED: {"websocket.receive": _CONNECTED, "websocket.disconnect": _DISCONNECTED},
}
_APP_TRANSITIONS: dict[WebSocketState, dict[str, WebSocketState]] = {
    _CONNECTING: {
        "websocket.accept": _CONNECTED,
        "websocket.close": _DISCONNECTED,
        "websocket.http.response.start": _RESPONSE,
    },
    _CONNECTED: {"websocket.send": _CONNECTED, "websocket.close": _DISCONNECTED},
    # The last body message, the one without `more_body`, ends the connection.
    # `WebSocket.send` makes that change, because it depends on a message field.
    _RESPONSE: {"websocket.http.response.body": _RESPONSE},
}

_JSON_MODES = frozenset({"text", "binary"})


def _unexpected_message(allowed: Iterable[str], message_type: Any) -> RuntimeError:
    """Build the error for a message type that is out of order, listing the allowed ones."""
    quoted = [f'"{name}"' for name in allowed]
    expected = quoted[-1] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return RuntimeError(f"Expected ASGI message {expected}, but got {message_type!r}")


def _check_json_mode(mode: str) -> None:
    if mode not in _JSON_MODES:
        raise RuntimeError('The "mode" argument should be "text" or "binary".')


class WebSocket(HTTPConnection[StateT]):
    """A WebSocket connection that checks each message against the ASGI message order."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        super().__init__(scope)
        assert scope["type"] == "websocket"
        self._receive = receive
        self._send = send
        self.client_state = _CONNECTING
        self.application_state = _CONNECTING

    async def receive(self) -> Message:
        """
        Receive the next ASGI message from the client, and reject a message that is
        out of order for the connection's current state.
        """
        allowed = _CLIENT_TRANSITIONS.get(self.client_state)
        if allowed is None:
            raise WebSocketDisconnected('Cannot call "receive" once a disconnect message has been received.')

        message = await self._receive()
        message_type = message["type"]
        next_state = allowed.get(message_type)
        if next_state is None:
            raise _unexpected_message(allowed, message_type)
        self.client_state = next_state
        return message

    async def send(self, message: Message) -> None:
        """
        Send an ASGI message to the client, and reject a message that is out of order
        for the connection's current state.
        """
        state = self.application_state
        allowed = _APP_TRANSITIONS.get(state)
        if allowed is None:
            raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')

        message_type = message["type"]
        next_state = allowed.get(message_type)
        if next_state is None:
            raise _unexpected_message(allowed, message_type)
        if state is _RESPONSE and not message.get("more_body", False):
            next_state = _DISCONNECTED
        # The state moves before the message goes out, so a close message whose
        # send fails still counts as sent.
        self.application_state = next_state

        if state is not _CONNECTED:
            await self._send(message)
            return
        # uvicorn raises `ClientDisconnected`, an OSError, when the socket is already
        # gone. For the application that is an abnormal closure, code 1006.
        try:
            await self._send(message)
        except OSError:
            self.application_state = _DISCONNECTED
            raise WebSocketDisconnect(code=1006)

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        if self.client_state is _CONNECTING:
            # An application may accept before reading anything, so the
            # "websocket.connect" message is consumed on its behalf.
            await self.receive()
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": headers or []})

    def _raise_on_disconnect(self, message: Message) -> None:
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))

    async def _receive_payload(self) -> Message:
        """Receive one data message, and raise WebSocketDisconnect if the client closed instead."""
        if self.application_state is not _CONNECTED:
            raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')
        message = await self.receive()
        self._raise_on_disconnect(message)
        return message

    async def receive_text(self) -> str:
        return cast(str, (await self._receive_payload())["text"])

    async def receive_bytes(self) -> bytes:
        return cast(bytes, (await self._receive_payload())["bytes"])

    async def receive_json(self, mode: str = "text") -> Any:
        _check_json_mode(mode)
        message = await self._receive_payload()
        if mode == "binary":
            return json.loads(message["bytes"].decode("utf-8"))
        return json.loads(message["text"])

    # The iterators end quietly when the client disconnects. Any other error,
    # such as invalid JSON, still reaches the caller.

    async def iter_text(self) -> AsyncIterator[str]:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                yield await self.receive_text()

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                yield await self.receive_bytes()

    async def iter_json(self) -> AsyncIterator[Any]:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                yield await self.receive_json()

    async def send_text(self, data: str) -> None:
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: str = "text") -> None:
        _check_json_mode(mode)
        # Compact separators and raw non-ASCII characters, the same bytes Starlette sends.
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "binary":
            await self.send({"type": "websocket.send", "bytes": encoded.encode("utf-8")})
        else:
            await self.send({"type": "websocket.send", "text": encoded})

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: Response) -> None:
        """
        Reject the handshake with an HTTP response, which needs a server that supports
        the ASGI "websocket.http.response" extension.
        """
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            raise RuntimeError("The server doesn't support the Websocket Denial Response extension.")
        # Passing this object's own receive and send keeps the response messages
        # under the state checks above.
        await response(self.scope, self.receive, self.send)


class WebSocketClose:
    """An ASGI application that closes the WebSocket with a given code and reason."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": self.code, "reason": self.reason})
