"""daphne's WebSocket connections tell the app how much of what it sent is still waiting in the process.

An ASGI ``send`` returns as soon as daphne has handed the frame to Twisted, which keeps in the process whatever the
kernel's socket buffer does not take: a client that never reads makes that buffer grow without end, and the memory
stays with the worker once the socket closes (the allocator keeps it). ASGI has no way to tell the app. Here daphne's
``create_application`` puts a ``SocketOutput`` in each WebSocket's scope, under ``SCOPE_KEY``, that reads the
Twisted connection's buffers (``unsent``), and lets the app give a socket it closes time to send what is left
(``drain_before_close``: autobahn drops the connection if the client has not answered the close by then). The chat
consumer closes a socket whose unsent output would pass ``SOCKET_UNSENT_MAX_BYTES`` (docs/DECISIONS.md).
"""

from __future__ import annotations

from typing import Any

from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import abstract, tcp

from securechat.patches.checks import PatchOutdated, require_attributes, require_set_by

SCOPE_KEY = "socket_output"

_create_application = Server.create_application


class SocketOutput:
    """What one WebSocket connection has not yet handed to the kernel."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def unsent(self) -> int:
        """Bytes written to the connection and still in the process (0 once it is gone, or for a transport of
        another kind, such as TLS in daphne itself, which this deployment does not use)."""
        transport = getattr(self.protocol, "transport", None)
        if not isinstance(transport, tcp.Connection):
            return 0
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    def drain_before_close(self, seconds: float) -> None:
        """The next close waits up to ``seconds`` for the client's answer (autobahn's default is 1 s), so a client
        that reads gets what was sent before it, and the close code, before the connection is dropped."""
        self.protocol.closeHandshakeTimeout = seconds


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


def install() -> None:
    Server.create_application = create_application


def installed() -> bool:
    return Server.create_application is create_application
