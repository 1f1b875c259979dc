"""Unread state, the room list by activity, desktop notifications and drafts that survive a reload, as a user sees
them in Chromium: two people, the real server, and a second tab of the same account."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat import (
    People,
    Person,
    create_room,
    message,
    open_chat,
    open_room,
    room_link,
    rooms_nav,
    send_message,
    share_room,
    title,
)

pytestmark = pytest.mark.usefixtures("transactional_db")

# A stand-in for the browser's Notification: permission granted when asked, every notification recorded.
NOTIFICATION_STUB = """
window.__notes = [];
window.Notification = class {
  static permission = "default";
  static async requestPermission() { window.Notification.permission = "granted"; return "granted"; }
  constructor(title, options) { window.__notes.push({ title, body: options?.body ?? "" }); }
  addEventListener() {}
  close() {}
};
"""


def unread_link(page: Page, name: str, count: int) -> object:
    return rooms_nav(page).get_by_role("link", name=re.compile(rf"^{re.escape(name)} {count} unread"))


def room_names_in_order(page: Page) -> list[str]:
    return rooms_nav(page).locator(".room-name").all_inner_texts()


def second_tab(person: Person) -> Page:
    page = person.context.new_page()
    page.goto(f"{person.base_url}/rooms/")
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    return page


def test_a_message_elsewhere_is_counted_in_the_list_and_the_title_and_reading_it_clears_both_in_my_other_tab(
    people: People,
) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Lunch")
    share_room(alice, bob, "Work")
    open_room(bob, "Work")
    other_tab = second_tab(bob)
    open_room(alice, "Lunch")
    send_message(alice, "pizza at noon, @" + bob.username + "?")
    for page in (bob.page, other_tab):
        expect(unread_link(page, "Lunch", 1)).to_be_visible()
        expect(unread_link(page, "Lunch", 1)).to_contain_text("1 mentioning you")
        expect(page).to_have_title(re.compile(r"^\(1\) "))
        # The room with the newest message comes first, with its text as the preview.
        expect(rooms_nav(page).locator(".room-name").first).to_have_text("Lunch")
        expect(rooms_nav(page).locator(".room-preview").first).to_contain_text("pizza at noon")
    # The room being read counts nothing: a message there is read as it comes.
    open_room(alice, "Work")
    send_message(alice, "the report is done")
    expect(message(bob.page, "the report is done")).to_be_visible()
    expect(room_link(bob.page, "Work")).to_have_accessible_name("Work")
    # Reading Lunch in the other tab clears it here too.
    room_link(other_tab, "Lunch").click()
    expect(message(other_tab, "pizza at noon, @" + bob.username + "?")).to_be_visible()
    expect(room_link(bob.page, "Lunch")).to_have_accessible_name("Lunch")
    expect(bob.page).to_have_title(re.compile(r"^Work — SecureChat$"))


def test_new_messages_are_marked_where_i_left_off(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Lunch")
    share_room(alice, bob, "Work")
    open_room(alice, "Lunch")
    send_message(alice, "read before")
    open_room(bob, "Lunch")
    expect(message(bob.page, "read before")).to_be_visible()
    open_room(bob, "Work")
    send_message(alice, "first new one")
    send_message(alice, "second new one")
    expect(unread_link(bob.page, "Lunch", 2)).to_be_visible()
    open_room(bob, "Lunch")
    divider = bob.page.get_by_role("separator", name="New messages")
    expect(divider).to_be_visible()
    order = bob.page.locator("#transcript > *").evaluate_all(
        "nodes => nodes.map(n => n.classList.contains('new-divider') ? 'NEW' : n.querySelector('.text')?.innerText)"
    )
    texts = [text for text in order if text in ("read before", "NEW", "first new one", "second new one")]
    assert texts == ["read before", "NEW", "first new one", "second new one"]


def test_a_notification_comes_once_with_the_text_never_for_the_open_room_or_a_muted_one(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Lunch")
    share_room(alice, bob, "Work")
    bob.page.add_init_script(NOTIFICATION_STUB)
    open_chat(bob)
    open_room(bob, "Work")
    # Nothing is asked on load; switching them on in Settings asks, in answer to the click.
    assert bob.page.evaluate("window.Notification.permission") == "default"
    bob.page.get_by_role("button", name="Settings").click()
    settings = bob.page.get_by_role("dialog", name="Settings")
    settings.get_by_label("Desktop notifications").check()
    expect(settings.get_by_label("Desktop notifications")).to_be_checked()
    settings.get_by_role("button", name="Close settings").click()
    open_room(alice, "Lunch")
    send_message(alice, "pizza at noon?")
    expect(unread_link(bob.page, "Lunch", 1)).to_be_visible()
    open_room(alice, "Work")
    send_message(alice, "in the room bob reads")
    expect(message(bob.page, "in the room bob reads")).to_be_visible()
    # Muted: Lunch says nothing more.
    open_room(bob, "Lunch")
    bob.page.get_by_role("button", name="Mute").click()
    expect(bob.page.get_by_role("button", name="Muted")).to_have_attribute("aria-pressed", "true")
    open_room(bob, "Work")
    open_room(alice, "Lunch")
    send_message(alice, "muted news")
    expect(rooms_nav(bob.page).locator(".room-preview").first).to_contain_text("muted news")
    notes = bob.page.evaluate("window.__notes")
    assert notes == [{"title": f"{alice.username} in Lunch", "body": "pizza at noon?"}]


def test_a_draft_stays_with_its_room_through_a_reload_and_is_stored_sealed(people: People) -> None:
    alice = people.sign_up("alice")
    create_room(alice, "Garden")
    create_room(alice, "Office")
    composer = alice.page.get_by_label("Message", exact=True)
    open_room(alice, "Garden")
    composer.fill("the roses need water")
    open_room(alice, "Office")
    expect(composer).to_have_value("")
    alice.page.evaluate("window.securechat.drafts.written()")
    alice.page.reload()
    open_room(alice, "Office")
    expect(composer).to_have_value("")
    open_room(alice, "Garden")
    expect(composer).to_have_value("the roses need water")
    expect(title(alice.page)).to_have_text("Garden")
    stored = alice.page.evaluate(
        """() => new Promise((resolve, reject) => {
          const open = indexedDB.open("securechat-drafts", 1);
          open.onsuccess = () => {
            const get = open.result.transaction("drafts").objectStore("drafts").getAll();
            get.onsuccess = () => resolve(JSON.stringify(get.result));
            get.onerror = () => reject(get.error);
          };
          open.onerror = () => reject(open.error);
        })"""
    )
    assert "ciphertext" in stored and "roses" not in stored
    # Logging out wipes them with the keys.
    alice.page.get_by_role("button", name="Log out").click()
    expect(alice.page.get_by_role("link", name="Log in").first).to_be_visible()
    left = alice.page.evaluate(
        """() => new Promise((resolve) => {
          const open = indexedDB.open("securechat-drafts", 1);
          open.onupgradeneeded = () => open.result.createObjectStore("drafts");
          open.onsuccess = () => {
            const count = open.result.transaction("drafts").objectStore("drafts").count();
            count.onsuccess = () => resolve(count.result);
          };
        })"""
    )
    assert left == 0


def test_the_filter_finds_rooms_by_name_and_the_plus_menu_opens_both_forms(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Lunch")
    create_room(alice, "Work")
    page = alice.page
    page.get_by_label("Filter rooms").fill("lun")
    expect(rooms_nav(page).locator(".room-name")).to_have_text(["Lunch"])
    page.get_by_label("Filter rooms").fill("nothing like it")
    expect(page.get_by_text("No room matches.")).to_be_visible()
    page.get_by_label("Filter rooms").fill("")
    expect(rooms_nav(page).locator(".room-name")).to_have_count(2)
    page.get_by_role("button", name="New conversation").click()
    page.get_by_role("menuitem", name="Create a room").click()
    expect(page.get_by_label("Room name", exact=True)).to_be_focused()
    page.get_by_role("button", name="New conversation").click()
    page.get_by_role("menuitem", name="Message someone").click()
    expect(page.get_by_label("Talk privately with")).to_be_focused()
    # Suggestions come only from people alice shares a room with.
    suggested = page.locator("#known-people option").evaluate_all("options => options.map(o => o.value)")
    assert suggested == [bob.username]


def test_a_room_address_i_am_not_in_says_not_available_whether_or_not_it_exists(people: People) -> None:
    alice, mallory = people.sign_up("alice"), people.sign_up("mallory")
    real = create_room(alice, "Secret plans")
    for room_id in (real, str(uuid.uuid4())):
        open_chat(mallory, f"/rooms/{room_id}/")
        notice = mallory.page.get_by_role("status").filter(has_text="not available")
        expect(notice).to_have_text("This room is not available: it does not exist, or you are not a member of it.")
        expect(mallory.page.get_by_role("heading", level=1)).to_have_text("Your conversations")


def test_the_theme_chosen_in_settings_shows_at_once_and_after_a_reload(people: People) -> None:
    alice = people.sign_up("alice")
    page = alice.page
    root = page.locator("html")
    page.get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Settings")
    expect(settings.get_by_label("Theme")).to_have_value("system")
    settings.get_by_label("Theme").select_option("dark")
    expect(root).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(root).to_have_attribute("data-theme", "dark")
    page.get_by_role("button", name="Settings").click()
    expect(settings.get_by_label("Theme")).to_have_value("dark")
    settings.get_by_label("Theme").select_option("system")
    expect(root).not_to_have_attribute("data-theme", re.compile("."))
