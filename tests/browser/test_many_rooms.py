"""A user in more rooms than one page holds sees every one of them listed: the page asks for the pages after
``ready`` (``rooms``), and a reconnect lists them again without listing any twice."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import User
from chat.tests.factories import bulk_rooms
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    People,
    drop_socket,
    expect_connected,
    frames_of_type,
    open_chat,
    room_link,
    rooms_nav,
    wait_for_frame,
)

pytestmark = pytest.mark.usefixtures("transactional_db")

ROOMS = 150  # more than a page (chat.protocol.ROOMS_PAGE, 100)


def test_a_user_in_more_rooms_than_a_page_sees_every_room_listed_once_after_a_reconnect_too(people: People) -> None:
    alice = people.sign_up("alice")
    me = User.objects.get(username=alice.username)
    bulk_rooms(me, [me], ROOMS)  # rooms from before rosters: their names are the server's, no chain to check
    open_chat(alice)
    listed = rooms_nav(alice.page).get_by_role("listitem")
    expect(listed).to_have_count(ROOMS, timeout=CHAT_TIMEOUT_MS)
    expect(room_link(alice.page, "Room 0001")).to_be_visible()
    expect(room_link(alice.page, f"Room {ROOMS:04d}")).to_be_visible()
    # The first page came in `ready`, the rest by one `rooms` request from its cursor.
    ready = frames_of_type(alice.chat_frames("received"), "ready")[-1]
    assert (len(ready["rooms"]), ready.get("more")) == (100, True)
    assert [frame["after"] for frame in frames_of_type(alice.chat_frames("sent"), "rooms")] == [ready["after"]]
    expect(alice.page.locator("#rooms-status")).to_be_empty()
    expect(alice.page.get_by_text("No rooms yet.")).to_be_hidden()

    drop_socket(alice.page)  # it reconnects by itself: a new `ready`, and the pages after it again
    wait_for_frame(alice, lambda frame: frame.get("type") == "rooms", count=2)
    expect_connected(alice.page)
    expect(listed).to_have_count(ROOMS)
    expect(alice.page.locator("#rooms-status")).to_be_empty()
