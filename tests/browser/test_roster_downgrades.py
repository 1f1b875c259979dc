"""Playing the malicious server where the signed roster is not (yet) in the page's hands: rooms presented as being from
before rosters, rooms the server makes up, keys it calls "retired", and names it relabels. From a review by an
adversary of the first version of signed rosters; each of these got a message wrapped for the server's account then.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Route, WebSocketRoute, expect

from accounts.models import KeyEvent, User
from accounts.tests.factories import identity_keys, reset_keys
from chat.models import Envelope, Membership, Room, RosterEntry
from chat.tests.factories import make_user
from tests import reference_roster as ref
from tests.browser.accounts import log_in, unique_username
from tests.browser.chat import (
    CHAT_SOCKET,
    CHAT_TIMEOUT_MS,
    PASSWORD,
    People,
    Person,
    accept_invitation,
    add_member,
    create_room,
    current_room_id,
    invitations,
    member_item,
    members,
    message,
    open_chat,
    pair_in_a_room,
    send_message,
    title,
    user_id,
)
from tests.browser.roster import (
    entries,
    expect_blocked,
    insert_membership,
    memberships,
    roster_warning,
    set_head,
    v1_signed_by,
    write_before_rosters,
)
from tests.browser.test_roster_attacks import ghost, sealed_for, stored_for, try_to_send, wrapped_for

pytestmark = pytest.mark.usefixtures("transactional_db")
REJECTED = re.compile(r"\brejected\b")


def reset_keys_off_the_page_thread(user: User) -> None:
    """The user resets their keys (as their browser would, with proof), from a thread of its own: Playwright's event
    loop runs in this one, and the reset's on-commit events are sent through ``async_to_sync``."""

    def reset() -> None:
        try:
            reset_keys(user)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(reset).result()


def fresh_login(people: People, username: str, route_socket: Any = None) -> Person:
    """The same account from a new device (nothing in its IndexedDB), the server's hand on its socket from the start."""
    person = people._person(username)
    if route_socket is not None:
        person.page.route_web_socket(CHAT_SOCKET, route_socket)
    log_in(person.page, person.base_url, username, PASSWORD)
    open_chat(person)
    return person


def rewriting(rewrite: Any) -> Any:
    """A socket route that passes every frame through, the server's frames through ``rewrite``."""

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda text: ws.send(json.dumps(rewrite(json.loads(text)))))
        ws.on_message(lambda text: server.send(text))

    return route


def as_legacy_frame(frame: dict[str, Any], room_id: str, name: str, extra: list[dict[str, Any]]) -> dict[str, Any]:
    """A server frame in which a room with a signed roster reads as one from before rosters: no head, a name, and
    ``extra`` members."""
    rooms = frame.get("rooms", []) + ([frame["room"]] if isinstance(frame.get("room"), dict) else [])
    for room in rooms:
        if room.get("id") == room_id and "members" in room:
            room["roster"], room["name"] = None, name
            room["members"] = room["members"] + [m for m in extra if m not in room["members"]]
    return frame


def as_legacy(room_id: str, name: str, extra: list[dict[str, Any]]) -> Any:
    """The server presents a room that has a signed roster as one from before rosters: no head, a name, one more."""
    return rewriting(lambda frame: as_legacy_frame(frame, room_id, name, extra))


def expect_refused(person: Person, text: str) -> None:
    """The page refuses to send ``text`` (nothing leaves it)."""
    try_to_send(person, text)
    expect(message(person.page, text)).to_have_class(REJECTED, timeout=CHAT_TIMEOUT_MS)


def test_an_entry_signed_with_an_old_key_the_server_made_up_adds_no_reader(people: People) -> None:
    """The server claims alice's real key is her third, serves a "second" key of its own in her history (the version
    is not signed: the same keys, fingerprint and safety number), and appends "alice added ghost" signed with it."""
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    intruder = ghost()
    alice_id = user_id(alice)
    real = User.objects.get(pk=alice_id).identity
    real_signing = base64.b64encode(bytes(real.signing_public_key)).decode()

    def keys(route: Route) -> None:
        answer = route.fetch().json()
        for served in answer.get("keys", []):
            if served["id"] == alice_id:
                served["key_version"] = 3
        route.fulfill(json=answer)

    def history(route: Route) -> None:
        if f"id={alice_id}" not in route.request.url:
            route.continue_()
            return
        fake = base64.b64encode(bytes(intruder.identity.signing_public_key)).decode()
        versions = [real_signing, fake, real_signing]
        route.fulfill(
            json={
                "id": alice_id,
                "keys": [{"key_version": v + 1, "signing_public_key": k} for v, k in enumerate(versions)],
            }
        )

    bob.context.route(re.compile(r"/api/keys\?ids="), keys)
    bob.context.route(re.compile(r"/api/key-history\?"), history)
    room_id = create_room(alice, "Old keys")
    add_member(alice, bob.username)

    head = entries(room_id)[-1]
    current = {m.user_id: m.user.identity for m in Membership.objects.filter(room_id=room_id, left_at__isnull=True)}
    current[intruder.pk] = intruder.identity
    body = ref.member_body(
        "add",
        room=room_id,
        seq=head.seq + 1,
        prev=base64.b64encode(bytes(head.hash)).decode(),
        at=int(time.time() * 1000),
        actor=alice_id,
        actor_key=2,
        member=(intruder.pk, 1),
    )
    text = ref.canonical_body({**body, "meta": sealed_for(body, current)})
    forged, _ = identity_keys(intruder.username)
    RosterEntry.objects.create(
        room_id=room_id, seq=head.seq + 1, hash=ref.entry_hash(text), body=text,
        signature=forged.sign(ref.signed_bytes(text)), actor_id=alice_id, op="add", after=0,
    )  # fmt: skip
    insert_membership(room_id, intruder.pk)
    set_head(room_id)

    # The entry that admitted bob names alice's real key as her first; bob's browser knows her (real) key only as the
    # third the server claimed: a key from the server's record may not vouch for it, nor for anything after it.
    # Bob's page will not even let him accept the invitation...
    offered = invitations(bob.page)
    expect(offered).to_contain_text("its member list does not verify", timeout=CHAT_TIMEOUT_MS)
    expect(offered.get_by_role("button", name="Accept invitation")).to_be_disabled()
    # ...but the server needs no consent of his to make the room one of his: it marks the invitation accepted.
    Membership.objects.filter(room_id=room_id, user_id=user_id(bob)).update(accepted_at=timezone.now())
    open_chat(bob, f"/rooms/{room_id}/")
    expect_blocked(bob.page)
    expect_refused(bob, "Anyone else?")
    assert intruder.pk not in wrapped_for(bob, room_id)
    assert stored_for(room_id, intruder) == 0


def test_a_signed_room_presented_as_one_from_before_rosters_to_a_new_device_is_refused(people: People) -> None:
    alice, bob, room_id = pair_in_a_room(people, "Downgraded")
    send_message(alice, "Signed and sealed")
    intruder = ghost()
    extra = [{"id": intruder.pk, "username": intruder.username}]
    # Bob logs in on a new device; the server sends the room without its head, with a name and one more member.
    laptop = fresh_login(people, bob.username, as_legacy(room_id, "Downgraded", extra))
    open_chat(laptop, f"/rooms/{room_id}/")
    expect_blocked(laptop.page)
    expect_refused(laptop, "Hello from my new laptop")
    assert intruder.pk not in wrapped_for(laptop, room_id)
    # Nor does the owner's new device offer to sign the server's list.
    desk = fresh_login(people, alice.username, as_legacy(room_id, "Downgraded", extra))
    open_chat(desk, f"/rooms/{room_id}/")
    expect_blocked(desk.page)
    expect(desk.page.get_by_role("button", name="Sign member list")).to_be_hidden()
    assert not [f for f in desk.chat_frames("sent") if f.get("op") == "append"]


def test_a_room_the_server_makes_up_without_a_roster_gets_no_message_and_no_signature(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    intruder = ghost()
    room = Room.objects.create(legacy_name="Team", kind=Room.Kind.GROUP, owner_id=user_id(alice))
    for uid in (user_id(alice), user_id(bob), intruder.pk):
        Membership.objects.create(room=room, user_id=uid)
    # No message in it was ever signed for it: nothing shows it is a room from before rosters.
    expect_neither_sent_nor_signed(alice, room)
    assert Envelope.objects.filter(room=room).count() == 0


def test_a_direct_room_from_before_rosters_with_a_third_member_is_not_verified_and_gets_nothing(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    create_room(alice, "To verify bob")
    add_member(alice, bob.username)
    member_item(alice.page, bob.username).get_by_role("button", name="Verify").click()
    alice.page.get_by_role("button", name="Mark as verified").click()
    expect(member_item(alice.page, bob.username).locator(".badge-verified")).to_be_visible()

    intruder = ghost()
    room = Room.objects.create(kind=Room.Kind.DIRECT, legacy_name="")
    for uid in (user_id(alice), user_id(bob), intruder.pk):
        Membership.objects.create(room=room, user_id=uid)
    open_chat(alice, f"/rooms/{room.id}/")
    expect_blocked(alice.page)
    expect(title(alice.page).locator(".badge-verified")).to_have_count(0)
    expect_refused(alice, "Just between us")
    assert intruder.pk not in wrapped_for(alice, str(room.id))


def test_talking_privately_with_a_verified_contact_never_lands_in_a_room_the_server_made_up(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    alice.page.get_by_label("Talk privately with").fill(bob.username)
    alice.page.get_by_role("button", name="Start conversation").click()
    expect(title(alice.page)).to_have_text(bob.username)
    real = str(Room.objects.get(kind=Room.Kind.DIRECT, memberships__user__username=alice.username).pk)
    send_message(alice, "Our signed conversation")
    members(alice.page).get_by_role("button", name="Verify").click()
    alice.page.get_by_role("button", name="Mark as verified").click()
    expect(title(alice.page)).to_have_text(f"{bob.username} verified")

    # A "direct room from before rosters" of alice, bob and the server's account; the real one left out of her frames.
    intruder = ghost()
    fake = Room.objects.create(kind=Room.Kind.DIRECT, legacy_name="")
    for uid in (user_id(alice), user_id(bob), intruder.pk):
        Membership.objects.create(room=fake, user_id=uid)

    def hide_real(frame: dict[str, Any]) -> dict[str, Any]:
        if "rooms" in frame:
            frame["rooms"] = [room for room in frame["rooms"] if room["id"] != real]
        return frame

    alice.page.route_web_socket(CHAT_SOCKET, rewriting(hide_real))
    open_chat(alice)
    alice.page.get_by_label("Talk privately with").fill(bob.username)
    alice.page.get_by_role("button", name="Start conversation").click()
    # The server answers that the pair's conversation exists: the page opens that one, the real, verified room.
    expect(title(alice.page)).to_have_text(f"{bob.username} verified", timeout=CHAT_TIMEOUT_MS)
    assert current_room_id(alice.page) == real
    assert not [f for f in alice.chat_frames("sent")[1:] if f.get("op") == "send" and f.get("room") == str(fake.id)]
    assert stored_for(str(fake.id), intruder) == 0


def test_the_server_cannot_relabel_a_member_with_someone_elses_name(people: People) -> None:
    alice, bob, room_id = pair_in_a_room(people, "Who is who")
    dave = people.sign_up("dave")
    bob_id = user_id(bob)

    def rename(frame: dict[str, Any]) -> dict[str, Any]:
        rooms = frame.get("rooms", []) + ([frame["room"]] if isinstance(frame.get("room"), dict) else [])
        for room in rooms:
            for member in room.get("members", []):
                if member["id"] == bob_id:
                    member["username"] = dave.username
        return frame

    alice.page.route_web_socket(CHAT_SOCKET, rewriting(rename))
    open_chat(alice, f"/rooms/{room_id}/")
    expect(members(alice.page).locator(".member-name")).to_have_text([alice.username, bob.username])
    expect(alice.page.locator(".roster-line .line-text")).to_have_text(
        ["You created the room", f"You added {bob.username}"]
    )


# --- a second review: what the first round's fixes still let through --------------------------------------------


def test_a_name_pinned_for_one_person_is_never_given_to_another_account(people: People) -> None:
    """The server answers "who is bob?" with an account of its own under bob's name: alice has bob pinned (and
    verified), so the name is refused, not pinned for a second account."""
    alice, bob, _ = pair_in_a_room(people, "First room")
    member_item(alice.page, bob.username).get_by_role("button", name="Verify").click()
    alice.page.get_by_role("button", name="Mark as verified").click()
    expect(member_item(alice.page, bob.username).locator(".badge-verified")).to_be_visible()
    intruder = ghost()

    def by_name(route: Route) -> None:
        answer = route.fetch(url=route.request.url.replace(bob.username, intruder.username)).json()
        answer["username"] = bob.username
        route.fulfill(json=answer)

    def by_ids(route: Route) -> None:
        answer = route.fetch().json()
        for served in answer.get("keys", []):
            if served["id"] == intruder.pk:
                served["username"] = bob.username
        route.fulfill(json=answer)

    alice.context.route(re.compile(rf"/api/keys/{re.escape(bob.username)}$"), by_name)
    alice.context.route(re.compile(r"/api/keys\?ids="), by_ids)
    room_id = create_room(alice, "Second room")
    alice.page.get_by_label("Add member", exact=True).fill(bob.username)
    members(alice.page).get_by_role("button", name="Add", exact=True).click()
    expect(alice.page.locator("#add-member-error")).to_contain_text("another account", timeout=CHAT_TIMEOUT_MS)
    appended = [f for f in alice.chat_frames("sent") if f.get("op") == "append" and f.get("room") == room_id]
    assert all(intruder.pk not in [m for m, _ in json.loads(f["entry"]["body"])["members"]] for f in appended)


def test_a_made_up_room_with_a_message_signed_by_the_servers_own_account_gets_nothing(people: People) -> None:
    """The server's own account signs a v1 "welcome" for the made-up room's id: a genuine signature, but not one that
    shows the room is alice's from before rosters (only a message she wrote there does)."""
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    intruder = ghost()
    room = Room.objects.create(legacy_name="Team", kind=Room.Kind.GROUP, owner_id=user_id(alice))
    cast = [User.objects.get(username=alice.username), User.objects.get(username=bob.username), intruder]
    memberships(room, cast)
    v1_signed_by(intruder, str(room.id), cast, "Welcome to the team")
    expect_neither_sent_nor_signed(alice, room)


def test_a_member_added_after_a_room_was_signed_is_not_shown_it_as_one_from_before_rosters(people: People) -> None:
    """Carol joins a room signed after the fact; the server shows it to her without its roster and with one member
    more, and serves her the old v1 messages: none of them hers, so her browser writes nothing there."""
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    intruder = ghost()
    room = Room.objects.create(legacy_name="Old team", kind=Room.Kind.GROUP, owner_id=user_id(alice))
    memberships(room, [User.objects.get(username=p.username) for p in (alice, bob)])
    room_id = str(room.id)
    for person in (alice, bob):
        write_before_rosters(room_id, person, [alice, bob], f"{person.username} before rosters")
    open_chat(alice, f"/rooms/{room_id}/")
    expect(message(alice.page, f"{alice.username} before rosters")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    alice.page.get_by_role("button", name="Sign member list").click()
    expect(alice.page.locator("#room-kind")).not_to_contain_text("not yet signed", timeout=CHAT_TIMEOUT_MS)
    add_member(alice, carol.username)
    accept_invitation(carol, "Old team")
    Membership.objects.filter(room=room, user__username=carol.username).update(joined_after=0)
    extra = [{"id": intruder.pk, "username": intruder.username}]

    def unsigned(frame: dict[str, Any]) -> dict[str, Any]:
        if frame.get("type") == "roster" and frame.get("room") == room_id:
            frame["entries"] = []  # the chain is never shown to her
        return as_legacy_frame(frame, room_id, "Old team", extra)

    carol.page.route_web_socket(CHAT_SOCKET, rewriting(unsigned))
    open_chat(carol, f"/rooms/{room_id}/")
    expect(roster_warning(carol.page)).to_contain_text("members no one added", timeout=CHAT_TIMEOUT_MS)
    expect_refused(carol, "Hi all, carol here")
    assert intruder.pk not in wrapped_for(carol, room_id)


def test_a_room_signed_in_a_contacts_name_with_an_old_key_the_server_made_up_is_refused(people: People) -> None:
    """Alice really reset her keys once; bob knows and verified her current key. The server puts a key of its own in
    her key history as her first one, and signs a room "created by alice" with it, naming bob and its own account.
    The entry that admits bob must verify under keys bob pinned: it is refused."""
    bob = people.sign_up("bob")
    alice_name = unique_username("alice")
    alice = make_user(alice_name)
    reset_keys_off_the_page_thread(alice)
    alice.refresh_from_db()
    intruder = ghost()
    bob.page.get_by_label("Talk privately with").fill(alice_name)
    bob.page.get_by_role("button", name="Start conversation").click()
    expect(title(bob.page)).to_have_text(alice_name, timeout=CHAT_TIMEOUT_MS)
    forged = Ed25519PrivateKey.generate()
    KeyEvent.objects.filter(user=alice, key_version=1).update(
        signing_public_key=forged.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    bob_user = User.objects.get(username=bob.username)
    room_id = str(uuid.uuid4())
    cast = [alice, bob_user, intruder]
    body = ref.create_body(
        room=room_id, at=int(time.time() * 1000), actor=alice.pk, actor_key=1, kind="group",
        members=[(alice.pk, 2), (bob_user.pk, 1), (intruder.pk, 1)],
    )  # fmt: skip
    text = ref.canonical_body({**body, "meta": sealed_for(body, {user.pk: user.identity for user in cast})})
    digest = ref.entry_hash(text)
    room = Room.objects.create(id=room_id, kind=Room.Kind.GROUP, owner=alice, roster_seq=0, roster_head=digest)
    memberships(room, cast)
    RosterEntry.objects.create(
        room=room, seq=0, hash=digest, body=text, signature=forged.sign(ref.signed_bytes(text)),
        actor=alice, op="create", after=0,
    )  # fmt: skip
    open_chat(bob, f"/rooms/{room_id}/")
    expect_blocked(bob.page)
    expect_refused(bob, "Hi alice, what's the plan?")
    assert intruder.pk not in wrapped_for(bob, room_id)


def expect_neither_sent_nor_signed(alice: Person, room: Room) -> None:
    """Alice opens the room the server made up: a blocking warning, her message refused, and "Sign member list"
    refused too; no send or append frame leaves her page and the room gets no roster."""
    open_chat(alice, f"/rooms/{room.id}/")
    expect(roster_warning(alice.page)).to_contain_text("members no one added", timeout=CHAT_TIMEOUT_MS)
    expect_refused(alice, "Hello team")
    alice.page.get_by_role("button", name="Sign member list").click()
    expect(alice.page.locator("#room-error")).to_contain_text("members no one added")
    assert not [f for f in alice.chat_frames("sent") if f.get("op") in ("send", "append")]
    assert not room.roster_entries.exists()
