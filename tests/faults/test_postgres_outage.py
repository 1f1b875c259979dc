"""Postgres unreachable for a while: sends are refused with ``unavailable``, kept pending, and resent until stored.

The worker reaches the test database through a TCP proxy (tests/faults/tcpproxy.py). Breaking it resets every live
database connection, as a database restart or a network cut would; the worker must answer each send with an
``unavailable`` error frame at once (not hang), the page must keep the message pending and retry it with the same
client_id, and once the proxy is restored Django must reconnect by itself (CONN_HEALTH_CHECKS) and store each
message exactly once.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect

from tests.browser.chat import (
    PENDING,
    People,
    Person,
    connection,
    expect_connected,
    expect_texts,
    message,
    pair_in_a_room,
    send_message,
    sent_client_ids,
    wait_for_frame,
)
from tests.faults.stack import (
    RedisServer,
    assert_no_acked_message_lost_or_doubled,
    chat_both_ways,
    expect_texts_in_any_order,
    stored_client_ids,
    wait_for,
)
from tests.faults.tcpproxy import TcpProxy
from tests.servers import Server, daphne, database_url, server_env

pytestmark = pytest.mark.usefixtures("transactional_db")

# How long a send may take to be refused while the database is unreachable: "at once", with room for a busy machine.
REFUSAL_SECONDS = 8


@pytest.fixture
def db_proxy(transactional_db: None) -> Iterator[TcpProxy]:
    db = settings.DATABASES["default"]
    with TcpProxy([(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))]) as proxy:
        yield proxy


@pytest.fixture
def worker(db_proxy: TcpProxy, redis_server: RedisServer, static_root: Path, server_logs: Path) -> Iterator[Server]:
    through_proxy = database_url({**settings.DATABASES["default"], "HOST": db_proxy.host, "PORT": db_proxy.port})
    env = server_env(static_root, DATABASE_URL=through_proxy, REDIS_URL=redis_server.url)
    with daphne(env, server_logs, "postgres-outage") as server:
        yield server
        db_proxy.restore()  # whatever the test did, let the worker finish in order


def healthz(server: Server) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=2 * REFUSAL_SECONDS) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def unavailable_refusals(person: Person) -> list[str]:
    return [
        frame.get("ref")
        for frame in person.chat_frames("received")
        if frame.get("type") == "error" and frame.get("code") == "unavailable"
    ]


def test_messages_sent_while_the_database_is_unreachable_stay_pending_and_are_stored_once_when_it_is_back(
    browser: Browser, worker: Server, db_proxy: TcpProxy
) -> None:
    with People(browser, worker.url) as people:
        alice, bob, room_id = pair_in_a_room(people, "Database goes away")
        written = ["before the outage"]
        send_message(alice, written[0])
        expect_texts(bob.page, written)

        sent_before = set(sent_client_ids(alice)) | set(sent_client_ids(bob))
        assert db_proxy.break_("refuse") >= 1, "the worker held a database connection"
        during = [
            (alice, ["alice while the database is away 1", "alice while the database is away 2"]),
            (bob, ["bob while the database is away"]),
        ]
        for person, texts in during:
            for text in texts:
                send_message(person, text, wait=False)

        # A room's sends go out one at a time (each takes the next place in its sender's chain): each person's first
        # is refused with `unavailable` (not left hanging) and retried with the same client_id; the rest wait their
        # turn in the browser. All of them show as waiting.
        for person, texts in during:
            wait_for_frame(person, lambda f: f.get("type") == "error" and f.get("code") == "unavailable", count=2)
            for text in texts:
                expect(message(person.page, text)).to_have_class(PENDING)
                expect(message(person.page, text).locator(".state")).to_have_text("Sending…")
            waiting = f"{len(texts)} message{'s' if len(texts) > 1 else ''} waiting to be sent"
            expect(connection(person.page)).to_have_text(f"Connected · {waiting}")
            expect(person.page.locator("#problem")).to_be_visible()
        refused = set(unavailable_refusals(alice)) | set(unavailable_refusals(bob))
        transmitted = set(sent_client_ids(alice)) | set(sent_client_ids(bob))
        assert transmitted - sent_before == refused, "what went out during the outage was refused, and only that"
        assert len(refused) == 2, f"one message per person went out; the others waited their turn: {refused}"
        assert not refused & set(stored_client_ids(room_id)), "nothing refused was stored"
        status, body = healthz(worker)
        assert status == 503 and '"database": "error' in body, body

        db_proxy.restore()
        expect_connected(alice.page)
        expect_connected(bob.page)
        written += [text for _, texts in during for text in texts]
        expect_texts_in_any_order(alice, written)
        expect_texts_in_any_order(bob, written)
        for person in (alice, bob):
            expect(person.page.locator("#problem")).to_be_hidden()
        # Django reconnected by itself (CONN_HEALTH_CHECKS): the database half of /healthz passes again.
        wait_for(lambda: '"database": "ok"' in healthz(worker)[1], "the worker's database check passing again")

        # Live delivery works both ways, on the same sockets.
        written = chat_both_ways(alice, bob, "afterwards")
        assert_no_acked_message_lost_or_doubled(room_id, [alice, bob], written)


def test_a_database_that_stops_answering_makes_sends_fail_fast_not_hang(
    browser: Browser, worker: Server, db_proxy: TcpProxy
) -> None:
    with People(browser, worker.url) as people:
        alice, bob, room_id = pair_in_a_room(people, "Database hangs")
        written = ["before the hang"]
        send_message(alice, written[0])
        expect_texts(bob.page, written)

        db_proxy.break_("blackhole")
        written.append("alice while the database hangs")
        send_message(alice, written[-1], wait=False)
        try:
            wait_for_frame(alice, lambda f: f.get("type") == "error" and f.get("code") == "unavailable")
        finally:
            db_proxy.restore()  # the held connections are reset: a hung worker gets going again
        expect(message(alice.page, written[-1])).to_have_class(re.compile(r"\bsent\b"))
        expect_texts(bob.page, written)
        assert_no_acked_message_lost_or_doubled(room_id, [alice, bob], written)
