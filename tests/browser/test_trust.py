"""Trust you can check: safety numbers, pins that survive a new browser, and a key swap the server cannot hide.

The malicious-server test plays the server's part for real: it replaces bob's public keys in the database, as a
compromised server would, and checks what alice's browser does about it.
"""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import Locator, Page, expect

from accounts.models import AuditEvent, Identity
from accounts.tests.factories import signup_body
from chat.models import Envelope
from tests.browser.accounts import FLOW_TIMEOUT_MS
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    PASSWORD,
    People,
    member_item,
    message,
    open_room,
    send_message,
    share_room,
    user_id,
)

pytestmark = pytest.mark.usefixtures("transactional_db")


def safety_number_seen_by(page: Page, other: str) -> str:
    member_item(page, other).get_by_role("button", name="Verify").click()
    number = page.get_by_label("Safety number")
    expect(number).to_be_visible()
    return " ".join(number.inner_text().split())


def verified_badge(page: Page, username: str) -> Locator:
    return member_item(page, username).locator(".badge-verified")


def key_change_dialog(page: Page) -> Locator:
    return page.get_by_role("alertdialog")


def swap_keys_in_database(username: str) -> None:
    """What a malicious server does: serve its own keys for ``username``, as a newer key version (the browser never
    takes an older or equal one in place of the pinned key)."""
    forged = signup_body("forged")
    identity = Identity.objects.get(user__username=username)
    identity.key_version += 1
    identity.signing_public_key = base64.b64decode(forged["signing_public_key"])
    identity.agreement_public_key = base64.b64decode(forged["agreement_public_key"])
    identity.agreement_signature = base64.b64decode(forged["agreement_signature"])
    identity.save()


def test_both_sides_see_the_same_safety_number_and_verified_members_carry_a_badge(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Verification")
    send_message(bob, "before the check")
    expect(message(alice.page, "before the check")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(message(alice.page, "before the check").locator(".badge-verified")).to_have_count(0)
    alice_sees = safety_number_seen_by(alice.page, bob.username)
    bob_sees = safety_number_seen_by(bob.page, alice.username)
    assert alice_sees == bob_sees
    assert len(alice_sees.split()) == 12 and all(len(group) == 5 for group in alice_sees.split())

    expect(verified_badge(alice.page, bob.username)).to_have_count(0)
    alice.page.get_by_role("button", name="Mark as verified").click()
    expect(verified_badge(alice.page, bob.username)).to_be_visible()
    # A message already shown gets the badge too.
    expect(message(alice.page, "before the check").locator(".badge-verified")).to_be_visible()
    # Bob did not verify alice: his side shows no badge.
    bob.page.get_by_role("button", name="Close").click()
    expect(verified_badge(bob.page, alice.username)).to_have_count(0)
    send_message(bob, "checked?")
    expect(message(alice.page, "checked?").locator(".badge-verified")).to_be_visible(timeout=CHAT_TIMEOUT_MS)


def test_pins_and_verifications_survive_a_log_in_from_a_fresh_browser(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Remembered")
    safety_number_seen_by(alice.page, bob.username)
    alice.page.get_by_role("button", name="Mark as verified").click()
    expect(verified_badge(alice.page, bob.username)).to_be_visible()

    elsewhere = people.log_in(alice.username)
    open_room(elsewhere, "Remembered")
    expect(verified_badge(elsewhere.page, bob.username)).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    # The server holds the pins only sealed: neither bob's name nor his key is readable in it.
    from accounts.models import TrustStore

    store = TrustStore.objects.get(user__username=alice.username)
    bob_key = bytes(Identity.objects.get(user__username=bob.username).signing_public_key)
    assert bob.username.encode() not in bytes(store.ciphertext)
    assert bob_key not in bytes(store.ciphertext)


def test_a_key_swapped_by_the_server_is_caught_and_nothing_is_encrypted_to_it(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Swapped")
    send_message(bob, "the real bob")
    expect(message(alice.page, "the real bob")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    safety_number_seen_by(alice.page, bob.username)
    alice.page.get_by_role("button", name="Mark as verified").click()
    expect(verified_badge(alice.page, bob.username)).to_be_visible()

    swap_keys_in_database(bob.username)
    alice.page.reload()
    dialog = key_change_dialog(alice.page)
    expect(dialog).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(dialog).to_contain_text(f"{bob.username}'s key changed")
    expect(dialog).to_contain_text(f"You had verified {bob.username}")
    dialog.get_by_role("button", name="Not now").click()

    # Warned in the room, no longer verified, and sending is refused rather than encrypted to the new key.
    expect(alice.page.locator(".key-warning")).to_contain_text(f"{bob.username}'s security key changed")
    expect(verified_badge(alice.page, bob.username)).to_have_count(0)
    before = Envelope.objects.filter(room_id=room_id).count()
    alice.page.get_by_label("Message", exact=True).fill("for bob's ears only")
    alice.page.get_by_label("Message", exact=True).press("Enter")
    expect(alice.page.locator("#composer-error")).to_contain_text("key changed", timeout=CHAT_TIMEOUT_MS)
    assert Envelope.objects.filter(room_id=room_id).count() == before
    # The old message still verifies against the key alice pinned.
    expect(message(alice.page, "the real bob")).to_be_visible()

    # Accepting is an explicit act; afterwards messages go out, wrapped for the new key.
    alice.page.get_by_role("button", name="Review").click()
    key_change_dialog(alice.page).get_by_role("button", name="Accept new key").click()
    expect(alice.page.locator(".key-warning")).to_have_count(0)
    expect(verified_badge(alice.page, bob.username)).to_have_count(0)
    send_message(alice, "after accepting")
    latest = Envelope.objects.filter(room_id=room_id).order_by("-id").first()
    assert latest is not None and user_id(bob) in latest.wrap_ids


def test_a_key_reset_warns_everyone_who_shares_a_room(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Reset")
    send_message(alice, "before bob's reset")
    expect(message(bob.page, "before bob's reset")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    send_message(bob, "bob before his reset")

    page = bob.page
    page.goto(f"{bob.base_url}/accounts/reset/")
    expect(page.get_by_text("you can no longer read any message sent to you before the reset")).to_be_visible()
    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(PASSWORD + " new")
    page.get_by_label("Confirm new password", exact=True).fill(PASSWORD + " new")
    page.get_by_role("button", name="Reset my keys").click()
    expect(page.get_by_role("alert").filter(has_text="Confirm that you understand")).to_be_visible()
    page.get_by_label("I understand that my old messages will become unreadable").check()
    page.get_by_role("button", name="Reset my keys").click()
    expect(page.get_by_label("Recovery key", exact=True)).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    assert AuditEvent.objects.filter(action="key_reset", user__username=bob.username).count() == 1
    assert Identity.objects.get(user__username=bob.username).key_version == 2

    # Alice's open page hears of it at once and stops to ask.
    expect(key_change_dialog(alice.page)).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(key_change_dialog(alice.page)).to_contain_text("You had not verified")

    # Alice accepts it; the room's name, sealed for bob's old keys, is sealed again for his new ones.
    key_change_dialog(alice.page).get_by_role("button", name="Accept new key").click()

    # What bob can no longer open (alice's message and his own, both encrypted for his old keys) is one quiet line,
    # not a warning of forgery each; and his own new key is no "key change" to him.
    page.get_by_role("button", name="I have saved my recovery key").click()
    open_room(bob, "Reset")
    expect(bob.page.locator(".reset-line")).to_have_text(
        "2 messages sent before your key reset: encrypted for your old keys, which no longer open them.",
        timeout=CHAT_TIMEOUT_MS,
    )
    expect(bob.page.locator(".message .warning")).to_have_count(0)
    expect(key_change_dialog(bob.page)).to_have_count(0)
    send_message(bob, "bob after his reset")
    expect(message(alice.page, "bob after his reset")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
