"""Keys the server cannot swap: each test plays the malicious server against the genuine page.

- The directory's `fingerprint` field is the server's word: the page must show what it computes from the key it uses.
- The home page's fingerprint was rendered by the server from its database: it must come from the browser's keys.
- A key-change dialog that opens while someone types must not take a keystroke as "Accept new key".
"""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import expect

from accounts.keys import fingerprint
from accounts.models import Identity
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    People,
    member_item,
    open_room,
    rewritten_answer,
    served_identities,
    share_room,
)
from tests.browser.test_trust import key_change_dialog, swap_keys_in_database

pytestmark = pytest.mark.usefixtures("transactional_db")

FAKE = "0000 1111 2222 3333 4444 5555 6666 7777"


def real_fingerprint(username: str) -> str:
    return fingerprint(bytes(Identity.objects.get(user__username=username).signing_public_key))


def fake_fingerprints(body: dict) -> None:
    """The directory's answer with every `fingerprint` field replaced by one of the server's choosing."""
    for identity in served_identities(body):
        if "fingerprint" in identity:
            identity["fingerprint"] = FAKE


def test_the_verify_dialog_shows_fingerprints_computed_from_the_pinned_keys(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    alice.page.route("**/api/keys**", rewritten_answer(fake_fingerprints))
    alice.page.route("**/api/accounts/me", rewritten_answer(lambda body: fake_fingerprints(body["user"])))
    share_room(alice, bob, "Fingerprints")
    alice.page.reload()
    open_room(alice, "Fingerprints")
    member_item(alice.page, bob.username).get_by_role("button", name="Verify").click()
    dialog = alice.page.get_by_role("dialog")
    expect(dialog.locator("#contact-fingerprint")).to_have_text(real_fingerprint(bob.username))
    expect(dialog.locator("#own-fingerprint")).to_have_text(real_fingerprint(alice.username))
    expect(dialog).not_to_contain_text(FAKE)


def test_the_home_page_fingerprint_is_the_browsers_key_not_the_servers_record(people: People) -> None:
    alice = people.sign_up("alice")
    genuine = real_fingerprint(alice.username)
    swap_keys_in_database(alice.username)
    assert real_fingerprint(alice.username) != genuine
    alice.page.goto(f"{alice.base_url}/")
    expect(alice.page.locator("#own-fingerprint")).to_have_text(genuine)


def test_keys_typed_as_the_key_change_dialog_opens_accept_nothing_and_the_change_stays_a_line(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Typing")
    swap_keys_in_database(bob.username)
    served = base64.b64encode(bytes(Identity.objects.get(user__username=bob.username).signing_public_key)).decode()
    alice.page.goto(f"{alice.base_url}/rooms/{room_id}/")
    dialog = key_change_dialog(alice.page)
    expect(dialog).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    # What alice meant for the composer ("ok see you", then Enter) reaches no button of the dialog.
    alice.page.keyboard.type("ok see you")
    alice.page.keyboard.press("Enter")
    alice.page.keyboard.press("Space")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_be_focused()
    expect(alice.page.locator(".key-warning")).to_contain_text(f"{bob.username}'s security key changed")

    dialog.get_by_role("button", name="Accept new key").click()
    expect(alice.page.locator(".key-warning")).to_have_count(0)
    line = alice.page.locator(".key-line")
    expect(line).to_contain_text(f"{bob.username}'s key changed")
    # It stays: after a reload, and in the account's other browsers (the pins live in its trust store).
    alice.page.reload()
    expect(alice.page.locator(".key-line")).to_contain_text(f"{bob.username}'s key changed", timeout=CHAT_TIMEOUT_MS)
    member_item(alice.page, bob.username).get_by_role("button", name="Verify").click()
    expect(alice.page.locator("#contact-fingerprint")).to_have_text(
        fingerprint(base64.b64decode(served)), timeout=CHAT_TIMEOUT_MS
    )
