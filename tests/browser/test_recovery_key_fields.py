"""The recovery key where people read it and where they type it back: the whole key in view, on a phone and on a
desktop, and a key typed over several lines is still the key."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.accounts import (
    FLOW_TIMEOUT_MS,
    RECOVERY_KEY_TEXT,
    NewPage,
    expect_signed_in,
    fill_sign_up_form,
    log_out,
    unique_username,
)
from tests.servers import Server

pytestmark = pytest.mark.usefixtures("transactional_db")

PASSWORD = "Correct horse & battery/staple+ünd 42"
NEW_PASSWORD = "Another long passphrase: 7 green tulips!"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


# What a person sees of a field: its value, and whether any of it is scrolled out of the field or off the page.
IN_VIEW = """(field) => {
    const box = field.getBoundingClientRect();
    return {
        value: field.value,
        clippedAcross: field.scrollWidth > field.clientWidth,
        clippedDown: field.scrollHeight > field.clientHeight,
        offPage: box.left < 0 || box.right > window.innerWidth
            || document.documentElement.scrollWidth > window.innerWidth,
    };
}"""


def expect_whole_in_view(field: Locator, value: str) -> None:
    seen = field.evaluate(IN_VIEW)
    assert seen == {"value": value, "clippedAcross": False, "clippedDown": False, "offPage": False}, seen


def sign_up_and_read_the_key(page: Page, base_url: str, username: str) -> str:
    fill_sign_up_form(page, base_url, username, PASSWORD)
    page.get_by_role("button", name="Create account").click()
    shown = page.get_by_label("Recovery key", exact=True)
    expect(shown).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    expect(shown).to_have_text(RECOVERY_KEY_TEXT, timeout=FLOW_TIMEOUT_MS)
    return shown.text_content() or ""


def test_the_new_recovery_key_is_shown_whole_on_a_phone_and_on_a_desktop(
    new_page: NewPage, live_daphne: Server
) -> None:
    page = new_page(viewport=PHONE)
    key = sign_up_and_read_the_key(page, live_daphne.url, unique_username("phone"))
    shown = page.get_by_label("Recovery key", exact=True)
    expect_whole_in_view(shown, key)
    page.set_viewport_size(DESKTOP)
    expect_whole_in_view(shown, key)


def test_a_recovery_key_typed_back_over_several_lines_is_seen_whole_and_recovers_the_account(
    new_page: NewPage, live_daphne: Server
) -> None:
    username = unique_username("typist")
    page = new_page(viewport=PHONE)
    key = sign_up_and_read_the_key(page, live_daphne.url, username)
    page.get_by_role("button", name="I have saved my recovery key").click()
    expect_signed_in(page, username)
    log_out(page)

    # As someone copies it from paper: four groups a line, in lower case, with a stray space at the end.
    groups = key.lower().split("-")
    typed = "\n".join(" ".join(groups[i : i + 4]) for i in range(0, len(groups), 4)) + " "
    page.goto(f"{live_daphne.url}/accounts/recover/")
    page.get_by_label("Username", exact=True).fill(username)
    field = page.get_by_label("Recovery key", exact=True)
    field.fill(typed)
    expect_whole_in_view(field, typed)
    page.set_viewport_size(DESKTOP)
    expect_whole_in_view(field, typed)
    page.set_viewport_size(PHONE)

    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Recover account").click()
    expect_signed_in(page, username)

    # The key-reset page takes the recovery key in the same kind of field.
    page.goto(f"{live_daphne.url}/accounts/reset/")
    field = page.get_by_label("Or your recovery key", exact=True)
    field.fill(key)
    expect_whole_in_view(field, key)
    page.set_viewport_size(DESKTOP)
    expect_whole_in_view(field, key)


def test_a_key_reset_shows_the_new_recovery_key_whole(new_page: NewPage, live_daphne: Server) -> None:
    username = unique_username("resetter")
    page = new_page(viewport=PHONE)
    old_key = sign_up_and_read_the_key(page, live_daphne.url, username)
    page.get_by_role("button", name="I have saved my recovery key").click()
    expect_signed_in(page, username)

    page.goto(f"{live_daphne.url}/accounts/reset/")
    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("I understand that my old messages will become unreadable").check()
    page.get_by_role("button", name="Reset my keys").click()
    shown = page.get_by_label("Recovery key", exact=True)
    expect(shown).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    expect(shown).to_have_text(RECOVERY_KEY_TEXT, timeout=FLOW_TIMEOUT_MS)
    new_key = shown.text_content() or ""
    assert new_key != old_key
    expect_whole_in_view(shown, new_key)
