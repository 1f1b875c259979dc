"""The server's word where the signed data is silent: a room served without its roster field, and a pinned account
served under another person's name. Each test plays the server by rewriting frames or answers in the page.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Route, expect

from tests.browser.chat import (
    CHAT_SOCKET,
    CHAT_TIMEOUT_MS,
    People,
    add_member,
    member_item,
    members,
    pair_in_a_room,
    rewritten_answer,
    send_message,
    served_identities,
    share_room,
    title,
    user_id,
)
from tests.browser.roster import expect_blocked
from tests.browser.test_roster_attacks import ghost, try_to_send
from tests.browser.test_roster_downgrades import REJECTED, rewriting
from tests.browser.test_trust import key_change_dialog

pytestmark = pytest.mark.usefixtures("transactional_db")


def without_roster(room_id: str, extra: dict[str, Any]) -> Any:
    """Every server frame about the room drops its `roster` field, names it, and lists (and makes owner) ``extra``."""

    def rewrite(frame: dict[str, Any]) -> dict[str, Any]:
        rooms = frame.get("rooms", []) + ([frame["room"]] if isinstance(frame.get("room"), dict) else [])
        for room in rooms:
            if room.get("id") == room_id and "members" in room:
                room.pop("roster", None)
                room["name"], room["owner"] = "Server-chosen", extra["id"]
                room["members"] = room["members"] + [extra]
        return frame

    return rewriting(rewrite)


def test_a_room_served_without_its_roster_field_shows_nothing_of_the_servers(people: People) -> None:
    alice, _bob, room_id = pair_in_a_room(people, "Signed room")
    send_message(alice, "Signed and sealed")
    intruder = ghost()
    extra = {"id": intruder.pk, "username": intruder.username}
    alice.page.route_web_socket(CHAT_SOCKET, without_roster(room_id, extra))
    alice.page.reload()
    expect_blocked(alice.page)
    expect(title(alice.page)).not_to_have_text("Server-chosen")
    expect(members(alice.page)).not_to_contain_text(intruder.username)


def test_a_pinned_account_served_under_anothers_name_is_no_key_change_to_accept(people: People) -> None:
    """The server serves mallory's account, which alice has met, under bob's name: no "bob's key changed" dialog to
    accept, mallory keeps her own name, and nothing is sent to a room with her in it."""
    alice, bob, mallory = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("mallory")
    room_id = share_room(alice, bob, "Names")
    add_member(alice, mallory.username)
    mallory_id = user_id(mallory)

    def relabelled(body: dict) -> None:
        for served in served_identities(body):
            if served.get("id") == mallory_id:
                served["username"] = bob.username

    alice.page.route("**/api/keys**", rewritten_answer(relabelled))
    alice.page.goto(f"{alice.base_url}/rooms/{room_id}/")
    expect(member_item(alice.page, mallory.username)).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    try_to_send(alice, "for bob")
    expect(alice.page.locator(".message").filter(has_text="for bob")).to_have_class(REJECTED, timeout=CHAT_TIMEOUT_MS)
    expect(key_change_dialog(alice.page)).to_have_count(0)
    expect(alice.page.locator("#composer-error")).to_contain_text("a name you know for someone else")


def test_a_name_answered_with_another_known_account_or_a_look_alike_is_refused(people: People) -> None:
    """Adding "bob": the server answers with carol's account, whom alice knows. And a member served under a name no
    username can be (an invisible letter in it): no keys are taken from it, nothing is sent to the room."""
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    share_room(alice, carol, "Known")
    carol_keys = alice.page.request.get(f"{alice.base_url}/api/keys/{carol.username}").json()

    def carol_for_bob(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(carol_keys))

    alice.page.route(f"**/api/keys/{bob.username}", carol_for_bob)
    before = len(alice.frames)
    alice.page.get_by_label("Add member", exact=True).fill(bob.username)
    members(alice.page).get_by_role("button", name="Add", exact=True).click()
    expect(alice.page.locator("#add-member-error")).to_contain_text(f"with {carol.username}'s account")
    assert not [f for f in alice.frames[before:] if '"append"' in f.payload]

    # Mallory, whom alice has never met, is served to her as "bob" with an invisible letter.
    mallory = people.sign_up("mallory")
    mallory_id = user_id(mallory)

    def invisible_letter(body: dict) -> None:
        for served in served_identities(body):
            if served.get("id") == mallory_id:
                served["username"] = bob.username + "\u200b"

    alice.page.route(re.compile(r"/api/keys\?ids="), rewritten_answer(invisible_letter))
    room_id = share_room(bob, alice, "Look-alike")
    add_member(bob, mallory.username)
    alice.page.goto(f"{alice.base_url}/rooms/{room_id}/")
    try_to_send(alice, "to the real bob only")
    expect(alice.page.locator(".message").filter(has_text="to the real bob only")).to_have_class(
        REJECTED, timeout=CHAT_TIMEOUT_MS
    )
    expect(alice.page.locator("#composer-error")).to_contain_text("no valid keys")
