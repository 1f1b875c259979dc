"""Whatever other people type is shown as text: no markup they choose ever becomes part of someone's page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, Request, expect

from accounts.models import User
from tests.browser.accounts import fill_sign_up_form
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    PASSWORD,
    People,
    accept_invitation,
    add_member,
    create_room,
    expect_texts,
    invitation,
    room_link,
    send_message,
    snapshot,
    title,
)
from tests.servers import Server

pytestmark = pytest.mark.usefixtures("transactional_db")

IMG = "<img src=x onerror=alert(1)>"
MARKUP = [
    IMG,
    "<script>alert(2)</script>",
    '<a href="javascript:alert(3)">click me</a>',
    "<b>bold?</b> &amp; &lt;entities&gt;",
    "<svg onload=alert(4)>",
]


def watch_dialogs(page: Page, seen: list[str]) -> None:
    def on_dialog(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)


def expect_no_injected_elements(page: Page) -> None:
    for selector in ("img[src=x]", "main script", "main svg", "main b", "a[href^='javascript:']"):
        expect(page.locator(selector)).to_have_count(0)


def test_markup_in_messages_and_room_names_is_shown_as_text(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    dialogs: list[str] = []
    for person in (alice, bob):
        watch_dialogs(person.page, dialogs)

    create_room(alice, IMG)
    expect(title(alice.page)).to_have_text(IMG)
    expect(room_link(alice.page, IMG)).to_be_visible()
    add_member(alice, bob.username)
    # The invitation names the room as text too (its name matched as text, nothing parsed).
    expect(invitation(bob.page, IMG)).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect_no_injected_elements(bob.page)
    accept_invitation(bob, IMG)
    expect(alice.page).to_have_title(f"{IMG} — SecureChat")

    for text in MARKUP[:3]:
        send_message(alice, text)
    for text in MARKUP[3:]:
        send_message(bob, text)
    expect_texts(bob.page, MARKUP)
    expect_texts(alice.page, MARKUP)
    # Reloaded, the same comes from history instead of the live socket.
    bob.page.reload()
    expect(title(bob.page)).to_have_text(IMG)
    expect_texts(bob.page, MARKUP)

    for person in (alice, bob):
        expect_no_injected_elements(person.page)
        # Each message's rich text is one paragraph holding one text node: none of the markup became an element.
        shape = person.page.locator("article.message .text").evaluate_all(
            """(nodes) => nodes.map((node) => [...node.querySelectorAll("*")].map((e) =>
                `${e.localName}:${[...e.childNodes].map((c) => c.nodeType).join(",")}`).join(" "))"""
        )
        assert shape == ["p:3"] * len(MARKUP), shape
    snapshot(bob.page, "markup-as-text")
    assert dialogs == []


def test_a_username_with_markup_is_refused_at_sign_up(page: Page, live_daphne: Server) -> None:
    dialogs: list[str] = []
    watch_dialogs(page, dialogs)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    name = "<img src=x>"
    fill_sign_up_form(page, live_daphne.url, name, PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Username may contain only letters, digits, and the characters _ . -"
    )
    assert [r for r in requests if r.url.endswith("/api/accounts/signup")] == []

    # The server refuses it too, when the page's own check is bypassed.
    refusal = page.evaluate(
        """async (username) => {
            const { signUp } = await import("/static/js/account/flows.js");
            try {
                await signUp({ username, password: "Correct horse & battery/staple+ünd 42" });
                return "accepted";
            } catch (error) {
                return `${error.code}: ${error.message}`;
            }
        }""",
        "bad<name",
    )
    assert refusal == "invalid_username: Usernames are 3 to 32 characters: letters, digits, '_', '.' and '-'."
    assert not User.objects.filter(username__contains="<").exists()
    expect_no_injected_elements(page)
    assert dialogs == []
