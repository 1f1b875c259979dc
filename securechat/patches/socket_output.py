"""daphne's WebSocket connections tell the app how much of what it sent is still waiting in the process, and keep the
pongs they write themselves within the app's bound.

An ASGI ``send`` returns as soon as daphne has handed the frame to Twisted, which keeps in the process whatever the
kernel's socket buffer does not take: a client that never reads makes that buffer grow without end, and the memory
stays with the worker once the socket closes (the allocator keeps it). ASGI has no way to tell the app. Here daphne's
``create_application`` puts a ``SocketOutput`` in each WebSocket's scope, under ``SCOPE_KEY``, that reads the
Twisted connection's buffers (``unsent``), and lets the app give a socket it closes time to send what is left
(``drain_before_close``: autobahn drops the connection if the client has not answered the close by then). The chat
consumer closes a socket whose unsent output would pass ``SOCKET_UNSENT_MAX_BYTES`` (docs/DECISIONS.md).

The app's frames are not all a socket writes: autobahn answers every ping the client sends with a pong of the same
payload, written straight to the connection, and the app never hears of it. So a client that sends pings and never
reads would fill the same buffer. ``bound_pongs`` gives daphne's protocol the app's bound: a pong that would take the
unsent output past it closes the socket instead, with the app's code and drain, and later pings go unanswered (autobahn
answers none once a close went out). The app's own frames after that raise autobahn's ``Disconnected``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from autobahn.twisted.websocket import WebSocketAdapterProtocol
from autobahn.websocket import protocol as autobahn_protocol
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import abstract, tcp

from securechat.patches.checks import PatchOutdated, require_attributes, require_calls, require_set_by

logger = logging.getLogger(__name__)

SCOPE_KEY = "socket_output"
# Where a connection keeps the bound its pongs keep to (``bound_pongs``); absent, pongs go out as autobahn sends them.
PONG_BOUND = "securechat_pong_bound"
# A pong's frame: two header bytes (a server's frames are not masked) and the ping's payload, at most 125 bytes.
PONG_HEADER_BYTES = 2

_create_application = Server.create_application
_send_pong = WebSocketProtocol.sendPong  # autobahn's: daphne's protocol has none of its own (``check``)


@dataclass(frozen=True, slots=True)
class PongBound:
    max_bytes: int
    close_code: int
    drain_seconds: float


def unsent(protocol: Any) -> int:
    """Bytes written to ``protocol``'s connection and still in the process (0 once it is gone, or for a transport of
    another kind, such as TLS in daphne itself, which this deployment does not use)."""
    transport = getattr(protocol, "transport", None)
    if not isinstance(transport, tcp.Connection):
        return 0
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class SocketOutput:
    """What one WebSocket connection has not yet handed to the kernel."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def unsent(self) -> int:
        return unsent(self.protocol)

    def drain_before_close(self, seconds: float) -> None:
        """The next close waits up to ``seconds`` for the client's answer (autobahn's default is 1 s), so a client
        that reads gets what was sent before it, and the close code, before the connection is dropped."""
        self.protocol.closeHandshakeTimeout = seconds

    def bound_pongs(self, max_bytes: int, close_code: int, drain_seconds: float) -> None:
        """A pong that would take the unsent output past ``max_bytes`` closes the socket with ``close_code`` instead,
        giving the client ``drain_seconds`` to read what was sent before it."""
        setattr(self.protocol, PONG_BOUND, PongBound(max_bytes, close_code, drain_seconds))


def send_pong_within_bound(self: WebSocketProtocol, payload: bytes | None = None) -> None:
    """autobahn's ``sendPong``, unless the pong would take the connection's unsent output past its bound."""
    bound: PongBound | None = getattr(self, PONG_BOUND, None)
    if bound is not None and self.state == self.STATE_OPEN:
        waiting = unsent(self)
        if waiting > 0 and waiting + PONG_HEADER_BYTES + len(payload or b"") > bound.max_bytes:
            logger.warning("closing a socket of %s: unsent output past %d bytes (a pong)", self.peer, bound.max_bytes)
            self.closeHandshakeTimeout = bound.drain_seconds
            self.sendClose(code=bound.close_code)
            return
    _send_pong(self, payload)


def create_application(self: Server, protocol: Any, scope: dict[str, Any]) -> Any:
    if scope.get("type") == "websocket":
        scope[SCOPE_KEY] = SocketOutput(protocol)
    return _create_application(self, protocol, scope)


def check() -> None:
    require_attributes(__name__, Server, ("create_application",))
    require_attributes(__name__, tcp.Connection, ("dataBuffer", "offset"))
    require_set_by(__name__, abstract.FileDescriptor.__init__, ("_tempDataLen",))
    if "closeHandshakeTimeout" not in WebSocketProtocol.CONFIG_ATTRS:  # copied from the factory to each connection
        raise PatchOutdated(f"{__name__}: autobahn's protocols no longer take closeHandshakeTimeout; review the patch.")
    # A ping reaches autobahn's ``onPing`` (through the Twisted adapter), which answers it with ``sendPong``: the one
    # method replaced here, on daphne's protocol, which must not have one of its own.
    require_attributes(__name__, WebSocketProtocol, ("sendPong", "sendClose", "STATE_OPEN", "peer"))
    require_calls(__name__, autobahn_protocol.WebSocketProtocol.processControlFrame, ("_onPing",))
    require_calls(__name__, WebSocketAdapterProtocol._onPing, ("onPing",))
    require_calls(__name__, autobahn_protocol.WebSocketProtocol.onPing, ("sendPong",))
    if WebSocketProtocol.__dict__.get("sendPong", send_pong_within_bound) is not send_pong_within_bound:
        raise PatchOutdated(f"{__name__}: daphne's WebSocketProtocol has a sendPong of its own; review the patch.")


def install() -> None:
    Server.create_application = create_application
    WebSocketProtocol.sendPong = send_pong_within_bound


def installed() -> bool:
    return Server.create_application is create_application and WebSocketProtocol.sendPong is send_pong_within_bound
