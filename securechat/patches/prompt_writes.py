"""Twisted's TCP connections send what is written at once, as asyncio's own transports do.

daphne runs on Twisted. A write to a Twisted connection only buffers the bytes and registers the socket for writing;
they go out when the event loop next reports the socket writable: a turn of the loop later, after everything else
that turn runs, and for the price of two ``epoll_ctl`` calls and a callback. Every frame daphne sends (each member's
copy of a message, each ack) paid that. Here a write goes straight to the socket when nothing is waiting to go
before it, and only what the socket does not take is buffered, Twisted's way. Order is kept: while anything is
buffered, every later write is buffered behind it. Anything unusual (TLS, a paused producer, a closing or closed
connection, a socket error) is left to Twisted's own write. The effect is measured in docs/PERFORMANCE.md
(``make bench-paths``, "socket write" rows) and the reasons are in docs/DECISIONS.md.
"""

from __future__ import annotations

from twisted.internet import abstract, tcp

from securechat.patches.checks import require_attributes, require_set_by

_buffered_write = tcp.Connection.write

# What ``write_now`` reads of a connection: Twisted's own state, private and public.
CONNECTION_STATE = (
    "TLS",
    "producer",
    "streamingProducer",
    "producerPaused",
    "disconnecting",
    "connected",
    "_writeDisconnected",
    "dataBuffer",
    "writeSomeData",
    "write",
)


def write_now(self: tcp.Connection, data: bytes) -> None:
    """Send ``data`` now if nothing waits to go before it; whatever the socket does not take is buffered."""
    if not _may_write_now(self):
        _buffered_write(self, data)
        return
    abstract._dataMustBeBytes(data)
    if not data:
        return
    sent = self.writeSomeData(data)
    if isinstance(sent, Exception) or sent < 0:
        sent = 0  # Twisted's own write meets the error again and closes the connection its usual way
    if sent < len(data):
        _buffered_write(self, data[sent:])


def _may_write_now(connection: tcp.Connection) -> bool:
    producer_waits = connection.producer is not None and (not connection.streamingProducer or connection.producerPaused)
    return not (
        connection.TLS
        or producer_waits
        or connection.disconnecting
        or not connection.connected
        or connection._writeDisconnected
        or connection.dataBuffer
        or connection._tempDataBuffer
    )


def check() -> None:
    require_attributes(__name__, tcp.Connection, CONNECTION_STATE)
    require_set_by(__name__, abstract.FileDescriptor.__init__, ("_tempDataBuffer",))
    require_attributes(__name__, abstract, ("_dataMustBeBytes",))


def install() -> None:
    tcp.Connection.write = write_now


def installed() -> bool:
    return tcp.Connection.write is write_now
