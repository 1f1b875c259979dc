"""Managing a room from the chat page: renaming it (a signed entry whose new name is sealed for the members, seen by
the others at once), the questions asked before leaving, removing someone, handing the room on and replacing or
closing its invite link (Cancel and Escape change nothing), and copying the invite link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from chat.models import RosterEntry
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    People,
    accept_invitation,
    add_member,
    confirm,
    confirmation,
    create_room,
    invitation,
    leave_room,
    member_item,
    members,
    room_link,
    share_room,
    snapshot,
    title,
    user_id,
)
from tests.browser.roster import expect_timeline, invite_link, lines, member_button
from tests.dbscan import describe, find_in, scan_database

pytestmark = pytest.mark.usefixtures("transactional_db")


def rename_field(page: Page):
    return page.get_by_label("New room name", exact=True)


def entries_of(room_id: str) -> list[tuple[str, int]]:
    return [(e.op, e.actor_id) for e in RosterEntry.objects.filter(room_id=room_id).order_by("seq")]


def test_the_owner_renames_the_room_and_the_other_member_sees_the_new_name_at_once(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Allotment")
    # A plain member may not rename the room: no button for it.
    expect(bob.page.get_by_role("button", name="Rename room")).to_be_hidden()

    alice.page.get_by_role("button", name="Rename room").click()
    field = rename_field(alice.page)
    expect(field).to_be_focused()
    expect(field).to_have_value("Allotment")
    # The new-room form keeps its own field: the two are told apart by name.
    expect(alice.page.get_by_label("Room name", exact=True)).to_have_count(1)

    field.fill("x" * 81)
    alice.page.get_by_role("button", name="Save", exact=True).click()
    expect(alice.page.locator("#rename-error")).to_have_text("A room's name is at most 80 characters; this one has 81.")
    expect(field).to_have_attribute("aria-invalid", "true")
    snapshot(alice.page, "rename-too-long")
    field.fill("Allotment   2027 ♫ <b>")
    alice.page.get_by_role("button", name="Save", exact=True).click()
    expect(field).to_be_hidden()

    new_name = "Allotment 2027 ♫ <b>"  # spaces collapsed, as a new room's; markup is text
    expect(title(alice.page)).to_have_text(new_name)
    expect(title(bob.page)).to_have_text(new_name, timeout=CHAT_TIMEOUT_MS)
    expect(room_link(bob.page, new_name)).to_be_visible()
    expect(room_link(bob.page, "Allotment")).to_have_count(0)
    expect(lines(bob.page).last).to_have_text(f"{alice.username} renamed the room")
    expect(lines(alice.page).last).to_have_text("You renamed the room")
    assert entries_of(room_id)[-1] == ("rename", user_id(alice))
    # Sealed for the members: the server holds no spelling of it.
    for frame in alice.frames + bob.frames:
        assert find_in(frame.payload, {"name": new_name}) == [], frame.payload[:200]
    findings = scan_database({"name": new_name})
    assert findings == [], describe(findings)

    # An admin may rename it too, and what bob names it is what alice reads after a reload.
    member_button(alice.page, f"Make admin: {bob.username}").click()
    bob.page.get_by_role("button", name="Rename room").click(timeout=CHAT_TIMEOUT_MS)
    rename_field(bob.page).fill("Shared plot")
    rename_field(bob.page).press("Enter")
    alice.page.reload()
    expect(title(alice.page)).to_have_text("Shared plot", timeout=CHAT_TIMEOUT_MS)
    expect(lines(alice.page).last).to_have_text(f"{bob.username} renamed the room")


def test_removing_handing_on_and_leaving_are_asked_first_and_cancel_or_escape_changes_nothing(
    people: People,
) -> None:
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    room_id = share_room(alice, bob, "Shed")
    add_member(alice, carol.username)
    accept_invitation(carol, "Shed")
    expect(member_item(alice.page, carol.username)).not_to_contain_text("invited", timeout=CHAT_TIMEOUT_MS)
    before = entries_of(room_id)
    page = alice.page

    # Removing: Escape, then Cancel, keep carol; the dialog opens on Cancel.
    remove = members(page).get_by_role("button", name=f"Remove {carol.username}", exact=True)
    remove.click()
    dialog = confirmation(page)
    expect(dialog).to_have_accessible_name(f"Remove {carol.username}?")
    expect(dialog).to_contain_text(f"{carol.username} will no longer receive this room's messages.")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    snapshot(page, "confirm-remove")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    remove.click()
    confirm(page, "Cancel")
    expect(member_item(page, carol.username)).to_be_visible()
    assert entries_of(room_id) == before
    remove.click()
    confirm(page, "Remove")
    expect(member_item(page, carol.username)).to_have_count(0)
    expect(room_link(carol.page, "Shed")).to_have_count(0, timeout=CHAT_TIMEOUT_MS)

    # Handing the room on: said what becomes of the owner, as the roster rules have it.
    hand_over = member_button(page, f"Make {bob.username} the owner")
    hand_over.click()
    expect(dialog).to_have_accessible_name(f"Make {bob.username} the owner?")
    expect(dialog).to_contain_text("You will become an admin.")
    snapshot(page, "confirm-owner")
    confirm(page, "Cancel")
    expect(member_item(page, alice.username).locator(".tag", has_text="owner")).to_be_visible()
    hand_over.click()
    confirm(page, "Make owner")
    expect(member_item(bob.page, bob.username).locator(".tag", has_text="owner")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(member_item(page, alice.username).locator(".tag", has_text="admin")).to_be_visible()

    # Leaving: Cancel stays in the room; Leave leaves it.
    page.get_by_role("button", name="Leave room").click()
    expect(dialog).to_have_accessible_name("Leave Shed?")
    expect(dialog).to_contain_text("You will no longer receive its messages.")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    snapshot(page, "confirm-leave")
    confirm(page, "Cancel")
    expect(title(page)).to_have_text("Shed")
    expect(room_link(page, "Shed")).to_be_visible()
    leave_room(alice)
    expect(room_link(page, "Shed")).to_have_count(0)
    expect_timeline(
        bob.page,
        [
            f"{alice.username} created the room",
            f"{alice.username} added you",
            f"{alice.username} added {carol.username}",
            f"{alice.username} removed {carol.username}",
            f"{alice.username} handed the room to you",
            f"{alice.username} left",
        ],
    )
    assert [op for op, _ in entries_of(room_id)[len(before) :]] == ["remove", "owner", "leave"]


def test_the_last_member_leaving_takes_back_the_invitations_and_the_room_goes_from_every_list(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    create_room(alice, "Brief")
    add_member(alice, bob.username)
    expect(invitation(bob.page, "Brief")).to_be_visible(timeout=CHAT_TIMEOUT_MS)

    alice.page.get_by_role("button", name="Leave room").click()
    expect(confirmation(alice.page)).to_contain_text("the invitations are taken back")
    confirm(alice.page, "Leave")
    expect(room_link(alice.page, "Brief")).to_have_count(0)
    expect(invitation(bob.page, "Brief")).to_have_count(0, timeout=CHAT_TIMEOUT_MS)
    for person in (alice, bob):
        person.page.reload()
        expect(person.page.get_by_text("Brief")).to_have_count(0)


def test_the_invite_link_is_copied_and_replacing_or_closing_it_is_asked_first(people: People) -> None:
    alice = people.sign_up("alice")
    alice.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=alice.base_url)
    create_room(alice, "Open house", link=True)
    page = alice.page
    url = invite_link(page).inner_text()

    page.get_by_role("button", name="Copy invite link").click()
    expect(page.locator("#invite-status")).to_have_text("Invite link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url

    # A browser that refuses to write the clipboard: the link is selected, to copy by hand.
    page.evaluate(
        """() => {
            navigator.clipboard.writeText = () => Promise.reject(new DOMException("denied", "NotAllowedError"));
        }"""
    )
    page.get_by_role("button", name="Copy invite link").click()
    expect(page.locator("#invite-status")).to_have_text(re.compile(r"^Press (Ctrl\+C|⌘C) to copy\.$"))
    assert page.evaluate("getSelection().toString()") == url

    page.get_by_role("button", name="Replace link").click()
    expect(confirmation(page)).to_contain_text("The old link stops working")
    snapshot(page, "confirm-replace-link")
    page.keyboard.press("Escape")
    expect(confirmation(page)).to_have_count(0)
    expect(invite_link(page)).to_have_text(url)
    page.get_by_role("button", name="Close link").click()
    confirm(page, "Cancel")
    expect(invite_link(page)).to_have_text(url)
    expect(page.get_by_role("button", name="Create invite link")).to_be_hidden()
