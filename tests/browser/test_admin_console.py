"""The staff console shows what the server has — ciphertext — and so never a message's text."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from accounts.models import User
from chat.models import Envelope
from tests.browser.chat import CHAT_TIMEOUT_MS, People, message, pair_in_a_room, send_message

pytestmark = pytest.mark.usefixtures("transactional_db")

STAFF_PASSWORD = "staff password for the console"


def test_a_message_sent_in_the_app_is_nowhere_in_the_console(people: People, browser: Browser) -> None:
    alice, bob, _ = pair_in_a_room(people, "Board meeting")
    secret = "The merger closes on Friday at 9"
    send_message(alice, secret)
    expect(message(bob.page, secret)).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    envelope = Envelope.objects.get(sender__username=alice.username)

    User.objects.create_superuser("staff", "staff@example.invalid", STAFF_PASSWORD)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{alice.base_url}/admin/login/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("SecureChat administration").first).to_be_visible()

    page.goto(f"{alice.base_url}/admin/chat/envelope/")
    listing = page.content()
    assert str(envelope.id) in listing and alice.username in listing
    page.goto(f"{alice.base_url}/admin/chat/envelope/{envelope.id}/change/")
    detail = page.content()
    assert "Ciphertext (base64)" in detail

    page.goto(f"{alice.base_url}/admin/chat/envelope/")
    page.locator(f"input[name=_selected_action][value='{envelope.id}']").check()
    page.get_by_role("combobox").select_option("export_csv")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Go").click()
    with open(download_info.value.path(), encoding="utf-8") as export:
        csv_text = export.read()
    assert str(envelope.id) in csv_text

    for text in (listing, detail, csv_text):
        assert secret not in text
        assert "merger" not in text.lower()
    context.close()
