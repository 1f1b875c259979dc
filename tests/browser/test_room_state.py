"""What belongs to one room stays in it: a half-written message, who is typing, and an error about a send there.
A draft that followed into the next room would go to the wrong people on Enter."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.chat import (
    People,
    accept_invitation,
    add_member,
    messages,
    open_room,
    relayed_envelopes,
    share_room,
    user_id,
    wait_for_frame,
)

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_a_draft_stays_in_its_room_and_enter_in_another_room_sends_nothing(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    plans = share_room(alice, bob, "Plans")
    share_room(alice, bob, "Gossip")
    composer = alice.page.get_by_label("Message")
    open_room(alice, "Gossip")
    composer.fill("the surprise is on Friday — don't tell bob")
    open_room(alice, "Plans")
    expect(composer).to_have_value("")  # not carried into the room bob reads
    composer.press("Enter")
    expect(messages(alice.page)).to_have_count(0)
    assert relayed_envelopes(alice, plans) == []
    open_room(alice, "Gossip")
    expect(composer).to_have_value("the surprise is on Friday — don't tell bob")


def test_a_typing_notice_shows_only_in_its_own_room(people: People) -> None:
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    share_room(alice, bob, "Plans")
    add_member(alice, carol.username)
    accept_invitation(carol, "Plans")
    share_room(alice, bob, "Gossip")
    typing = alice.page.locator("#typing")
    # Seen in Plans, the notice does not follow alice into Gossip: the line is empty the moment Gossip is open.
    open_room(alice, "Plans")
    open_room(bob, "Plans")
    bob.page.get_by_label("Message").press_sequentially("hello")
    expect(typing).to_contain_text(bob.username)
    open_room(alice, "Gossip")
    assert typing.inner_text() == ""
    # A notice for Plans that comes while Gossip is open is not shown there either.
    carol.page.get_by_label("Message").press_sequentially("hi")
    carol_id = user_id(carol)
    wait_for_frame(alice, lambda frame: frame.get("type") == "typing" and frame.get("user") == carol_id)
    assert typing.inner_text() == ""
