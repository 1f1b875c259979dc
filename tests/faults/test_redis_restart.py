"""Redis (the channel layer, throttle counters and presence) restarted in the middle of a conversation.

A private redis-server that keeps nothing: after a restart every group, counter and presence entry is gone, as
after a crash. The worker's sockets lose their channel layer and are closed; the clients keep retrying, keep what
was typed meanwhile as pending, and once Redis is back they reconnect, resend (same client_id) and sync from the
database, which stayed the truth throughout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.chat import (
    PENDING,
    People,
    connection,
    expect_connected,
    expect_texts,
    frames_of_type,
    message,
    pair_in_a_room,
    send_message,
)
from tests.faults.stack import (
    RedisServer,
    assert_no_acked_message_lost_or_doubled,
    chat_both_ways,
    expect_texts_in_any_order,
)
from tests.servers import Server, daphne, server_env

pytestmark = pytest.mark.usefixtures("transactional_db")

NOT_CONNECTED = re.compile(r"^(Offline|Connecting)")


@pytest.fixture
def worker(redis_server: RedisServer, static_root: Path, server_logs: Path) -> Iterator[Server]:
    with daphne(server_env(static_root, REDIS_URL=redis_server.url), server_logs, "redis-restart") as server:
        yield server


def test_messages_written_while_redis_is_down_reach_everyone_once_after_it_restarts(
    browser: Browser, worker: Server, redis_server: RedisServer
) -> None:
    with People(browser, worker.url) as people:
        alice, bob, room_id = pair_in_a_room(people, "Redis goes down")
        written = ["before the outage", "bob before the outage"]
        send_message(alice, written[0])
        expect_texts(bob.page, written[:1])
        send_message(bob, written[1])
        expect_texts(alice.page, written)
        readies = {p.username: len(frames_of_type(p.chat_frames("received"), "ready")) for p in (alice, bob)}

        redis_server.kill()
        # The worker's sockets lose their channel layer: they are closed, and reconnecting fails while it is down.
        expect(connection(alice.page)).to_have_text(NOT_CONNECTED)
        expect(connection(bob.page)).to_have_text(NOT_CONNECTED)
        during = ["alice while redis is down 1", "alice while redis is down 2", "bob while redis is down"]
        send_message(alice, during[0], wait=False)
        send_message(alice, during[1], wait=False)
        send_message(bob, during[2], wait=False)
        for person, text in ((alice, during[0]), (alice, during[1]), (bob, during[2])):
            expect(message(person.page, text)).to_have_class(PENDING)
        expect(connection(alice.page)).to_contain_text("2 messages waiting to be sent")
        written += during

        redis_server.start()
        expect_connected(alice.page)
        expect_connected(bob.page)
        expect_texts_in_any_order(bob, written)
        expect_texts_in_any_order(alice, written)
        # Live delivery works again both ways (each socket is back in its groups on the new, empty Redis).
        written = chat_both_ways(alice, bob, "after the restart")

        for person in (alice, bob):
            assert len(frames_of_type(person.chat_frames("received"), "ready")) > readies[person.username]
        assert_no_acked_message_lost_or_doubled(room_id, [alice, bob], written)


def test_a_redis_blip_under_open_sockets_loses_and_doubles_nothing(
    browser: Browser, worker: Server, redis_server: RedisServer
) -> None:
    """Killed and at once restarted: the reconnects race the restart (some attempts hit the fresh Redis through
    connections pooled before it went away). Every socket must end up served again; one that was accepted but
    never got ``ready`` is given up by the page after its ready timeout and replaced."""
    with People(browser, worker.url) as people:
        alice, bob, room_id = pair_in_a_room(people, "Redis blips")
        written = ["before the blip"]
        send_message(alice, written[0])
        expect_texts(bob.page, written)

        redis_server.kill()
        redis_server.start()

        expect_connected(alice.page)
        expect_connected(bob.page)
        for n in range(1, 3):
            for person, other in ((alice, bob), (bob, alice)):
                text = f"{person.username.split('_')[0]} after the blip {n}"
                send_message(person, text)
                written.append(text)
                expect_texts(other.page, written)
        assert_no_acked_message_lost_or_doubled(room_id, [alice, bob], written)
