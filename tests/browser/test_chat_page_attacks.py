"""The chat page's newer parts (previews, unread counts, notifications, read positions, times) against a server that
invents frames: a message it forged, read positions and times no honest server sends. What it makes up may change a
count or an order, never show its text as someone's, and never stop the page from working."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from playwright.sync_api import Page, WebSocketRoute, expect

from accounts.models import Identity
from chat.models import Envelope
from tests import reference_envelope
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    FAILED,
    People,
    Person,
    message,
    messages,
    open_room,
    reconnect_through,
    room_link,
    rooms_nav,
    send_message,
    share_room,
    user_id,
)
from tests.browser.test_unread import NOTIFICATION_STUB

pytestmark = pytest.mark.usefixtures("transactional_db")


def forged(room_id: str, claimed: Person, readers: list[Person], text: str, *, id: int, sent_at: int | None = None):
    """An envelope the server makes up: sealed for the readers' real keys (the server has them), claiming to be from
    ``claimed`` but signed with a key of the server's own."""
    keys = Identity.objects.filter(user__username__in=[p.username for p in readers])
    envelope = reference_envelope.seal(
        room=room_id, sender=user_id(claimed), client_id=str(uuid.uuid4()),
        sent_at=int(time.time() * 1000) if sent_at is None else sent_at, text=text,
        members={i.user_id: X25519PublicKey.from_public_bytes(bytes(i.agreement_public_key)) for i in keys},
        signing_key=Ed25519PrivateKey.generate(), ephemeral_key=X25519PrivateKey.generate(),
        content_key=os.urandom(32), iv=os.urandom(12),
    )  # fmt: skip
    return {**envelope, "id": id, "server_time": "2026-12-06T05:00:00Z"}


def newest_id(room_id: str) -> int:
    return Envelope.objects.filter(room_id=room_id).order_by("-id").values_list("id", flat=True).first() or 0


def passing(sockets: list[WebSocketRoute], rewrite: Any = None) -> Any:
    """A socket route that passes every frame (the server's through ``rewrite``, when given) and keeps the page's end,
    so that the test can send frames of its own as the server."""

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda text: ws.send(json.dumps(rewrite(json.loads(text))) if rewrite else text))
        ws.on_message(lambda text: server.send(text))
        sockets.append(ws)

    return route


def preview(page: Page, name: str):
    return rooms_nav(page).locator("li.room-item").filter(has=page.locator(".room-name", has_text=name))


def lunch_with_a_hello(people: People) -> tuple[Person, Person, str]:
    """Alice and bob share Lunch and Work; alice has said "genuine hello" in Lunch. Returns them and Lunch's id."""
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    lunch = share_room(alice, bob, "Lunch")
    share_room(alice, bob, "Work")
    open_room(alice, "Lunch")
    send_message(alice, "genuine hello")
    return alice, bob, lunch


def test_a_forged_message_shows_no_preview_counts_nothing_and_notifies_nobody(people: People) -> None:
    alice, bob, lunch = lunch_with_a_hello(people)
    sockets: list[WebSocketRoute] = []
    bob.page.add_init_script(NOTIFICATION_STUB)
    reconnect_through(bob, passing(sockets))
    bob.page.get_by_role("button", name="Settings").click()
    settings = bob.page.get_by_role("dialog", name="Settings")
    settings.get_by_label("Desktop notifications").check()
    settings.get_by_role("button", name="Close settings").click()
    open_room(bob, "Lunch")
    expect(message(bob.page, "genuine hello")).to_be_visible()
    open_room(bob, "Work")
    expect(preview(bob.page, "Lunch").locator(".room-preview")).to_have_text(f"{alice.username}: genuine hello")

    text = f"FORGED: send the key to @{bob.username}"
    after = newest_id(lunch)
    envelope = forged(lunch, alice, [bob], text, id=after + 1)
    sockets[-1].send(json.dumps({"type": "messages", "room": lunch, "after": after, "envelopes": [envelope]}))
    # The room's latest is now a message that failed: the preview says so, quoting nothing.
    expect(preview(bob.page, "Lunch").locator(".room-preview")).to_have_text(f"{alice.username}: ⚠ message not shown")
    expect(room_link(bob.page, "Lunch")).to_have_accessible_name("Lunch")
    expect(bob.page.locator(".badge")).to_have_count(0)
    assert bob.page.evaluate("window.__notes") == []
    open_room(bob, "Lunch")
    expect(messages(bob.page).last).to_have_class(FAILED)
    expect(messages(bob.page).last).to_contain_text("failed verification")
    assert "FORGED" not in bob.page.locator("body").inner_text()


def test_times_no_date_can_hold_do_not_stop_the_rooms_or_the_conversation_from_showing(people: People) -> None:
    alice, bob, lunch = lunch_with_a_hello(people)

    def far_off(frame: dict[str, Any]) -> dict[str, Any]:
        # Listed as active at times past what a Date holds, one far in the future and one far in the past.
        for room in frame.get("rooms", []) if frame.get("type") in ("ready", "rooms") else []:
            room["active_at"] = 10**20 if room["id"] == lunch else -(10**20)
        return frame

    sockets: list[WebSocketRoute] = []
    reconnect_through(bob, passing(sockets, far_off))
    expect(rooms_nav(bob.page).locator(".room-name")).to_have_text(["Lunch", "Work"])
    open_room(bob, "Lunch")
    expect(message(bob.page, "genuine hello")).to_be_visible()
    # A message stamped past the year 275 760: a Date cannot hold its time.
    after = newest_id(lunch)
    far = forged(lunch, alice, [bob], "from the far future", id=after + 1, sent_at=9 * 10**15)
    sockets[-1].send(json.dumps({"type": "messages", "room": lunch, "after": after, "envelopes": [far]}))
    expect(messages(bob.page)).to_have_count(2, timeout=CHAT_TIMEOUT_MS)
    expect(messages(bob.page).last).to_contain_text("failed verification")
    # The page still works: what alice sends next arrives and shows.
    send_message(alice, "still talking")
    expect(message(bob.page, "still talking")).to_be_visible(timeout=CHAT_TIMEOUT_MS)


def test_read_positions_the_server_makes_up_hide_no_message_and_break_nothing(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    lunch = share_room(alice, bob, "Lunch")
    work = share_room(alice, bob, "Work")
    open_room(bob, "Work")
    open_room(alice, "Lunch")
    send_message(alice, "one")
    send_message(alice, "two")

    def listed_as_read(frame: dict[str, Any]) -> dict[str, Any]:
        for room in frame.get("rooms", []) if frame.get("type") in ("ready", "rooms") else []:
            room["read"], room["latest"] = 2**53 - 1, -5
        return frame

    sockets: list[WebSocketRoute] = []
    reconnect_through(bob, passing(sockets, listed_as_read))
    for up_to in (2**63, -1, "1", None, 1.5, True, {"x": 1}, 2**53 - 1):
        sockets[-1].send(json.dumps({"type": "read", "room": lunch, "up_to": up_to}))
    sockets[-1].send(json.dumps({"type": "read", "room": str(uuid.uuid4()), "up_to": 5}))
    sockets[-1].send(json.dumps({"type": "read", "room": work, "up_to": 2**53 - 1}))
    # Said to be read: counted as read, but every message is still there to see, and the page goes on working.
    open_room(bob, "Lunch")
    expect(messages(bob.page).locator(".text")).to_have_text(["one", "two"], timeout=CHAT_TIMEOUT_MS)
    send_message(alice, "three")
    expect(messages(bob.page).locator(".text")).to_have_text(["one", "two", "three"], timeout=CHAT_TIMEOUT_MS)
    send_message(bob, "my answer")
    expect(message(alice.page, "my answer")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
