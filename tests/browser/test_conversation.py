"""The conversation as a reader sees it: a sender's messages in a row form a run (one avatar, name and time), rows
dense enough that a screen holds about twenty lines, rich text that another user cannot turn into markup or script,
and Retry for a message the server refused."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import WebSocketRoute, expect

from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    SENT,
    People,
    Person,
    expect_texts,
    expect_transcript_loaded,
    message,
    messages,
    pair_in_a_room,
    reconnect_through,
    send_message,
    send_quickly,
    snapshot,
    transcript,
)
from tests.browser.test_contrast import assert_none, check_every_theme, choose_theme

pytestmark = pytest.mark.usefixtures("transactional_db")

SCREEN = {"width": 1280, "height": 800}
REJECTED = re.compile(r"\brejected\b")
CONTINUED = re.compile(r"\bcontinued\b")

# Every time's tooltip, as the reader's browser writes the full date and time of its datetime.
TITLES = """() => [...document.querySelectorAll("#transcript time")].map((t) => [t.title,
    new Intl.DateTimeFormat([], {dateStyle: "full", timeStyle: "short"}).format(new Date(t.dateTime))])"""
# How many messages lie wholly inside the transcript's visible box.
VISIBLE = """() => {
  const box = document.getElementById("transcript").getBoundingClientRect();
  return [...document.querySelectorAll("#transcript article.message")].filter((article) => {
    const r = article.getBoundingClientRect();
    return r.top >= box.top && r.bottom <= box.bottom;
  }).length;
}"""


def test_a_senders_messages_in_a_row_form_runs_and_twenty_lines_fit_a_screen(people: People) -> None:
    alice, bob, room_id = pair_in_a_room(people, "Harbour walk")
    bob.page.set_viewport_size(SCREEN)
    talk = [
        (alice, "Are we still on for the harbour walk?"),
        (alice, "Weather looks fine after ten"),
        (bob, "Yes! **Ten** at the lighthouse"),
        (bob, "I'll bring `coffee` and the map: https://example.com/harbour"),
        (alice, "> Ten at the lighthouse\nPerfect, see you there"),
    ]
    for person, text in talk:
        send_quickly(person, room_id, [text])
    shown = messages(bob.page)
    expect(shown).to_have_count(len(talk), timeout=CHAT_TIMEOUT_MS)
    # Three runs: alice, bob (You), alice. Only the first of each shows an avatar; all of them name their sender.
    expect(shown).to_have_class(
        [re.compile(r"^(?!.*\bcontinued\b)"), CONTINUED] * 2 + [re.compile(r"^(?!.*\bcontinued\b)")]
    )
    expect(transcript(bob.page).locator(".avatar")).to_have_count(3)
    expect(transcript(bob.page).locator(".avatar")).to_have_text(["A", "B", "A"])
    expect(shown.locator(".sender")).to_have_text([alice.username, alice.username, "You", "You", alice.username])
    avatars = transcript(bob.page).locator(".avatar")
    for i in range(3):
        expect(avatars.nth(i)).to_have_attribute("aria-hidden", "true")
    # Alice's and bob's avatars differ in colour (their ids differ by one).
    colours = avatars.evaluate_all("(nodes) => nodes.map((node) => getComputedStyle(node).backgroundColor)")
    assert colours[0] == colours[2] != colours[1]

    # A continued message's name is there for screen readers only, its time shows on hover.
    second = shown.nth(1)
    size = second.locator(".sender").evaluate("(node) => [node.offsetWidth, node.offsetHeight]")
    assert size[0] <= 1 and size[1] <= 1, size
    expect(second.locator("header")).to_have_css("opacity", "0")
    second.hover()
    expect(second.locator("header")).to_have_css("opacity", "1")
    snapshot(bob.page, "continued-hover")
    # Names, times (the hovered one too), avatars' letters, links, code and quotes read at AA in every theme.
    found: dict[str, list[str]] = {}
    check_every_theme(bob.page, "runs of messages, one hovered", found)
    assert_none(found)
    choose_theme(bob.page, "system")
    expect(shown.first.locator("header")).to_have_css("opacity", "1")
    titles = bob.page.evaluate(TITLES)
    assert titles and all(title == expected and re.search(r"\d{4}", title) for title, expected in titles), titles

    # About twenty one-line messages on a 1280x800 screen.
    send_quickly(alice, room_id, [f"Short line {i}" for i in range(1, 31)])
    expect(shown).to_have_count(len(talk) + 30, timeout=CHAT_TIMEOUT_MS)
    expect(shown.last).to_contain_text("Short line 30")
    bob.page.mouse.move(0, 0)
    visible = bob.page.evaluate(VISIBLE)
    assert visible >= 18, f"only {visible} messages fit in the transcript"

    transcript(bob.page).evaluate("(node) => { node.scrollTop = 0; }")
    for scheme in ("light", "dark"):
        bob.page.emulate_media(color_scheme=scheme)
        snapshot(bob.page, f"conversation-{scheme}")
    transcript(bob.page).evaluate("(node) => { node.scrollTop = node.scrollHeight; }")
    snapshot(bob.page, "conversation-dense-dark")


HOSTILE = "\n".join(
    [
        '<img src=x onerror="window.__pwned=1">',
        "[click](javascript:window.__pwned=2)",
        "**bold** and _em_",
        "",
        "```",
        "<script>window.__pwned=3</script>",
        "```",
        "",
        "> quote",
        "",
        "https://example.com/path_(x)",
    ]
)


def test_rich_text_from_another_user_shows_formatting_and_never_markup_or_script(people: People) -> None:
    alice, bob, _ = pair_in_a_room(people, "Formatting")
    composer = alice.page.get_by_label("Message", exact=True)
    composer.fill(HOSTILE)
    composer.press("Enter")
    expect(messages(alice.page)).to_have_class([SENT], timeout=CHAT_TIMEOUT_MS)

    shown = messages(bob.page)
    expect(shown).to_have_count(1, timeout=CHAT_TIMEOUT_MS)
    text = shown.locator(".text.rich-text")
    expect(text.locator("strong")).to_have_text("bold")
    expect(text.locator("em")).to_have_text("em")
    expect(text.locator("pre code")).to_have_text("<script>window.__pwned=3</script>")
    expect(text.locator("blockquote")).to_have_text("quote")
    link = text.get_by_role("link", name="https://example.com/path_(x)")
    expect(link).to_have_attribute("href", "https://example.com/path_(x)")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    # The markup and the script link are text, as typed.
    expect(text).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(text).to_contain_text("[click](javascript:window.__pwned=2)")
    log = transcript(bob.page)
    expect(log.locator("img, script, svg, iframe")).to_have_count(0)
    expect(log.locator("a")).to_have_count(1)
    expect(bob.page.locator("a[href^='javascript:' i]")).to_have_count(0)
    handlers = log.evaluate(
        """(node) => [...node.querySelectorAll("*")]
            .flatMap((e) => e.getAttributeNames().filter((name) => name.startsWith("on")))"""
    )
    assert handlers == []
    assert bob.page.evaluate("() => window.__pwned") is None


def refusing_first_send(sends: list[str]) -> Any:
    """A socket route playing a server that refuses the first message sent (answering for it with an error frame,
    never storing it) and passes everything else through; the ref of every send the page makes goes in ``sends``."""

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda text: ws.send(text))

        def from_page(text: str | bytes) -> None:
            frame = json.loads(text)
            if frame.get("op") == "send":
                sends.append(frame["ref"])
            if frame.get("op") == "send" and len(sends) == 1:
                ws.send(
                    json.dumps(
                        {"type": "error", "code": "forbidden", "detail": "Refused by the server.", "ref": frame["ref"]}
                    )
                )
                return
            server.send(text)

        ws.on_message(from_page)

    return route


def reload_with_route(person: Person, route: Any) -> None:
    reconnect_through(person, route)
    expect_transcript_loaded(person.page)


def test_retry_sends_a_refused_message_again_and_the_other_member_receives_it(people: People) -> None:
    alice, bob, _ = pair_in_a_room(people, "Second chances")
    send_message(alice, "First, delivered")
    sends: list[str] = []
    reload_with_route(alice, refusing_first_send(sends))

    text = "Second, refused once"
    alice.page.get_by_label("Message", exact=True).fill(text)
    alice.page.get_by_label("Message", exact=True).press("Enter")
    rejected = message(alice.page, text)
    expect(rejected).to_have_class(REJECTED, timeout=CHAT_TIMEOUT_MS)
    expect(rejected.locator(".state")).to_have_text("Not sent: Refused by the server.")
    composer_error = alice.page.locator("#composer-error")
    expect(composer_error).to_have_text("Not sent: Refused by the server.")
    expect_texts(bob.page, ["First, delivered"])
    snapshot(alice.page, "retry")
    found: dict[str, list[str]] = {}
    check_every_theme(alice.page, "a refused message", found)
    assert_none(found)

    rejected.get_by_role("button", name="Retry").click()
    expect(message(alice.page, text)).to_have_class(SENT, timeout=CHAT_TIMEOUT_MS)
    expect(alice.page.get_by_role("button", name="Retry")).to_have_count(0)
    # Its cause gone, the composer's error is gone too.
    expect(composer_error).to_have_text("")
    expect_texts(alice.page, ["First, delivered", text])
    expect_texts(bob.page, ["First, delivered", text])
    # A new message, not the refused one sent twice.
    assert len(sends) == 2 and sends[0] != sends[1], sends
