"""Consent in real browsers: being added to a room, or asked for a direct conversation, is an invitation its invitee
accepts or declines; until then nothing of the room reaches them, and they are nobody's to watch come online.

Names that are part of the interface: the region "Invitations" in the Rooms navigation, and each invitation's buttons
"Accept invitation" and "Decline invitation".
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    People,
    Person,
    accept_invitation,
    add_member,
    create_room,
    expect_texts,
    invitation,
    invitations,
    member_item,
    open_chat,
    relayed_envelopes,
    room_link,
    send_message,
    snapshot,
    title,
    user_id,
)

pytestmark = pytest.mark.usefixtures("transactional_db")


def ask_to_talk(asker: Person, other: Person) -> Page:
    """``asker`` starts a direct conversation with ``other``: it opens at once on their side, as a request."""
    page = asker.page
    page.get_by_label("Talk privately with").fill(other.username)
    page.get_by_role("button", name="Start conversation").click()
    expect(title(page)).to_have_text(other.username)
    return page


def test_an_added_member_is_invited_gets_nothing_until_she_accepts_and_then_reads_the_room(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    open_chat(bob)
    room_id = create_room(alice, "Book club")
    add_member(alice, bob.username)
    expect(member_item(alice.page, bob.username)).to_contain_text("invited")

    offer = invitation(bob.page, "Book club")
    expect(offer).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(offer).to_contain_text(f"invited by {alice.username}")  # from the signed roster
    expect(room_link(bob.page, "Book club")).to_have_count(0)  # listed apart, not among her rooms
    snapshot(bob.page, "invitation")

    early = "Chapter one by Friday, please"
    send_message(alice, early)
    # Wrapped for bob (he is on the roster), but not delivered: no message of the room reaches his socket.
    assert relayed_envelopes(bob, room_id) == []

    accept_invitation(bob, "Book club")
    expect(invitations(bob.page)).to_be_hidden()
    expect(room_link(bob.page, "Book club")).to_be_visible()
    expect_texts(bob.page, [early])  # his history has it: he could read it from the add on
    later = "Friday works — bob"
    send_message(bob, later)
    expect_texts(alice.page, [early, later])
    expect(member_item(alice.page, bob.username)).not_to_contain_text("invited")


def test_declining_a_group_invitation_takes_the_invitee_off_the_signed_member_list(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    open_chat(bob)
    create_room(alice, "Surprise party")
    add_member(alice, bob.username)
    offer = invitation(bob.page, "Surprise party")
    offer.get_by_role("button", name="Decline invitation").click(timeout=CHAT_TIMEOUT_MS)
    expect(invitations(bob.page)).to_be_hidden()
    expect(member_item(alice.page, bob.username)).to_have_count(0)  # his signed leave reached her roster
    expect(room_link(bob.page, "Surprise party")).to_have_count(0)


def test_a_stranger_asking_for_a_direct_conversation_waits_for_an_answer_and_sees_no_presence(people: People) -> None:
    bob, carol = people.sign_up("bob"), people.sign_up("carol")
    open_chat(bob)
    page = ask_to_talk(carol, bob)
    # bob is online, but carol is told nothing of him until he answers.
    expect(member_item(page, bob.username)).to_contain_text("invited")
    expect(member_item(page, bob.username)).not_to_contain_text("(online)")
    hello = "Hi bob, it's carol from the tennis club"
    send_message(carol, hello)

    request = invitation(bob.page, carol.username)
    expect(request).to_contain_text("wants to talk privately", timeout=CHAT_TIMEOUT_MS)
    accept_invitation(bob, carol.username)
    expect_texts(bob.page, [hello])
    expect(member_item(page, bob.username)).to_contain_text("(online)", timeout=CHAT_TIMEOUT_MS)


def test_a_declined_direct_request_is_gone_and_stays_gone_after_a_reload(people: People) -> None:
    """(That its requester cannot ask again is the server's to enforce: chat/tests/test_invitations.py.)"""
    bob, mallory = people.sign_up("bob"), people.sign_up("mallory")
    open_chat(bob)
    ask_to_talk(mallory, bob)
    request = invitation(bob.page, mallory.username)
    request.get_by_role("button", name="Decline invitation").click(timeout=CHAT_TIMEOUT_MS)
    expect(invitations(bob.page)).to_be_hidden()
    bob.page.reload()
    open_chat(bob)
    expect(invitations(bob.page)).to_be_hidden()
    expect(room_link(bob.page, mallory.username)).to_have_count(0)


def test_the_inviter_shown_is_the_signed_rosters_whatever_the_server_says(people: People) -> None:
    """The malicious server rewrites the invitation to name someone else as the inviter: the page names the actor
    of the signed add."""
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    carol_id = user_id(carol)

    def forge(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            for room in frame.get("rooms", []) if frame.get("type") == "invitations" else []:
                room["invited_by"] = carol_id
            if frame.get("type") == "invitation" and frame.get("event") == "added":
                frame["room"]["invited_by"] = carol_id
            ws.send(json.dumps(frame))

        server.on_message(to_page)

    bob.page.route_web_socket("**/ws/chat/", forge)
    open_chat(bob)
    create_room(alice, "Allotment")
    add_member(alice, bob.username)
    offer = invitation(bob.page, "Allotment")
    expect(offer).to_contain_text(f"invited by {alice.username}", timeout=CHAT_TIMEOUT_MS)
    expect(offer).not_to_contain_text(carol.username)
