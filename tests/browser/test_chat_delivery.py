"""No message is lost or doubled when connections drop: the reader catches up, the sender resends.

The socket is cut from inside the page (``window.securechat.socket``): ``drop()`` as a network fault would (it
reconnects with backoff), ``stop()``/``start()`` to keep it away for as long as the test needs.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from chat.models import Envelope
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    PENDING,
    SENT,
    People,
    Person,
    connection,
    drop_socket,
    expect_connected,
    expect_texts,
    message,
    messages,
    pair_in_a_room,
    relayed_envelopes,
    send_message,
    sent_client_ids,
    snapshot,
    start_socket,
    stop_socket,
    wait_for_frame,
    wait_until,
)
from tests.servers import Server, daphne, server_env

pytestmark = pytest.mark.usefixtures("transactional_db")


def cut_after_first_transmission(person: Person, times: int) -> None:
    """The next ``times`` envelopes each go out once, then the socket is cut before their ack can come back."""
    person.page.evaluate(
        """(times) => {
            const socket = window.securechat.socket;
            const write = socket.write.bind(socket);
            const cut = new Set();
            socket.write = (frame) => {
                const written = write(frame);
                const id = frame.op === "send" ? frame.envelope.client_id : null;
                if (written && id && !cut.has(id) && cut.size < times) {
                    cut.add(id);
                    socket.drop();
                }
                return written;
            };
        }""",
        times,
    )


def test_a_reader_whose_connection_drops_gets_every_message_once_and_in_order(people: People) -> None:
    alice, bob, room_id = pair_in_a_room(people, "Bumpy line")
    sent = ["before the cut"]
    send_message(alice, sent[0])
    expect_texts(bob.page, sent)

    # Bob is away for a while: three messages arrive only through his catch-up after reconnecting.
    stop_socket(bob.page)
    for n in range(1, 4):
        sent.append(f"while bob was away {n}")
        send_message(alice, sent[-1])
    expect_texts(bob.page, sent[:1])
    start_socket(bob.page)
    expect_connected(bob.page)
    expect_texts(bob.page, sent)

    # Now his line keeps dropping while alice writes.
    for n in range(1, 5):
        sent.append(f"during the drops {n}")
        send_message(alice, sent[-1], wait=False)
        drop_socket(bob.page)
    expect_texts(alice.page, sent)
    expect(messages(alice.page)).to_have_class([SENT] * len(sent))
    expect_connected(bob.page)
    expect_texts(bob.page, sent)
    expect(messages(bob.page)).to_have_class([SENT] * len(sent))

    syncs = [f for f in bob.chat_frames("sent") if f.get("op") == "sync" and f.get("room") == room_id]
    assert len(syncs) >= 2, "bob caught up through sync after reconnecting"
    assert bob.chat_frames("received")[0]["type"] == "ready"
    assert sum(1 for f in bob.chat_frames("received") if f.get("type") == "ready") >= 3


def test_messages_whose_ack_was_cut_off_are_resent_and_stored_once(people: People) -> None:
    alice, bob, room_id = pair_in_a_room(people, "Flaky uplink")
    sent = [f"alice's message {n}" for n in range(1, 5)]
    cut_after_first_transmission(alice, times=3)
    for n, text in enumerate(sent, 1):
        send_message(alice, text, wait=False)
        # The next is typed once this one has gone out (maybe only queued): the order is the typing order.
        wait_until(alice, lambda n=n: len(set(sent_client_ids(alice))) >= n, f"envelope {n} transmitted")

    expect_texts(alice.page, sent)
    expect(messages(alice.page)).to_have_class([SENT] * 4, timeout=CHAT_TIMEOUT_MS)
    expect_connected(alice.page)
    expect_texts(bob.page, sent)

    transmissions = Counter(sent_client_ids(alice))
    assert len(transmissions) == 4
    assert sum(1 for count in transmissions.values() if count >= 2) >= 3, f"resends: {transmissions}"
    stored = list(Envelope.objects.filter(room_id=room_id).values_list("client_id", flat=True))
    assert len(stored) == 4
    assert Counter(str(client_id) for client_id in stored) == Counter(set(transmissions))

    # Each message reached bob's page once, whichever transmission the server stored.
    delivered = [envelope["client_id"] for envelope in relayed_envelopes(bob)]
    assert sorted(set(delivered)) == sorted(transmissions)


@pytest.fixture
def limited_server(static_root: Path, server_logs: Path) -> Iterator[Server]:
    with daphne(server_env(static_root, SEND_RATE_PER_MINUTE="3"), server_logs, "rate-limited") as server:
        yield server


def test_sending_faster_than_the_rate_limit_shows_the_problem_and_delivers_once_the_limit_lifts(
    browser: Browser, limited_server: Server, server_logs: Path
) -> None:
    with People(browser, limited_server.url) as people:
        alice, bob, room_id = pair_in_a_room(people, "Slow down")
        allowed = [f"within the limit {n}" for n in range(1, 4)]
        for text in allowed:
            send_message(alice, text)
        too_many = "one too many"
        pending = send_message(alice, too_many, wait=False)

        problem = alice.page.locator("#problem")
        expect(problem).to_be_visible()
        expect(problem).to_have_text("You are sending too fast. Try again in 1 minute.")
        expect(problem).to_have_attribute("role", "alert")
        expect(pending).to_have_class(PENDING)
        expect(pending.locator(".state")).to_have_text("Sending…")
        expect(connection(alice.page)).to_have_text("Connected · 1 message waiting to be sent")
        # The page keeps trying (same client_id), and the server keeps refusing without storing it.
        (client_id,) = {cid for cid in sent_client_ids(alice)} - {
            str(e) for e in Envelope.objects.filter(room_id=room_id).values_list("client_id", flat=True)
        }
        refusals = wait_for_frame(
            alice, lambda f: f.get("type") == "error" and f.get("code") == "rate_limited", count=2
        )
        assert {f["ref"] for f in refusals} == {client_id}
        assert sent_client_ids(alice).count(client_id) >= 2
        snapshot(alice.page, "rate-limited")
        assert Envelope.objects.filter(room_id=room_id).count() == 3
        expect_texts(bob.page, allowed)

        # The limit lifts (here: the server restarts with fresh counters instead of waiting out the minute).
        limited_server.stop()
        restarted = Server(
            command=limited_server.command,
            env={**limited_server.env, "CACHE_KEY_PREFIX": f"rate-{uuid.uuid4().hex[:12]}"},
            port=limited_server.port,
            log_path=server_logs / f"rate-limited-restarted-{limited_server.port}.log",
        )
        with restarted:
            expect(pending).to_have_class(SENT, timeout=CHAT_TIMEOUT_MS)
            expect(connection(alice.page)).to_have_text("Connected")
            expect(problem).to_be_hidden()
            expect_texts(alice.page, [*allowed, too_many])
            expect_texts(bob.page, [*allowed, too_many])
            expect(message(bob.page, too_many)).to_have_count(1)
            assert Envelope.objects.filter(room_id=room_id).count() == 4
            snapshot(alice.page, "rate-limit-lifted")
