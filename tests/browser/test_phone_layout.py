"""The chat page on a phone: the rooms list and the open room one at a time, the composer always on screen, the members
as a sheet, and nothing wider than the screen; on a desktop the three panes side by side, as before.

Each phone is a Chromium context of 390x844 CSS pixels with touch and the mobile viewport. Set CHAT_SCREENSHOTS to a
directory to keep a screenshot of the list, a room and the members sheet, in the light and the dark theme.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.chat import (
    ROOM_URL,
    People,
    Person,
    connection,
    create_room,
    expect_connected,
    expect_transcript_loaded,
    members,
    message,
    record_frames,
    room_link,
    rooms_nav,
    send_message,
    snapshot,
    start_socket,
    stop_socket,
    title,
)
from tests.servers import Server

pytestmark = pytest.mark.usefixtures("transactional_db")

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
# A name of 80 characters (the most a room name may have) without a space to break at.
LONG_NAME = "Neighbourhood" + "Association" * 6 + "B"
LONG_URL = "https://example.com/" + "averylongpath" * 21 + "end"
MIN_TOUCH = 40


class Phones(People):
    """People whose browser is a phone."""

    def _person(self, username: str, base_url: str | None = None) -> Person:
        context: BrowserContext = self.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        self.contexts.append(context)
        page = context.new_page()
        person = Person(username=username, context=context, page=page, base_url=base_url or self.base_url)
        record_frames(page, person.frames)
        return person


@pytest.fixture
def phones(browser: Browser, live_daphne: Server) -> Iterator[Phones]:
    with Phones(browser, live_daphne.url) as made:
        yield made


def back_button(page: Page) -> Locator:
    return page.get_by_role("button", name="Back to rooms", exact=True)


def members_button(page: Page) -> Locator:
    return page.get_by_role("button", name=re.compile(r"^Members \d+$"))


def close_members(page: Page) -> Locator:
    return page.get_by_role("button", name="Close members", exact=True)


def composer_parts(page: Page) -> list[Locator]:
    message_box = page.get_by_role("textbox", name="Message", exact=True)
    return [message_box, page.get_by_role("button", name="Send", exact=True)]


def overflowing(page: Page) -> list[str]:
    """What reaches past the screen's sides: the page scrolling sideways, a pane scrolling sideways, or any part of an
    element shown beyond the left or right edge."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            const found = [];
            const page = document.scrollingElement;
            if (page.scrollWidth > width) found.push(`the page: ${page.scrollWidth}px wide in ${width}px`);
            for (const node of document.body.querySelectorAll("*")) {
                const box = node.getBoundingClientRect();
                if (box.width === 0 || box.height === 0 || node.closest("[hidden], dialog:not([open])")) continue;
                // What shows of it: a parent that clips (an ellipsis, a scroller) cuts it to its own box.
                let [left, right] = [box.left, box.right];
                for (let parent = node.parentElement; parent; parent = parent.parentElement) {
                    if (getComputedStyle(parent).overflowX === "visible") continue;
                    const clip = parent.getBoundingClientRect();
                    [left, right] = [Math.max(left, clip.left), Math.min(right, clip.right)];
                }
                const name = `${node.tagName.toLowerCase()}${node.id ? "#" + node.id : ""}.${node.className}`;
                if (right > width + 0.5 || left < -0.5) found.push(`${name}: ${left}..${right}`);
                const style = getComputedStyle(node);
                if (["auto", "scroll"].includes(style.overflowX) && node.scrollWidth > node.clientWidth) {
                    found.push(`${name} scrolls sideways: ${node.scrollWidth} in ${node.clientWidth}`);
                }
            }
            return found;
        }"""
    )


def expect_nothing_sideways(page: Page, what: str) -> None:
    """Nothing scrolls or reaches sideways, at 390x844 and at 360x740."""
    for size in (SMALL_PHONE, PHONE):
        page.set_viewport_size(size)
        # The layout follows the new size before anything is measured.
        expect(page.locator("main.chat")).to_have_js_property("clientWidth", size["width"])
        assert overflowing(page) == [], f"{what} at {size['width']}x{size['height']}"
        snapshot(page, f"phone-{size['width']}-{what.replace(' ', '-')}")


def expect_on_screen(page: Page, locator: Locator) -> None:
    """Entirely inside the viewport as it is, without scrolling."""
    box = locator.bounding_box()
    size = page.viewport_size
    assert box and size, f"{locator} is not shown"
    assert 0 <= box["x"] and box["x"] + box["width"] <= size["width"], f"{locator} sideways: {box}"
    assert 0 <= box["y"] and box["y"] + box["height"] <= size["height"], f"{locator} off screen: {box} in {size}"


def expect_touchable(locator: Locator) -> None:
    box = locator.bounding_box()
    assert box and box["height"] >= MIN_TOUCH, f"{locator} is {box and box['height']}px high"


def expect_rooms_list(page: Page) -> None:
    expect(rooms_nav(page)).to_be_visible()
    expect(page.locator("#room")).not_to_be_visible()
    expect(back_button(page)).not_to_be_visible()
    expect(members(page)).not_to_be_visible()
    box = rooms_nav(page).bounding_box()
    assert box and box["width"] == page.viewport_size["width"], f"the rooms list is not the screen's width: {box}"


def expect_room(page: Page, name: str) -> None:
    expect(title(page)).to_have_text(name)
    expect(back_button(page)).to_be_visible()
    expect(rooms_nav(page)).not_to_be_visible()
    expect(members(page)).not_to_be_visible()
    for part in composer_parts(page):
        expect_on_screen(page, part)
    assert page.evaluate("() => window.scrollY") == 0


def shots(page: Page, name: str) -> None:
    """A screenshot in the light theme and one in the dark."""
    snapshot(page, f"phone-{name}-light")
    page.emulate_media(color_scheme="dark")
    snapshot(page, f"phone-{name}-dark")
    page.emulate_media(color_scheme="light")


def test_a_phone_shows_the_rooms_or_the_open_room_with_the_composer_on_screen_and_members_as_a_sheet(
    phones: Phones,
) -> None:
    alice = phones.sign_up("alice")
    page = alice.page
    viewport = page.locator('meta[name="viewport"]')
    expect(viewport).to_have_attribute("content", re.compile(r"interactive-widget=resizes-content"))

    # No room open: only the rooms list.
    expect_rooms_list(page)
    shots(page, "no-rooms")
    for control in (page.get_by_role("button", name="New room"), page.get_by_role("button", name="Log out")):
        expect_touchable(control)
    expect_nothing_sideways(page, "the empty rooms list")

    # "Connected" goes without saying on a phone (it is still there to be read out); a lost connection shows.
    assert connection(page).bounding_box()["height"] <= 1
    stop_socket(page)
    box = connection(page).bounding_box()
    assert box and box["height"] > 10 and box["width"] > 100, f"the offline status is not shown: {box}"
    start_socket(page)
    expect_connected(page)

    # A new room opens as the whole screen, the list gone; the composer is on it without scrolling.
    room_id = create_room(alice, LONG_NAME)
    expect_room(page, LONG_NAME)
    for control in (back_button(page), members_button(page), *composer_parts(page)):
        expect_touchable(control)
    header = page.locator(".room-header")
    assert back_button(page).bounding_box()["x"] < 20, "Back to rooms is not at the left of the room's header"
    assert back_button(page).bounding_box()["y"] < header.bounding_box()["y"] + 20, "nor at its top"
    expect_nothing_sideways(page, "a room with a long name")

    # Messages, one of them a 300-character address, one sent with the Send button: still nothing sideways, and the
    # composer still at the bottom of the screen.
    send_message(alice, "Hello from a phone")
    send_message(alice, LONG_URL)
    page.get_by_label("Message", exact=True).fill("Tapped, not typed")
    page.get_by_role("button", name="Send", exact=True).tap()
    expect(message(page, "Tapped, not typed")).to_be_visible()
    expect(message(page, LONG_URL)).to_be_visible()
    expect_room(page, LONG_NAME)
    expect_nothing_sideways(page, "a room with a long address in it")
    shots(page, "room")

    # With the layout viewport shrunk as an on-screen keyboard does, the composer is still entirely on screen, and so
    # is the newest message above it.
    page.set_viewport_size({"width": 390, "height": 480})
    expect(page.locator("main.chat")).to_have_js_property("clientWidth", 390)
    for part in composer_parts(page):
        expect_on_screen(page, part)
    expect(title(page)).to_be_in_viewport()
    expect(message(page, "Tapped, not typed")).to_be_in_viewport(ratio=1)
    expect(message(page, LONG_URL)).not_to_be_in_viewport(ratio=1)  # the transcript is shorter than its messages
    snapshot(page, "phone-room-keyboard-light")
    page.set_viewport_size(PHONE)

    # The members sheet: over the room, with the member list; closed by its button, focus back where it was.
    expect(members_button(page)).to_have_accessible_name("Members 1")
    members_button(page).tap()
    sheet = members(page)
    expect(sheet).to_be_visible()
    expect(sheet.get_by_text(alice.username, exact=True)).to_be_visible()
    expect(close_members(page)).to_be_focused()
    expect_touchable(close_members(page))
    box = sheet.bounding_box()
    assert box == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}, f"not over the screen: {box}"
    expect_nothing_sideways(page, "the members sheet")
    shots(page, "members")
    close_members(page).tap()
    expect(sheet).not_to_be_visible()
    expect(members_button(page)).to_be_focused()
    # Escape closes it too.
    members_button(page).tap()
    expect(sheet).to_be_visible()
    page.keyboard.press("Escape")
    expect(sheet).not_to_be_visible()

    # Back to the list, at /rooms/, with focus on the room just left.
    back_button(page).tap()
    expect(page).to_have_url(f"{alice.base_url}/rooms/")
    expect_rooms_list(page)
    expect(room_link(page, LONG_NAME)).to_be_focused()
    expect_nothing_sideways(page, "the rooms list")
    shots(page, "rooms")

    # The browser's back button returns to the room, and forward to the list.
    page.go_back()
    expect(page).to_have_url(f"{alice.base_url}/rooms/{room_id}/")
    expect_room(page, LONG_NAME)
    page.go_forward()
    expect_rooms_list(page)

    # Opening the room from the list: the room alone again, its messages there.
    room_link(page, LONG_NAME).tap()
    expect(page).to_have_url(ROOM_URL)
    expect_transcript_loaded(page)
    expect_room(page, LONG_NAME)
    expect(message(page, "Hello from a phone")).to_be_visible()

    # Wider than a phone, with the sheet open: the three panes side by side as on a desktop, no phone buttons, and
    # nothing left inert behind where the sheet was.
    members_button(page).tap()
    expect(members(page)).to_be_visible()
    page.set_viewport_size(DESKTOP)
    for pane in (rooms_nav(page), page.get_by_role("log", name="Conversation"), members(page)):
        expect(pane).to_be_visible()
    for button in (back_button(page), members_button(page), close_members(page)):
        expect(button).not_to_be_visible()
    expect(page.locator("[inert]")).to_have_count(0)
    boxes = [pane.bounding_box() for pane in (rooms_nav(page), page.locator(".room-pane"), members(page))]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] and boxes[1]["x"] + boxes[1]["width"] <= boxes[2]["x"]
    page.get_by_label("Message", exact=True).fill("Back at a desk")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(message(page, "Back at a desk")).to_be_visible()


def test_on_a_desktop_the_three_panes_show_and_the_phone_buttons_do_not(people: People) -> None:
    alice = people.sign_up("alice")
    page = alice.page
    page.set_viewport_size(DESKTOP)
    create_room(alice, "Desk")
    for pane in (rooms_nav(page), page.get_by_role("log", name="Conversation"), members(page)):
        expect(pane).to_be_visible()
    for button in (back_button(page), members_button(page), close_members(page)):
        expect(button).not_to_be_visible()
    # The composer has focus once a room opens, as before.
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    assert overflowing(page) == []
