"""Two daphne workers behind one address: people on different workers chat as if they shared one.

Messages, presence, typing notices and membership changes travel through the shared channel layer (Redis),
so this needs REDIS_URL; the in-memory layer cannot span processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.chat import (
    People,
    accept_invitation,
    add_member,
    create_room,
    expect_texts,
    member_item,
    remove_member,
    room_link,
    send_message,
    snapshot,
)
from tests.servers import Server, daphne, server_env

pytestmark = [
    pytest.mark.usefixtures("transactional_db"),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="needs REDIS_URL: two workers share messages, presence and typing only through Redis",
    ),
]


@pytest.fixture
def two_workers(static_root: Path, server_logs: Path) -> Iterator[tuple[Server, Server]]:
    env = server_env(static_root)
    with daphne(env, server_logs, "worker-a") as first, daphne(env, server_logs, "worker-b") as second:
        yield first, second


def test_people_on_two_workers_chat_see_presence_typing_and_membership_changes(
    browser: Browser, two_workers: tuple[Server, Server]
) -> None:
    worker_a, worker_b = two_workers
    with People(browser, worker_a.url) as people:
        alice = people.sign_up("alice", base_url=worker_a.url)
        bob = people.sign_up("bob", base_url=worker_b.url)
        assert alice.page.url.startswith(worker_a.url) and bob.page.url.startswith(worker_b.url)

        # A membership change made on A reaches bob's open page on B: the invitation, which he accepts there.
        create_room(alice, "Across workers")
        add_member(alice, bob.username)
        accept_invitation(bob, "Across workers")

        # Presence: each sees the other online.
        expect(member_item(alice.page, bob.username)).to_contain_text("(online)")
        expect(member_item(bob.page, alice.username)).to_contain_text("(online)")
        expect(bob.page.locator("#presence")).to_have_text("2 online")

        # Typing on A shows on B, and back.
        alice.page.get_by_label("Message", exact=True).press_sequentially("typing on A")
        expect(bob.page.locator("#typing")).to_have_text(f"{alice.username} is typing…")
        bob.page.get_by_label("Message", exact=True).press_sequentially("typing on B")
        expect(alice.page.locator("#typing")).to_have_text(f"{bob.username} is typing…")
        snapshot(bob.page, "workers-typing")
        alice.page.get_by_label("Message", exact=True).fill("")
        bob.page.get_by_label("Message", exact=True).fill("")

        # Messages both ways.
        conversation = ["Hello from worker A", "Hello back from worker B", "Both workers agree"]
        send_message(alice, conversation[0])
        expect_texts(bob.page, conversation[:1])
        send_message(bob, conversation[1])
        expect_texts(alice.page, conversation[:2])
        send_message(alice, conversation[2])
        expect_texts(bob.page, conversation)
        expect_texts(alice.page, conversation)

        # Removed on A: the room leaves bob's page on B at once.
        remove_member(alice, bob.username)
        expect(room_link(bob.page, "Across workers")).to_have_count(0)
        expect(bob.page.locator("#removed-notice")).to_have_text("You are no longer a member of Across workers.")

        # Invited again, he accepts on B (only then is his presence hers to see); he closes his page on B: alice on A
        # sees him go offline.
        add_member(alice, bob.username)
        accept_invitation(bob, "Across workers")
        expect(member_item(alice.page, bob.username)).to_contain_text("(online)")
        bob.page.close()
        expect(member_item(alice.page, bob.username)).not_to_contain_text("(online)")
        expect(alice.page.locator("#presence")).to_have_text("1 online")
