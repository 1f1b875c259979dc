"""Driving the chat page (/rooms/) as a user would, by its accessible names, for the chat browser tests.

Each person gets their own browser context (own cookies and IndexedDB: another device) and every WebSocket frame
their pages send or receive is recorded, so a test can look at exactly what crossed the wire.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, WebSocket, expect

from tests.browser.accounts import log_in, sign_up, unique_username

PASSWORD = "Correct horse & battery/staple+ünd 42"
# Decrypting a page of history, or a reconnect with backoff: seconds on a slow machine.
CHAT_TIMEOUT_MS = 20_000
EXPECT_TIMEOUT_MS = 10_000
PLAYWRIGHT_EXPECT_TIMEOUT_MS = 5_000  # Playwright's default, restored afterwards
ROOM_URL = re.compile(r"/rooms/([0-9a-f-]{36})/$")
SENT = re.compile(r"\bsent\b")
PENDING = re.compile(r"\bpending\b")
FAILED = re.compile(r"\bfailed\b")


@dataclass(frozen=True)
class Frame:
    direction: str  # "sent" (browser -> server) or "received"
    url: str
    payload: str

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.payload)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


@dataclass
class Person:
    """A signed-up user with one page in their own browser context."""

    username: str
    context: BrowserContext
    page: Page
    base_url: str
    frames: list[Frame] = field(default_factory=list)

    def chat_frames(self, direction: str | None = None) -> list[dict[str, Any]]:
        """The chat socket's frames, decoded, in the order they crossed (both directions unless told)."""
        return [
            f.json() for f in self.frames if "/ws/chat/" in f.url and (direction is None or f.direction == direction)
        ]


def record_frames(page: Page, frames: list[Frame]) -> None:
    """Record every WebSocket frame ``page`` sends or receives, from now on, in ``frames``."""

    def on_socket(ws: WebSocket) -> None:
        def text(payload: str | bytes) -> str:
            return payload if isinstance(payload, str) else payload.decode("utf-8", "replace")

        ws.on("framesent", lambda payload: frames.append(Frame("sent", ws.url, text(payload))))
        ws.on("framereceived", lambda payload: frames.append(Frame("received", ws.url, text(payload))))

    page.on("websocket", on_socket)


class People:
    """Makes signed-up people, each in a fresh browser context; closes every context at the end."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts: list[BrowserContext] = []

    def _person(self, username: str, base_url: str | None = None) -> Person:
        context = self.browser.new_context()
        self.contexts.append(context)
        page = context.new_page()
        person = Person(username=username, context=context, page=page, base_url=base_url or self.base_url)
        record_frames(page, person.frames)
        return person

    def sign_up(self, prefix: str, *, base_url: str | None = None) -> Person:
        """A new account, signed in, on the chat page."""
        person = self._person(unique_username(prefix), base_url)
        sign_up(person.page, person.base_url, person.username, PASSWORD)
        # Saving the recovery key leads to the chat page; let that navigation finish before going anywhere.
        expect(person.page).to_have_url(f"{person.base_url}/rooms/")
        person.page.wait_for_load_state()
        open_chat(person)
        return person

    def log_in(self, username: str, *, base_url: str | None = None) -> Person:
        """The same account from a fresh browser (nothing in IndexedDB yet), on the chat page."""
        person = self._person(username, base_url)
        log_in(person.page, person.base_url, username, PASSWORD)
        open_chat(person)
        return person

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    def __enter__(self) -> People:
        # Several browsers decrypting on a loaded machine: more patience than Playwright's default 5 s.
        expect.set_options(timeout=EXPECT_TIMEOUT_MS)
        return self

    def __exit__(self, *exc: object) -> None:
        expect.set_options(timeout=PLAYWRIGHT_EXPECT_TIMEOUT_MS)
        self.close()


# --- the page -------------------------------------------------------------------------------------------


def connection(page: Page) -> Locator:
    return page.locator("#connection")


def expect_connected(page: Page) -> None:
    expect(connection(page)).to_have_text("Connected", timeout=CHAT_TIMEOUT_MS)


def open_chat(person: Person, path: str = "/rooms/") -> None:
    person.page.goto(person.base_url + path)
    expect_connected(person.page)


# The chat page's socket, as Playwright's `route_web_socket` matches it.
CHAT_SOCKET = re.compile(r"/ws/chat/$")


def reconnect_through(person: Person, route: Any) -> None:
    """Reload the page with its chat socket through ``route`` (the test playing the server), and wait until it is
    connected."""
    person.page.route_web_socket(CHAT_SOCKET, route)
    person.page.reload()
    expect_connected(person.page)


def rooms_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Rooms")


def room_link(page: Page, name: str) -> Locator:
    """The room's link in the Rooms navigation: named by the room, then "N unread" while it has unread messages."""
    return rooms_nav(page).get_by_role("link", name=re.compile(rf"^{re.escape(name)}( \d+\+? unread.*)?$"))


def members(page: Page) -> Locator:
    return page.get_by_role("complementary", name="Members")


def member_items(page: Page) -> Locator:
    return members(page).get_by_role("listitem")


def member_item(page: Page, username: str) -> Locator:
    return member_items(page).filter(has=page.locator(".member-name", has_text=re.compile(f"^{re.escape(username)}$")))


def title(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def current_room_id(page: Page) -> str:
    match = ROOM_URL.search(page.url)
    assert match, f"not in a room: {page.url}"
    return match.group(1)


def create_room(person: Person, name: str, *, link: bool = False) -> str:
    """Creates a group room through the form; it opens. Returns its id."""
    page = person.page
    page.get_by_role("button", name="New room").click()
    page.get_by_label("Room name", exact=True).fill(name)
    if link:
        page.get_by_label("Anyone with the invite link can join").check()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(title(page)).to_have_text(name)
    expect(page).to_have_url(ROOM_URL)
    expect_transcript_loaded(page)
    return current_room_id(page)


def open_room(person: Person, name: str) -> str:
    """Opens a room from the Rooms list; returns its id."""
    page = person.page
    room_link(page, name).click()
    expect(title(page)).to_have_text(name)
    expect_transcript_loaded(page)
    return current_room_id(page)


def add_member(person: Person, username: str) -> None:
    page = person.page
    page.get_by_label("Add member", exact=True).fill(username)
    members(page).get_by_role("button", name="Add", exact=True).click()
    expect(member_item(page, username)).to_be_visible()


def invitations(page: Page) -> Locator:
    return rooms_nav(page).get_by_role("region", name="Invitations")


def invitation(page: Page, name: str) -> Locator:
    """The invitation (or direct request) shown as ``name``: the room's name, or the requester's."""
    return (
        invitations(page)
        .get_by_role("listitem")
        .filter(has=page.locator(".invitation-name", has_text=re.compile(f"^{re.escape(name)}$")))
    )


def accept_invitation(person: Person, name: str) -> str:
    """Once the invitation shows, accept it: the room opens. Returns its id."""
    page = person.page
    invitation(page, name).get_by_role("button", name="Accept invitation").click(timeout=CHAT_TIMEOUT_MS)
    expect(title(page)).to_have_text(name)
    expect_transcript_loaded(page)
    return current_room_id(page)


def share_room(owner: Person, member: Person, name: str) -> str:
    """The owner creates a group room and adds the member, who accepts the invitation (the room opens). Returns its
    id."""
    room_id = create_room(owner, name)
    add_member(owner, member.username)
    accept_invitation(member, name)
    return room_id


def pair_in_a_room(
    people: People, name: str, *, base_urls: tuple[str, str] | None = None
) -> tuple[Person, Person, str]:
    """Alice and bob, signed up through the pages, both in a new room that both have open."""
    alice = people.sign_up("alice", base_url=base_urls[0] if base_urls else None)
    bob = people.sign_up("bob", base_url=base_urls[1] if base_urls else None)
    return alice, bob, share_room(alice, bob, name)


def confirmation(page: Page) -> Locator:
    """The dialog that asks before a change to a room (leaving, removing, handing on, the invite link)."""
    return page.get_by_role("dialog")


def confirm(page: Page, button: str) -> None:
    """Answers the open confirmation with its ``button`` (the dialog goes)."""
    dialog = confirmation(page)
    dialog.get_by_role("button", name=button, exact=True).click()
    expect(dialog).to_have_count(0)


def remove_member(person: Person, username: str) -> None:
    page = person.page
    members(page).get_by_role("button", name=f"Remove {username}", exact=True).click()
    confirm(page, "Remove")
    expect(member_item(page, username)).to_have_count(0)


def leave_room(person: Person) -> None:
    """Leave the open room, confirming in the dialog."""
    person.page.get_by_role("button", name="Leave room").click()
    confirm(person.page, "Leave")


# --- the transcript -------------------------------------------------------------------------------------


def transcript(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation")


def messages(page: Page) -> Locator:
    return transcript(page).locator("article.message")


def texts(page: Page) -> Locator:
    """The text of every shown message, oldest first (failed ones have none)."""
    return messages(page).locator(".text")


def message(page: Page, text: str) -> Locator:
    """The message whose whole text is ``text``."""
    return messages(page).filter(has=page.locator(".text", has_text=re.compile(f"^{re.escape(text)}$")))


def warnings(page: Page) -> Locator:
    return messages(page).locator(".warning")


def transcript_texts(page: Page) -> list[str]:
    """Exactly what each shown message's text says (textContent, whitespace kept)."""
    return texts(page).evaluate_all("(nodes) => nodes.map((node) => node.textContent)")


def expect_transcript_loaded(page: Page) -> None:
    expect(page.locator("#history-status")).to_have_text("", timeout=CHAT_TIMEOUT_MS)


def send_message(person: Person, text: str, *, wait: bool = True) -> Locator:
    """Types ``text`` in the composer and presses Enter; waits until the server acknowledged it."""
    page = person.page
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    sent = message(page, text)
    if wait:
        expect(sent).to_have_class(SENT, timeout=CHAT_TIMEOUT_MS)
    return sent


def send_quickly(person: Person, room_id: str, texts_to_send: list[str]) -> None:
    """Sends through the page's chat client, one after the other (each waits for its ack), without typing."""
    person.page.evaluate(
        """async ([roomId, texts]) => {
            for (const text of texts) await window.securechat.client.send(roomId, text);
        }""",
        [room_id, texts_to_send],
    )


def expect_texts(page: Page, expected: list[str]) -> None:
    """The transcript shows exactly these texts, in this order, each once (and nothing else)."""
    expect(texts(page)).to_have_text(expected, timeout=CHAT_TIMEOUT_MS)
    assert transcript_texts(page) == expected


# --- the socket -----------------------------------------------------------------------------------------


def stop_socket(page: Page) -> None:
    """Close the chat socket and keep it closed until ``start_socket``."""
    page.evaluate("() => window.securechat.socket.stop()")
    expect(connection(page)).to_have_text(re.compile(r"^Offline"))


def start_socket(page: Page) -> None:
    page.evaluate("() => window.securechat.socket.start()")


def drop_socket(page: Page) -> None:
    """Cut the chat socket as a network fault would; it reconnects by itself."""
    page.evaluate("() => window.securechat.socket.drop()")


def frames_of_type(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [frame for frame in frames if frame.get("type") == kind or frame.get("op") == kind]


def wait_until(person: Person, condition: Callable[[], bool], what: str) -> None:
    """Waits for ``condition`` while the browser's events (recorded frames) keep arriving."""
    waited = 0
    while not condition():
        assert waited < CHAT_TIMEOUT_MS, f"{person.username}: {what} did not happen in time"
        person.page.wait_for_timeout(50)  # not a sleep: Playwright delivers frame events meanwhile
        waited += 50


def wait_for_frame(
    person: Person, matches: Callable[[dict[str, Any]], bool], *, count: int = 1, direction: str = "received"
) -> list[dict[str, Any]]:
    """Waits until ``count`` chat frames ``matches``; returns them."""

    def found() -> list[dict[str, Any]]:
        return [frame for frame in person.chat_frames(direction) if matches(frame)]

    wait_until(person, lambda: len(found()) >= count, f"{count} matching {direction} frames")
    return found()


def relayed_envelopes(person: Person, room_id: str | None = None) -> list[dict[str, Any]]:
    """Every envelope the server relayed to this person's pages (in ``messages`` frames), of one room if given."""
    frames = person.chat_frames("received")
    envelopes = [env for frame in frames if frame.get("type") == "messages" for env in frame["envelopes"]]
    return [env for env in envelopes if room_id is None or env["room"] == room_id]


def wait_for_envelopes(person: Person, room_id: str, count: int) -> list[dict[str, Any]]:
    """Waits until the server relayed ``count`` envelopes of the room to this person's pages; returns them."""
    wait_until(person, lambda: len(relayed_envelopes(person, room_id)) >= count, f"{count} relayed envelopes")
    return relayed_envelopes(person, room_id)


def sent_client_ids(person: Person) -> list[str]:
    """The client_id of every envelope this person's pages transmitted, resends included, in order."""
    return [frame["envelope"]["client_id"] for frame in person.chat_frames("sent") if frame.get("op") == "send"]


def user_id(person: Person) -> int:
    from accounts.models import User

    return User.objects.get(username=person.username).pk


def snapshot(page: Page, name: str) -> None:
    """A screenshot to look at, when CHAT_SCREENSHOTS names a directory (nothing otherwise)."""
    directory = os.environ.get("CHAT_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


# --- playing the server ---------------------------------------------------------------------------------


def rewritten_answer(mutate: Callable[[Any], None]) -> Callable[[Route], None]:
    """A route handler playing the server: the real answer, its JSON body changed in place by ``mutate``."""

    def handle(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        mutate(body)
        route.fulfill(response=answer, body=json.dumps(body))

    return handle


def served_identities(body: Any) -> list[dict[str, Any]]:
    """The identities in a key-directory answer: the list under ``keys`` (by ids), or the answer itself (by name)."""
    return [identity for identity in body.get("keys", [body]) if isinstance(identity, dict)]
