"""daphne's connections send a write at once, keep the order of what the socket could not take yet, and still close
on a dead peer (securechat.patches.prompt_writes), on Twisted's real asyncio reactor and real sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from twisted.internet import protocol, tcp
from twisted.internet.asyncioreactor import AsyncioSelectorReactor

from securechat.patches import prompt_writes


class Recorder(protocol.Protocol):
    def __init__(self, link: Link) -> None:
        self.link = link

    def connectionMade(self) -> None:
        self.link.server = self.transport

    def connectionLost(self, reason: object = None) -> None:
        self.link.lost = True


@dataclass
class Link:
    """A Twisted server connection (``server``) and the plain socket at the other end (``peer``)."""

    loop: asyncio.AbstractEventLoop
    reactor: AsyncioSelectorReactor
    peer: socket.socket = field(init=False)
    server: tcp.Server | None = None
    lost: bool = False

    def turn(self, times: int = 1, pause: float = 0) -> None:
        for _ in range(times):
            self.loop.run_until_complete(asyncio.sleep(pause))

    def read_available(self) -> bytes:
        chunks = []
        while True:
            try:
                chunk = self.peer.recv(1 << 20)
            except BlockingIOError:
                return b"".join(chunks)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def read_all(self, size: int) -> bytes:
        """Read ``size`` bytes at the peer, running the loop (the reactor sends what it buffered) until each chunk
        arrives: an event, so a busy machine makes it later, never wrong; the timeout bounds a wait for bytes that
        never come."""
        got = b""
        while len(got) < size:
            try:
                chunk = self.loop.run_until_complete(asyncio.wait_for(self.loop.sock_recv(self.peer, 1 << 20), 60))
            except TimeoutError:
                raise AssertionError(f"only {len(got)} of {size} bytes arrived") from None
            assert chunk, f"the connection closed after {len(got)} of {size} bytes"
            got += chunk
        return got

    def writing(self) -> bool:
        return self.server in self.reactor.getWriters()


@pytest.fixture
def link() -> Iterator[Link]:
    was_installed = prompt_writes.installed()
    prompt_writes.install()
    loop = asyncio.new_event_loop()
    reactor = AsyncioSelectorReactor(eventloop=loop)
    made = Link(loop, reactor)
    factory = protocol.Factory.forProtocol(lambda: Recorder(made))
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    made.peer = socket.create_connection(("127.0.0.1", port.getHost().port))
    made.peer.setblocking(False)
    for _ in range(100):
        if made.server is not None:
            break
        made.turn()
    assert made.server is not None
    try:
        yield made
    finally:
        made.peer.close()
        made.server.abortConnection()
        port.stopListening()
        made.turn(3)
        loop.close()
        if not was_installed:
            tcp.Connection.write = prompt_writes._buffered_write


def test_a_write_reaches_the_peer_without_waiting_for_the_event_loop(link: Link) -> None:
    link.server.write(b'{"type":"ack"}')

    assert link.read_available() == b'{"type":"ack"}'  # no turn of the loop in between
    assert not link.writing()


def test_what_the_socket_cannot_take_follows_in_order(link: Link) -> None:
    link.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    first = bytes(range(256)) * 8192  # 2 MiB: more than the socket's buffers hold
    second, third = b"second", b"third"

    link.server.write(first)
    assert link.writing()  # the rest of the first write waits for the socket
    link.server.write(second)
    link.server.write(third)

    assert link.read_all(len(first) + len(second) + len(third)) == first + second + third
    assert not link.writing()


def test_a_write_to_a_dead_peer_closes_the_connection(link: Link) -> None:
    link.peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    link.peer.close()  # with a reset
    link.turn(3)

    for _ in range(3):
        link.server.write(b"x" * 1000)  # no exception here, whatever the socket says
        link.turn(3)

    assert link.lost


def test_the_served_application_sends_writes_at_once() -> None:
    import securechat.asgi  # noqa: F401  (what daphne loads)

    assert prompt_writes.installed()
