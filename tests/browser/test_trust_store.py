"""The account's trust store, played against by the server: emptied, rolled back, swapped for another's; and a key
reset, which needs the password or the recovery key and ends every other session of the account.

Each attack edits the database under the honest code, or rewrites the store's HTTP answer in the page, and checks
that the page refuses with a blocking alert naming the trust store, and trusts and sends nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Route, expect

from accounts.models import Identity, TrustStore
from tests.browser.accounts import FLOW_TIMEOUT_MS
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    PASSWORD,
    People,
    Person,
    member_item,
    open_chat,
    rewritten_answer,
    share_room,
)
from tests.browser.test_trust import verified_badge

pytestmark = pytest.mark.usefixtures("transactional_db")


def problem(page: Page):
    return page.locator("#problem")


def expect_refused(person: Person, why: str) -> None:
    """The chat page stops at a blocking alert naming the trust store, before its socket opens."""
    before = len(person.frames)
    person.page.goto(f"{person.base_url}/rooms/")
    expect(problem(person.page)).to_contain_text("trust store", timeout=CHAT_TIMEOUT_MS)
    expect(problem(person.page)).to_contain_text(why)
    # It stopped before opening a socket at all: no room list, no key looked up and pinned, nothing sent.
    assert not [f for f in person.frames[before:] if "/ws/chat/" in f.url]


def no_trust_store(version: int) -> Callable[[Route], None]:
    """The server answers every read of the trust store with none at all (writes go through)."""

    def handle(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        body = json.dumps({"version": version, "sealed": None})
        route.fulfill(status=200, content_type="application/json", body=body)

    return handle


def store_of(person: Person) -> TrustStore:
    return TrustStore.objects.get(user__username=person.username)


def test_every_new_account_has_a_sealed_trust_store_from_sign_up(people: People) -> None:
    alice = people.sign_up("alice")
    store = store_of(alice)
    assert store.version >= 1 and len(bytes(store.ciphertext)) > 16


def test_a_trust_store_answered_with_null_is_refused_not_read_as_no_pins_yet(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Pinned")
    version = store_of(alice).version

    alice.page.route("**/api/accounts/trust", no_trust_store(version))
    expect_refused(alice, "sent no trust store")


def test_an_older_copy_of_the_trust_store_is_refused_by_a_browser_that_saw_a_newer_one(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Rolled back")
    before = store_of(alice)
    old_iv, old_ciphertext = bytes(before.iv), bytes(before.ciphertext)
    member_item(alice.page, bob.username).get_by_role("button", name="Verify").click()
    alice.page.get_by_role("button", name="Mark as verified").click()
    expect(verified_badge(alice.page, bob.username)).to_be_visible()
    # The server puts back the copy from before alice verified bob (its version number moves on, as on any write).
    rolled = store_of(alice)
    rolled.iv, rolled.ciphertext, rolled.version = old_iv, old_ciphertext, rolled.version + 1
    rolled.save()
    expect_refused(alice, "older copy of your trust store")


def test_another_accounts_trust_store_is_refused(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Swapped stores")
    theirs, mine = store_of(bob), store_of(alice)
    mine.iv, mine.ciphertext = bytes(theirs.iv), bytes(theirs.ciphertext)
    mine.save()
    expect_refused(alice, "does not open with your account key")


def test_a_reset_needs_the_password_and_logs_out_every_other_session_saying_why(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Reset proof")
    elsewhere = people.log_in(bob.username)
    expect(elsewhere.page.locator("#connection")).to_have_text("Connected", timeout=CHAT_TIMEOUT_MS)

    page = bob.page
    page.goto(f"{bob.base_url}/accounts/reset/")
    page.get_by_label("Current password", exact=True).fill(PASSWORD + " wrong")
    page.get_by_label("New password", exact=True).fill(PASSWORD + " new")
    page.get_by_label("Confirm new password", exact=True).fill(PASSWORD + " new")
    page.get_by_label("I understand that my old messages will become unreadable").check()
    page.get_by_role("button", name="Reset my keys").click()
    wrong = page.get_by_role("alert").filter(has_text="current password is wrong")
    expect(wrong).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    assert Identity.objects.get(user__username=bob.username).key_version == 1

    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Reset my keys").click()
    expect(page.get_by_label("Recovery key", exact=True)).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    assert Identity.objects.get(user__username=bob.username).key_version == 2

    # The other browser's socket is closed with the reason, and its session is over.
    expect(problem(elsewhere.page)).to_contain_text("keys were reset", timeout=CHAT_TIMEOUT_MS)
    expect(elsewhere.page.locator("#connection")).to_have_text("Your keys were reset — log in again")
    assert elsewhere.page.request.get(f"{elsewhere.base_url}/api/accounts/me").status == 401
    # The pins went on under the new account key: bob's page opens, and alice is still pinned.
    page.get_by_role("button", name="I have saved my recovery key").click()
    open_chat(bob, "/rooms/")
    expect(page.locator("#connection")).to_have_text("Connected", timeout=CHAT_TIMEOUT_MS)
    expect(problem(page)).to_be_hidden()


def fill_reset_form(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/reset/")
    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(PASSWORD + " new")
    page.get_by_label("Confirm new password", exact=True).fill(PASSWORD + " new")
    page.get_by_label("I understand that my old messages will become unreadable").check()


def test_a_reset_stops_when_the_trust_store_cannot_be_opened_rather_than_forget_every_pin(people: People) -> None:
    """The server answers the store with null during a reset: sealing an empty one would be accepted everywhere and
    forget every pin. The reset stops instead, unless the user chooses to start with no trusted keys."""
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Kept pins")
    page = alice.page

    page.route("**/api/accounts/trust", no_trust_store(store_of(alice).version))
    fill_reset_form(page, alice.base_url)
    page.get_by_role("button", name="Reset my keys").click()
    expect(page.get_by_role("alert").filter(has_text="Nothing was changed")).to_contain_text(
        "trust store", timeout=FLOW_TIMEOUT_MS
    )
    assert Identity.objects.get(user__username=alice.username).key_version == 1

    page.get_by_label("Start with no trusted keys").check()
    page.get_by_role("button", name="Reset my keys").click()
    expect(page.get_by_label("Recovery key", exact=True)).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    assert Identity.objects.get(user__username=alice.username).key_version == 2


def test_a_reset_proves_the_password_with_the_username_salt_not_one_the_server_serves(people: People) -> None:
    alice = people.sign_up("alice")

    def fixed_salt(body: dict) -> None:
        body["user"]["kdf"]["salt"] = base64.b64encode(bytes(16)).decode()

    alice.page.route("**/api/accounts/me", rewritten_answer(fixed_salt))
    fill_reset_form(alice.page, alice.base_url)
    alice.page.get_by_role("button", name="Reset my keys").click()
    expect(alice.page.get_by_label("Recovery key", exact=True)).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    assert Identity.objects.get(user__username=alice.username).key_version == 2
