"""Pings from a client that never reads (issue 19, point 4): autobahn answers each with a pong it writes straight to
the connection, past the app's ``_send_bounded``. The pongs keep to ``SOCKET_UNSENT_MAX_BYTES`` all the same
(securechat.patches.socket_output): the one that would pass it closes the socket with 4013, as the app's frames do,
and no ping is answered after that."""

from __future__ import annotations

import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat.tests.factories import make_user, session_cookie
from tests.rawsocket import OP_CLOSE, OP_PING, OP_PONG, RawSocket, frame
from tests.servers import Server, daphne, server_env

pytestmark = pytest.mark.django_db(transaction=True)

BOUND = 512 * 1024
TRY_AGAIN = 4013
PING = frame(OP_PING, b"x" * 125)
PONG_BYTES = 2 + 125


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def bounded_server(transactional_db: None, static_root: Path, server_logs: Path) -> Iterator[Server]:
    with daphne(server_env(static_root, SOCKET_UNSENT_MAX_BYTES=str(BOUND)), server_logs, "pings") as server:
        yield server


@pytest.fixture
def hostile(bounded_server: Server, settings: Any) -> Iterator[RawSocket]:
    """A signed-in client's socket that takes at most a few KiB before the server's writes wait on it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    mallory = make_user(f"mallory{uuid.uuid4().hex[:8]}")
    socket = RawSocket.open(
        bounded_server.url, "/ws/chat/", origin=bounded_server.url, cookie=session_cookie(mallory), receive_buffer=4096
    )
    try:
        yield socket
    finally:
        socket.close()


def test_pings_from_a_client_that_never_reads_do_not_grow_the_workers_memory(
    bounded_server: Server, hostile: RawSocket
) -> None:
    """A signed-in client that sends pings and never reads does not make the worker buffer every pong."""
    pid = bounded_server.process.pid
    time.sleep(1.0)
    before = rss_bytes(pid)
    burst = PING * 1000  # ~131 KB
    sent = 0
    # How much is sent decides, not how long it takes: sendall waits while the worker reads (slowly, on a busy
    # machine). Only a worker that stops reading for a minute ends it early.
    hostile.sock.settimeout(60)
    try:
        while sent < 96 * 1024 * 1024:
            hostile.sock.sendall(burst)
            sent += len(burst)
    except OSError:
        pass  # the server dropped the connection once the close's drain ran out
    time.sleep(2.0)
    grown = rss_bytes(pid) - before
    # The unsent bound is 512 KiB; allow the kernel buffers and some slack, not tens of MiB.
    assert grown < 32 * 1024 * 1024, f"sent {sent / 2**20:.0f} MiB of pings; daphne grew by {grown / 2**20:.0f} MiB"


def test_a_client_that_pings_and_never_reads_is_closed_with_try_again_and_its_later_pings_go_unanswered(
    bounded_server: Server, hostile: RawSocket
) -> None:
    """The client reads only once it has sent all its pings: it finds the pongs the server wrote until they reached
    the bound (and what the kernels held), then the close, 4013, as for any output past the bound."""
    pings = 128 * 1024  # 16 MiB of pongs: past the bound and anything the kernels buffer between the two ends
    hostile.sock.sendall(PING * pings)
    pongs = 0
    while (received := hostile.read_frame())[0] != OP_CLOSE:
        pongs += received[0] == OP_PONG
        if pongs == pings:
            pytest.fail("every ping was answered, and the socket is still open")
    assert struct.unpack("!H", received[1][:2]) == (TRY_AGAIN,)
    assert pongs * PONG_BYTES < BOUND + 8 * 1024 * 1024  # the bound, and what the kernels held
    assert "unsent output past 524288 bytes (a pong)" in bounded_server.log()
