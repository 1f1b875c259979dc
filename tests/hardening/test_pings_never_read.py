"""Pings from a client that never reads: each pong autobahn writes bypasses the unsent-output bound (issue 19,
point 4, still open: ``xfail(strict=True)``, so it fails once fixed and its mark must go)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat.tests.factories import make_user, session_cookie
from tests.rawsocket import OP_PING, RawSocket, frame
from tests.servers import Server, daphne, server_env

BOUND = 512 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def bounded_server(transactional_db: None, static_root: Path, server_logs: Path) -> Iterator[Server]:
    with daphne(server_env(static_root, SOCKET_UNSENT_MAX_BYTES=str(BOUND)), server_logs, "pings") as server:
        yield server


@pytest.mark.xfail(strict=True, reason="open: issue 19, point 4: pongs bypass the unsent-output bound")
@pytest.mark.django_db(transaction=True)
def test_pings_from_a_client_that_never_reads_do_not_grow_the_workers_memory(
    bounded_server: Server, settings: Any
) -> None:
    """Every ping is answered with a pong of the same payload, written by autobahn straight to the transport: it
    never passes ``_send_bounded``, so ``SOCKET_UNSENT_MAX_BYTES`` does not see it. A signed-in client that sends
    pings and never reads makes the worker buffer every pong."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    mallory = make_user(f"mallory{uuid.uuid4().hex[:8]}")
    hostile = RawSocket.open(
        bounded_server.url,
        "/ws/chat/",
        origin=bounded_server.url,
        cookie=session_cookie(mallory),
        receive_buffer=4096,
    )
    pid = bounded_server.process.pid
    try:
        time.sleep(1.0)
        before = rss_bytes(pid)
        ping = frame(OP_PING, b"x" * 125)
        burst = ping * 1000  # ~131 KB
        sent = 0
        # How much is sent decides, not how long it takes: sendall waits while the worker reads (slowly, on a busy
        # machine), so by the end it has read all of it but what the kernels buffer, a few MiB. Only a worker that
        # stops reading for a minute ends it early, as a bound that holds the connection without closing it might.
        hostile.sock.settimeout(60)
        try:
            while sent < 96 * 1024 * 1024:
                hostile.sock.sendall(burst)
                sent += len(burst)
        except OSError:
            pass  # the server closed the connection (or stopped reading): what the bound should do
        time.sleep(2.0)
        grown = rss_bytes(pid) - before
    finally:
        hostile.close()
    # The unsent bound is 512 KiB; allow the kernel buffers and some slack, not tens of MiB.
    assert grown < 32 * 1024 * 1024, f"sent {sent / 2**20:.0f} MiB of pings; daphne grew by {grown / 2**20:.0f} MiB"
