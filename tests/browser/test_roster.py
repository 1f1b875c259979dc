"""Membership people can see and the server cannot make: every change is a roster entry signed in the browser of
whoever made it, shown as a line of the conversation, in order, for every member and after a reload; invite links
carry their secret where the server never sees it; and the room's name is nowhere on the server.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Request, expect

from chat.models import Membership, Room, RosterEntry
from tests.browser.accounts import fill_log_in_form
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    PASSWORD,
    People,
    accept_invitation,
    add_member,
    confirm,
    create_room,
    leave_room,
    member_item,
    open_chat,
    open_room,
    remove_member,
    room_link,
    send_message,
    title,
    user_id,
)
from tests.browser.roster import (
    expect_timeline,
    invite_link,
    join_by_link,
    lines,
    member_button,
    write_before_rosters,
)
from tests.dbscan import describe, find_in, scan_database

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_every_change_of_members_is_a_line_in_order_for_every_member_and_after_a_reload(people: People) -> None:
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    room_id = create_room(alice, "Garden plans")
    add_member(alice, bob.username)
    accept_invitation(bob, "Garden plans")
    send_message(alice, "Seeds are in")
    add_member(alice, carol.username)
    accept_invitation(carol, "Garden plans")
    send_message(bob, "Soil next week")
    remove_member(alice, carol.username)
    leave_room(bob)
    expect(room_link(bob.page, "Garden plans")).to_have_count(0, timeout=CHAT_TIMEOUT_MS)

    story = [
        "You created the room",
        f"You added {bob.username}",
        "Seeds are in",
        f"You added {carol.username}",
        "Soil next week",
        f"You removed {carol.username}",
        f"{bob.username} left",
    ]
    expect_timeline(alice.page, story)
    alice.page.reload()
    expect_timeline(alice.page, story)
    # Every change is an entry alice's or bob's browser signed; the server holds exactly those.
    assert [(e.op, e.actor_id) for e in RosterEntry.objects.filter(room_id=room_id).order_by("seq")] == [
        ("create", user_id(alice)),
        ("add", user_id(alice)),
        ("add", user_id(alice)),
        ("remove", user_id(alice)),
        ("leave", user_id(bob)),
    ]
    assert Room.objects.get(id=room_id).legacy_name == ""


def test_a_member_added_later_sees_the_changes_before_the_first_message_wrapped_for_them(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    create_room(alice, "Allotment")
    send_message(alice, "Before bob")
    add_member(alice, bob.username)
    send_message(alice, "Hello bob")
    accept_invitation(bob, "Allotment")
    # Bob reads nothing from before he was added (invited); the line that added him comes before the first message
    # for him, which he reads once he accepts.
    expect_timeline(bob.page, [f"{alice.username} created the room", f"{alice.username} added you", "Hello bob"])


def test_admins_manage_members_and_an_owner_hands_the_room_on_before_leaving(people: People) -> None:
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    create_room(alice, "Shed")
    # Each accepts before the next add: an invitation is accepted as its invitee last saw the room.
    add_member(alice, bob.username)
    accept_invitation(bob, "Shed")
    add_member(alice, carol.username)
    accept_invitation(carol, "Shed")
    expect(bob.page.get_by_label("Add member", exact=True)).to_be_hidden()
    # Only a member who accepted can be given a role: alice's page knows bob did.
    expect(member_item(alice.page, bob.username)).not_to_contain_text("invited", timeout=CHAT_TIMEOUT_MS)

    member_button(alice.page, f"Make admin: {bob.username}").click()
    expect(member_item(bob.page, bob.username).locator(".tag", has_text="admin")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    remove_member(bob, carol.username)
    # An admin cannot remove the owner: there is no button for it.
    expect(member_button(bob.page, f"Remove {alice.username}")).to_have_count(0)

    leave_room(alice)
    expect(member_item(bob.page, bob.username).locator(".tag", has_text="owner")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect_timeline(
        bob.page,
        [
            f"{alice.username} created the room",
            f"{alice.username} added you",
            f"{alice.username} added {carol.username}",
            f"{alice.username} made you an admin",
            f"You removed {carol.username}",
            f"{alice.username} handed the room to you",
            f"{alice.username} left",
        ],
    )


def test_an_invite_link_admits_whoever_holds_it_and_a_replaced_or_closed_link_admits_nobody(people: People) -> None:
    alice, dave, erin = people.sign_up("alice"), people.sign_up("dave"), people.sign_up("erin")
    requests: list[Request] = []
    for person in (alice, dave, erin):
        person.page.on("request", lambda sent: requests.append(sent))
    room_id = create_room(alice, "Open house", link=True)
    url = invite_link(alice.page).inner_text()
    secret = url.split("#", 1)[1]
    assert url.startswith(f"{alice.base_url}/join/#") and len(secret) == 43

    join_by_link(dave, url, "Open house")
    expect(member_item(alice.page, dave.username)).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(lines(alice.page).last).to_have_text(f"{dave.username} joined with the invite link")

    alice.page.get_by_role("button", name="Replace link").click()
    confirm(alice.page, "Replace link")
    expect(invite_link(alice.page)).not_to_have_text(url)
    replaced = invite_link(alice.page).inner_text()
    erin.page.goto(url)
    expect(erin.page.locator("#join-error")).not_to_be_empty(timeout=CHAT_TIMEOUT_MS)
    expect(erin.page.get_by_role("button", name="Join room")).to_be_disabled()

    alice.page.get_by_role("button", name="Close link").click()
    confirm(alice.page, "Close link")
    expect(alice.page.get_by_role("button", name="Create invite link")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    erin.page.goto(replaced)
    expect(erin.page.locator("#join-error")).not_to_be_empty(timeout=CHAT_TIMEOUT_MS)
    assert not Membership.objects.filter(room_id=room_id, user_id=user_id(erin)).exists()

    expect(lines(alice.page)).to_have_text(
        [
            "You created the room",
            f"{dave.username} joined with the invite link",
            "You replaced the invite link",
            "You closed the invite link",
        ]
    )
    # The fragment is the link's secret: no request to the server ever carried it.
    for sent in requests:
        assert secret not in sent.url and secret not in (sent.post_data or ""), sent.url
        assert replaced.split("#", 1)[1] not in sent.url and replaced.split("#", 1)[1] not in (sent.post_data or "")


def test_no_room_name_in_any_frame_or_anywhere_in_the_database(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    names = {"room": "Quokka Orchestra ♫ 7731", "linked room": "Zebra-Café <Annex> 42"}
    create_room(alice, names["room"])
    add_member(alice, bob.username)
    create_room(alice, names["linked room"], link=True)
    accept_invitation(bob, names["room"])
    send_message(bob, "hello")
    open_chat(bob)
    expect(room_link(bob.page, names["room"])).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(title(alice.page)).to_have_text(names["linked room"])

    for frame in alice.frames + bob.frames:
        assert find_in(frame.payload, names) == [], f"a room name in a frame {frame.direction}: {frame.payload[:200]}"
    findings = scan_database(names)
    assert findings == [], describe(findings)


def test_a_room_from_before_rosters_is_marked_until_its_owner_signs_it_and_keeps_its_history(
    people: People,
) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room = Room.objects.create(legacy_name="Old garden", kind=Room.Kind.GROUP, owner_id=user_id(alice))
    for person in (alice, bob):
        Membership.objects.create(room=room, user_id=user_id(person))
    write_before_rosters(str(room.id), alice, [alice, bob], "From the old days")
    write_before_rosters(str(room.id), bob, [alice, bob], "Me too")
    open_chat(bob)
    open_room(bob, "Old garden")
    expect(bob.page.locator("#room-kind")).to_contain_text("membership not yet signed")
    # Bob wrote there before rosters (his own signed message for it): the room keeps working meanwhile.
    send_message(bob, "Written before the list was signed")

    open_chat(alice)
    open_room(alice, "Old garden")
    # Her browser signs nothing by itself (the list is the server's word): she signs the list she sees.
    expect(alice.page.locator("#room-kind")).to_contain_text("membership not yet signed")
    alice.page.get_by_role("button", name="Sign member list").click()
    expect(bob.page.locator("#room-kind")).not_to_contain_text("not yet signed", timeout=CHAT_TIMEOUT_MS)
    signed = f"{alice.username} signed the member list: {alice.username}, you"
    expect_timeline(bob.page, ["From the old days", "Me too", "Written before the list was signed", signed])
    send_message(bob, "Written after")
    expect_timeline(
        alice.page,
        [
            "From the old days",
            "Me too",
            "Written before the list was signed",
            f"You signed the member list: you, {bob.username}",
            "Written after",
        ],
    )
    room.refresh_from_db()
    assert (room.legacy_name, room.roster_seq) == ("", 0)
    bob.page.reload()
    expect_timeline(
        bob.page, ["From the old days", "Me too", "Written before the list was signed", signed, "Written after"]
    )


def test_removing_a_member_replaces_the_invite_link_they_could_read(people: People) -> None:
    alice, carol = people.sign_up("alice"), people.sign_up("carol")
    create_room(alice, "Members only", link=True)
    url = invite_link(alice.page).inner_text()
    join_by_link(carol, url, "Members only")
    expect(member_item(alice.page, carol.username)).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    remove_member(alice, carol.username)
    # Carol could read the link while she was a member: it is replaced, and the one she knew lets nobody in.
    expect(invite_link(alice.page)).not_to_have_text(url, timeout=CHAT_TIMEOUT_MS)
    carol.page.goto(url)
    expect(carol.page.locator("#join-error")).not_to_be_empty(timeout=CHAT_TIMEOUT_MS)
    expect(lines(alice.page)).to_have_text(
        [
            "You created the room",
            f"{carol.username} joined with the invite link",
            f"You removed {carol.username} and replaced the invite link",
        ]
    )


def test_an_invite_link_opened_signed_out_still_joins_after_logging_in(people: People) -> None:
    alice, dave = people.sign_up("alice"), people.sign_up("dave")
    create_room(alice, "Porch", link=True)
    url = invite_link(alice.page).inner_text()
    dave.page.get_by_role("button", name="Log out").click()
    dave.page.wait_for_url("**/accounts/login/")
    dave.page.goto(url, wait_until="commit")  # the page moves on to log-in at once
    # Sent to log in; the link's secret waited in this tab, never in a request.
    dave.page.wait_for_url("**/accounts/login/?next=%2Fjoin%2F")
    fill_log_in_form(dave.page, dave.base_url, dave.username, PASSWORD, next_path="/join/")
    dave.page.get_by_role("button", name="Log in").click()
    expect(dave.page.get_by_role("heading", name="Join Porch")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    dave.page.get_by_role("button", name="Join room").click()
    expect(title(dave.page)).to_have_text("Porch", timeout=CHAT_TIMEOUT_MS)
