"""Order, completeness and retired keys, with the server as the adversary: each test edits the database under the
honest code and the genuine page must show what was done.

- Two stored ids swapped and one envelope dropped: the moved message says so, and a line says where one is missing.
- A message signed with a key its sender has since replaced, stored again after the change: "signed with a retired
  key", never the sender's words; their messages from before the change still read as theirs.
"""

from __future__ import annotations

import pytest
from django.db.models import Max
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import Envelope
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    People,
    expect_texts,
    expect_transcript_loaded,
    message,
    messages,
    send_message,
    share_room,
)
from tests.browser.test_trust import key_change_dialog, swap_keys_in_database

pytestmark = pytest.mark.usefixtures("transactional_db")


def move(envelope_id: int, to: int) -> None:
    Envelope.objects.filter(id=envelope_id).update(id=to)


def swap_ids(first: int, second: int) -> None:
    """What a server that reorders a conversation does: two stored envelopes trade places."""
    spare = Envelope.objects.aggregate(top=Max("id"))["top"] + 1000
    move(first, spare)
    move(second, first)
    move(spare, second)


def ids_from(room_id: str, username: str) -> list[int]:
    sent = Envelope.objects.filter(room_id=room_id, sender__username=username).order_by("id")
    return list(sent.values_list("id", flat=True))


def test_two_stored_ids_swapped_and_one_dropped_show_as_moved_and_missing(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Orders")
    for text in ["1: do NOT sell", "2: sell everything", "3: wait for my call", "4: see you"]:
        send_message(alice, text)
    first, second, third, _ = ids_from(room_id, alice.username)
    swap_ids(first, second)
    Envelope.objects.filter(id=third).delete()

    bob.page.goto(f"{bob.base_url}/rooms/{room_id}/")
    expect_transcript_loaded(bob.page)
    expect_texts(bob.page, ["2: sell everything", "1: do NOT sell", "4: see you"])
    expect(message(bob.page, "1: do NOT sell").locator(".warning")).to_contain_text(
        f"Out of order: {alice.username} sent this before a message of theirs shown above it"
    )
    expect(message(bob.page, "2: sell everything").locator(".warning")).to_have_count(0)
    gap = bob.page.locator(".gap-line")
    expect(gap).to_have_text(f"⚠ A message from {alice.username} is missing here: the server did not deliver it.")
    # The line stands where the message was: right before the next one alice sent.
    following = gap.locator("xpath=following-sibling::*[1]")
    expect(following.locator(".text")).to_have_text("4: see you")


def test_a_message_signed_with_a_retired_key_and_stored_after_the_change_is_not_the_senders(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Retired")
    send_message(bob, "from before the change")
    send_message(bob, "sell at any price")
    expect(message(alice.page, "sell at any price")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    _, replayed = ids_from(room_id, bob.username)

    # bob's key is replaced (version 2), and alice accepts the new one.
    swap_keys_in_database(bob.username)
    alice.page.goto(f"{alice.base_url}/rooms/{room_id}/")
    key_change_dialog(alice.page).get_by_role("button", name="Accept new key").click()
    expect(key_change_dialog(alice.page)).to_have_count(0)

    # Whoever holds bob's retired key (a stolen device, with the server) stores a message signed with it after the
    # change: here his own earlier one, its signed bytes untouched, at a new place and time.
    newest = Envelope.objects.aggregate(top=Max("id"))["top"]
    Envelope.objects.filter(id=replayed).update(id=newest + 1, server_time=timezone.now())

    alice.page.reload()
    expect_transcript_loaded(alice.page)
    expect(message(alice.page, "from before the change")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(message(alice.page, "sell at any price")).to_have_count(0)
    retired = messages(alice.page).filter(has_text="signed with a retired key")
    expect(retired).to_have_count(1)
    expect(retired).to_contain_text("⚠ Message not shown")
