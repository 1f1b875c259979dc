"""One of two daphne workers killed (SIGKILL) under a conversation: its clients come back through the same address.

Two workers share a private Redis and sit behind one round-robin TCP proxy (tests/faults/tcpproxy.py, standing in
for nginx): the browsers know only the proxy's address. Alice's socket is on worker A, bob's on worker B. A dies;
while alice cannot reconnect, bob writes and alice writes too (hers stays pending). Once connections are let
through again, alice lands on B (the proxy skips the dead A), resends, and catches up with ``sync``.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.chat import (
    PENDING,
    People,
    Person,
    connection,
    drop_socket,
    expect_connected,
    expect_texts,
    message,
    pair_in_a_room,
    send_message,
)
from tests.faults.stack import (
    RedisServer,
    acked_client_ids,
    assert_no_acked_message_lost_or_doubled,
    chat_both_ways,
    expect_texts_in_any_order,
    own_messages,
    synced_client_ids,
)
from tests.faults.tcpproxy import Address, TcpProxy
from tests.servers import Server, daphne, server_env

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def cluster(
    redis_server: RedisServer, static_root: Path, server_logs: Path
) -> Iterator[tuple[TcpProxy, Server, Server]]:
    env = server_env(static_root, REDIS_URL=redis_server.url)
    with daphne(env, server_logs, "worker-a") as first, daphne(env, server_logs, "worker-b") as second:
        with TcpProxy([("127.0.0.1", first.port), ("127.0.0.1", second.port)]) as proxy:
            yield proxy, first, second


def chat_socket_of(person: Person) -> Callable[[bytes], bool]:
    """Whether a connection's first bytes open this person's chat socket (told apart from HTTP and others' sockets
    by session)."""
    session = next(c["value"] for c in person.context.cookies() if c["name"] == "sessionid").encode()
    return lambda head: head.startswith(b"GET /ws/chat/") and session in head


def socket_upstream(proxy: TcpProxy, person: Person) -> Address | None:
    """The worker that holds this person's chat socket."""
    return proxy.upstream_of(chat_socket_of(person))


def test_the_clients_of_a_killed_worker_reconnect_through_the_same_address_and_catch_up(
    browser: Browser, cluster: tuple[TcpProxy, Server, Server]
) -> None:
    proxy, first, second = cluster
    workers = {("127.0.0.1", first.port): first, ("127.0.0.1", second.port): second}
    with People(browser, proxy.url) as people:
        alice, bob, room_id = pair_in_a_room(people, "Two workers, one address")
        doomed = proxy.wait_for_upstream_of(chat_socket_of(alice))
        if proxy.wait_for_upstream_of(chat_socket_of(bob)) == doomed:
            with proxy.avoiding(doomed):  # bob's socket moves to the other worker
                drop_socket(bob.page)
                proxy.wait_for_upstream_of(chat_socket_of(bob), lambda upstream: upstream not in (None, doomed))
                expect_connected(bob.page)
        survivor = socket_upstream(proxy, bob)
        assert survivor is not None and survivor != doomed

        written = ["alice before the crash", "bob before the crash"]
        send_message(alice, written[0])
        expect_texts(bob.page, written[:1])
        send_message(bob, written[1])
        expect_texts(alice.page, written)

        # Nobody gets in for now; then alice's worker dies (no goodbye: SIGKILL).
        proxy.break_("refuse", reset_live=False)
        workers[doomed].process.send_signal(signal.SIGKILL)
        workers[doomed].process.wait(timeout=10)
        expect(connection(alice.page)).to_have_text(re.compile(r"^(Offline|Connecting)"))
        expect_connected(bob.page)

        meanwhile = ["bob while alice is away 1", "bob while alice is away 2", "bob while alice is away 3"]
        for text in meanwhile:
            send_message(bob, text)  # acknowledged by the surviving worker
        stranded = "alice while her worker is dead"
        send_message(alice, stranded, wait=False)
        expect(message(alice.page, stranded)).to_have_class(PENDING)
        expect_texts(alice.page, [*written, stranded])  # nothing of bob's yet; her own waits, last
        written += meanwhile

        # The address answers again: alice's next attempt skips the dead worker, resends and syncs.
        proxy.restore()
        expect_connected(alice.page)
        assert socket_upstream(proxy, alice) == survivor
        written.append(stranded)
        expect_texts_in_any_order(alice, written)
        expect_texts_in_any_order(bob, written)
        bobs = {cid for cid, m in own_messages(bob, room_id).items() if m["text"] in meanwhile}
        assert bobs <= acked_client_ids(bob, room_id)
        assert bobs <= synced_client_ids(alice, room_id), "alice caught up on bob's messages through sync"

        # Both on the surviving worker now: live delivery both ways.
        written = chat_both_ways(alice, bob, "after the crash")
        assert_no_acked_message_lost_or_doubled(room_id, [alice, bob], written)
