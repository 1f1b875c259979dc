"""A chat page whose session ended elsewhere says so, in words, instead of reconnecting or spinning.

A password change in one browser signs the user out of the others (their sockets close with 4411) and keeps the
browser that made it; staff switching the account off closes every socket (4403).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from tests.browser.accounts import FLOW_TIMEOUT_MS
from tests.browser.chat import CHAT_TIMEOUT_MS, PASSWORD, People, Person, connection, expect_connected

pytestmark = pytest.mark.usefixtures("transactional_db")

STAFF_PASSWORD = "staff password for the console"


def switch_off_in_the_console(browser: Browser, person: Person) -> None:
    """A member of staff unticks "Active" on the person's page of the staff console, and saves."""
    User.objects.create_superuser(f"staff_{person.username}", "staff@example.invalid", STAFF_PASSWORD)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{person.base_url}/admin/login/")
    page.get_by_label("Username").fill(f"staff_{person.username}")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{person.base_url}/admin/accounts/user/{User.objects.get(username=person.username).pk}/change/")
    page.get_by_label("Active").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    context.close()


def problem(page: Page):
    return page.locator("#problem")


def test_a_password_changed_elsewhere_and_an_account_switched_off_are_said_on_the_chat_page(
    people: People, browser: Browser
) -> None:
    bob = people.sign_up("bob")
    elsewhere = people.log_in(bob.username)  # another browser
    chat_tab = bob.page  # the chat, open in the browser that will change the password

    form = bob.context.new_page()
    form.goto(f"{bob.base_url}/accounts/password/")
    form.get_by_label("Current password", exact=True).fill(PASSWORD)
    form.get_by_label("New password", exact=True).fill(PASSWORD + " new")
    form.get_by_label("Confirm new password", exact=True).fill(PASSWORD + " new")
    form.get_by_role("button", name="Change password").click()
    expect(form.locator("[data-status]")).to_contain_text("Password changed", timeout=FLOW_TIMEOUT_MS)

    signed_out_here = "Password changed elsewhere — log in again"
    expect(connection(elsewhere.page)).to_have_text(signed_out_here, timeout=CHAT_TIMEOUT_MS)
    expect(problem(elsewhere.page)).to_contain_text("Log in again with the new password")
    assert elsewhere.page.request.get(f"{elsewhere.base_url}/api/accounts/me").status == 401
    expect_connected(chat_tab)

    switch_off_in_the_console(browser, bob)
    # The browser that changed the password kept its socket until now: this is the first close it hears.
    expect(connection(chat_tab)).to_have_text("Account switched off", timeout=CHAT_TIMEOUT_MS)
    expect(problem(chat_tab)).to_contain_text("switched off by the site's staff")
    # The page that was already signed out keeps saying why.
    expect(connection(elsewhere.page)).to_have_text(signed_out_here)
