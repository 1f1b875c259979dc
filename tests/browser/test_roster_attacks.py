"""Playing the malicious server against membership, with the genuine JavaScript: rows inserted and edited under the
honest server code, and frames rewritten between the page and the server. Whatever the server does, no envelope is
ever wrapped for someone no member added, and the page says so in the room ("members no one added").
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from playwright.sync_api import Page, WebSocketRoute, expect

from accounts.models import Identity, User
from accounts.tests.factories import identity_keys
from chat.models import Envelope, Membership, Room, RosterEntry
from chat.tests.factories import make_user
from tests import reference_roster as ref
from tests.browser.accounts import unique_username
from tests.browser.chat import (
    CHAT_SOCKET,
    CHAT_TIMEOUT_MS,
    FAILED,
    People,
    Person,
    accept_invitation,
    add_member,
    confirm,
    expect_connected,
    message,
    open_room,
    pair_in_a_room,
    room_link,
    send_message,
    title,
    user_id,
)
from tests.browser.roster import (
    entries,
    expect_blocked,
    insert_membership,
    invite_link,
    roster_warning,
    set_head,
    store_as_is,
)

pytestmark = pytest.mark.usefixtures("transactional_db")


def ghost() -> User:
    """An account of the server's choosing, whose keys the server holds."""
    return make_user(unique_username("ghost"))


def wrapped_for(person: Person, room_id: str) -> set[int]:
    """Everyone any envelope this person's pages transmitted to the room was wrapped for."""
    sent = [f["envelope"] for f in person.chat_frames("sent") if f.get("op") == "send" and f.get("room") == room_id]
    return {member for envelope in sent for member in envelope["wrap_ids"]}


def stored_for(room_id: str, user: User) -> int:
    return sum(user.pk in envelope.wrap_ids for envelope in Envelope.objects.filter(room_id=room_id))


def try_to_send(person: Person, text: str) -> None:
    person.page.get_by_label("Message", exact=True).fill(text)
    person.page.get_by_label("Message", exact=True).press("Enter")


def test_a_membership_row_inserted_into_a_group_room_is_never_wrapped_for(people: People) -> None:
    alice, bob, room_id = pair_in_a_room(people, "Garden plans")
    send_message(alice, "Only the two of us")
    extra = ghost()
    insert_membership(room_id, extra.pk)

    # Alice's send is refused (the server's list has three); her browser reads the chain again and will not wrap for
    # an account no member added.
    try_to_send(alice, "Who else is here?")
    expect_blocked(alice.page)
    expect(roster_warning(alice.page)).to_contain_text("Garden plans")
    expect(message(alice.page, "Who else is here?")).not_to_have_class(re.compile(r"\bsent\b"))
    # After a reload the server's own list gives the ghost away at once.
    bob.page.reload()
    expect_connected(bob.page)
    open_room(bob, "Garden plans")
    expect_blocked(bob.page)

    assert extra.pk not in wrapped_for(alice, room_id) | wrapped_for(bob, room_id)
    assert stored_for(room_id, extra) == 0


def test_a_membership_row_inserted_into_a_direct_room_takes_its_verified_badge_and_nothing_is_sent(
    people: People,
) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    alice.page.get_by_label("Talk privately with").fill(bob.username)
    alice.page.get_by_role("button", name="Start conversation").click()
    expect(title(alice.page)).to_have_text(bob.username)
    room_id = Room.objects.get(kind=Room.Kind.DIRECT, memberships__user__username=alice.username).pk
    send_message(alice, "Just us")
    alice.page.get_by_role("complementary", name="Members").get_by_role("button", name="Verify").click()
    alice.page.get_by_role("button", name="Mark as verified").click()
    expect(title(alice.page)).to_have_text(f"{bob.username} verified")

    extra = ghost()
    insert_membership(str(room_id), extra.pk)
    alice.page.reload()
    expect_connected(alice.page)
    expect(title(alice.page)).to_have_text(bob.username, timeout=CHAT_TIMEOUT_MS)
    expect_blocked(alice.page)
    try_to_send(alice, "Are we alone?")
    expect(message(alice.page, "Are we alone?")).to_have_class(re.compile(r"\brejected\b"), timeout=CHAT_TIMEOUT_MS)
    assert extra.pk not in wrapped_for(alice, str(room_id))
    assert stored_for(str(room_id), extra) == 0


def hide_member(page: Page, user: int) -> None:
    """The server leaves ``user`` out of every frame it sends this page, while its tables list them."""

    def strip(frame: dict[str, Any]) -> dict[str, Any]:
        rooms = frame.get("rooms", []) + ([frame["room"]] if isinstance(frame.get("room"), dict) else [])
        for room in rooms:
            room["members"] = [m for m in room.get("members", []) if m["id"] != user]
        if "online" in frame:
            frame["online"] = [u for u in frame["online"] if u != user]
        if "members" in frame:
            frame["members"] = [m for m in frame["members"] if m["id"] != user]
        return frame

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda text: ws.send(json.dumps(strip(json.loads(text)))))
        ws.on_message(lambda text: server.send(text))

    page.route_web_socket(CHAT_SOCKET, route)


def test_an_extra_member_hidden_from_every_frame_is_still_never_wrapped_for(people: People) -> None:
    alice, bob, room_id = pair_in_a_room(people, "Hidden guest")
    extra = ghost()
    insert_membership(room_id, extra.pk)
    hide_member(alice.page, extra.pk)
    alice.page.reload()
    expect_connected(alice.page)
    open_room(alice, "Hidden guest")
    try_to_send(alice, "Is anyone listening?")
    expect(message(alice.page, "Is anyone listening?")).to_have_class(
        re.compile(r"\brejected\b"), timeout=CHAT_TIMEOUT_MS
    )
    sends = [f for f in alice.chat_frames("sent") if f.get("op") == "send"]
    assert sends, "alice's browser tried to send"
    assert all(f["envelope"]["wrap_ids"] == sorted([user_id(alice), user_id(bob)]) for f in sends)
    assert stored_for(room_id, extra) == 0


def three_in_a_room(people: People, name: str) -> tuple[Person, Person, Person, str]:
    alice, bob, room_id = pair_in_a_room(people, name)
    carol = people.sign_up("carol")
    add_member(alice, carol.username)
    accept_invitation(carol, name)
    return alice, bob, carol, room_id


def alter(room_id: str) -> None:
    """Carol's addition rewritten to add the server's own account; the signature left as it was."""
    entry = entries(room_id)[2]
    body = json.loads(entry.body)
    body["members"] = [[ghost().pk, 1]]
    entry.body = ref.canonical_body(body)
    entry.save(update_fields=["body"])


def forge(room_id: str) -> None:
    """A new entry: the owner 'adds' the server's account, signed with a key the server holds."""
    extra = ghost()
    forge_entry(room_id, "add", actor=Room.objects.get(id=room_id).owner, admits=extra, signer=extra)


def forge_entry(room_id: str, op: str, *, actor: User, admits: User, signer: User, link: bytes | None = None) -> None:
    """What a server that wants a reader does with the keys it holds: an entry after the head that lets ``admits``
    in, its name sealed for them too, signed with ``signer``'s key (and a join's link part with a key of its own,
    since it never has the link's), stored as the room's head with a membership row."""
    head = entries(room_id)[-1]
    members = {m.user_id: m.user.identity for m in Membership.objects.filter(room_id=room_id, left_at__isnull=True)}
    members[admits.pk] = admits.identity
    body = ref.member_body(
        op,
        room=room_id,
        seq=head.seq + 1,
        prev=base64.b64encode(bytes(head.hash)).decode(),
        at=int(time.time() * 1000),
        actor=actor.pk,
        actor_key=actor.identity.key_version,
        member=(admits.pk, 1),
        link=base64.b64encode(link).decode() if link else "",
    )
    text = ref.canonical_body({**body, "meta": sealed_for(body, members, link=link is not None)})
    signing, _ = identity_keys(signer.username)
    RosterEntry.objects.create(
        room_id=room_id,
        seq=head.seq + 1,
        hash=ref.entry_hash(text),
        body=text,
        signature=signing.sign(ref.signed_bytes(text)),
        link_signature=Ed25519PrivateKey.generate().sign(ref.signed_bytes(text)) if link else b"",
        actor=actor,
        op=op,
        after=0,
    )
    insert_membership(room_id, admits.pk)
    set_head(room_id)


def sealed_for(body: dict[str, Any], members: dict[int, Identity], link: bool = False) -> dict[str, Any]:
    """A meta the server makes up: it cannot know the name, but it can seal something for whom it likes."""
    keys: dict[int, X25519PublicKey] = {
        member: X25519PublicKey.from_public_bytes(bytes(identity.agreement_public_key))
        for member, identity in members.items()
    }
    meta = ref.seal_meta(
        body,
        name="whatever",
        members=keys,
        ephemeral_key=X25519PrivateKey.generate(),
        content_key=os.urandom(32),
        iv=os.urandom(12),
    )
    if link:
        meta["link_wrap"] = base64.b64encode(os.urandom(40)).decode()
    return meta


def drop(room_id: str) -> None:
    """Bob's addition deleted: carol's entry no longer follows the room's creation."""
    entries(room_id)[1].delete()


def reorder(room_id: str) -> None:
    """Bob's and carol's additions served in the other order."""
    first, second = entries(room_id)[1:3]
    RosterEntry.objects.filter(pk=first.pk).update(seq=-1)
    RosterEntry.objects.filter(pk=second.pk).update(seq=1)
    RosterEntry.objects.filter(pk=first.pk).update(seq=2)


def truncate(room_id: str) -> None:
    """The chain served without its last entry (carol's addition), as if it had never been made."""
    entries(room_id)[-1].delete()
    set_head(room_id)


@pytest.mark.parametrize("edit", [alter, forge, drop, reorder, truncate], ids=lambda edit: edit.__name__)
def test_a_roster_edited_in_the_database_is_caught_by_a_member_who_had_verified_it(
    people: People, edit: Callable[[str], None]
) -> None:
    _alice, bob, _carol, room_id = three_in_a_room(people, "Tampered")
    # Bob's browser verified the chain of three entries (and remembers its head).
    expect(bob.page.get_by_role("complementary", name="Members").get_by_role("listitem")).to_have_count(
        3, timeout=CHAT_TIMEOUT_MS
    )
    edit(room_id)
    # By its address: with the chain broken where bob was added, his browser may not be able to read the name.
    bob.page.goto(f"{bob.base_url}/rooms/{room_id}/")
    expect_connected(bob.page)
    expect_blocked(bob.page)
    before = len([f for f in bob.chat_frames("sent") if f.get("op") == "send"])
    try_to_send(bob, "Still safe?")
    expect(message(bob.page, "Still safe?")).to_have_class(re.compile(r"\brejected\b"), timeout=CHAT_TIMEOUT_MS)
    assert len([f for f in bob.chat_frames("sent") if f.get("op") == "send"]) == before, "nothing left bob's browser"


def test_two_different_entries_after_the_same_head_are_caught_as_a_fork(people: People) -> None:
    alice, bob, room_id = pair_in_a_room(people, "Forked")
    carol, dave = people.sign_up("carol"), people.sign_up("dave")
    # Alice's browser signs two different next entries (as two of her tabs could, racing); the server stores one,
    # shows bob the other.
    ids = [user_id(carol), user_id(dave)]
    made = alice.page.evaluate(
        """async ([roomId, ids, names]) => {
            const { makeEntry } = await import("/static/js/roster/changes.js");
            const client = window.securechat.client;
            await client.rosters.settled(roomId);
            const room = client.rosters.rooms.get(roomId);
            const actor = { id: client.userId, keyVersion: client.rosters.options.me.keyVersion,
                            signingPrivateKey: client.keys.signingPrivateKey };
            const out = [];
            // Found by name first, as the page's "Add member" does: the directory answers by id for roommates only.
            for (const name of names) await client.trust.directory.named(name);
            for (const id of ids) {
                const change = { op: "add", members: [[id, 1]] };
                const { wire } = await makeEntry({ room: roomId, state: room.state, change, actor, meta: room.meta,
                    recipientsFor: (m) => client.trust.recipients(m) });
                out.push(wire);
            }
            await client.rosters.options.append(roomId, out[0]);
            return out;
        }""",
        [room_id, ids, [carol.username, dave.username]],
    )
    inject: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda text: ws.send(text))
        ws.on_message(lambda text: server.send(text))
        inject.append(ws)

    bob.page.route_web_socket(CHAT_SOCKET, route)
    bob.page.reload()
    expect_connected(bob.page)
    open_room(bob, "Forked")
    expect(bob.page.get_by_role("complementary", name="Members").get_by_role("listitem")).to_have_count(3)
    inject[-1].send(json.dumps({"type": "roster", "room": room_id, "entries": [{**made[1], "after": 0}]}))
    expect_blocked(bob.page)
    expect(roster_warning(bob.page)).to_contain_text("fork")


def test_a_link_join_made_by_the_server_with_the_links_public_part_only_is_refused(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    from tests.browser.chat import create_room

    room_id = create_room(alice, "Link only", link=True)
    add_member(alice, bob.username)
    accept_invitation(bob, "Link only")
    assert invite_link(alice.page).inner_text()

    # The server knows the link's public key (it is in the roster) but not its secret: it signs the link part with
    # a key of its own, and the rest with its own account's identity key.
    extra = ghost()
    link = bytes(Room.objects.get(id=room_id).link_pub)
    forge_entry(room_id, "join", actor=extra, admits=extra, signer=extra, link=link)

    for person in (alice, bob):
        person.page.reload()
        expect_connected(person.page)
        open_room(person, "Link only")
        expect_blocked(person.page)
        try_to_send(person, f"{person.username} here")
    assert stored_for(room_id, extra) == 0
    assert extra.pk not in wrapped_for(alice, room_id) | wrapped_for(bob, room_id)


def test_a_removal_withheld_from_one_member_is_caught_by_the_others(people: People) -> None:
    alice, bob, carol, room_id = three_in_a_room(people, "Withheld")
    # From here on the server keeps bob's page as it was: no roster news, the old head and members in room frames,
    # and bob's sends stored whatever they name (the honest server would refuse them).
    old = {"head": None, "members": None}
    held: list[dict[str, Any]] = []

    def from_server(ws: WebSocketRoute, text: str) -> None:
        frame = json.loads(text)
        if frame.get("type") == "roster" and frame.get("room") == room_id and not frame.get("ref") and old["head"]:
            return  # live news of the roster (answers to bob's own reads still pass, and hold nothing new)
        if frame.get("type") == "room" and frame.get("room", {}).get("id") == room_id and old["head"]:
            frame["room"]["roster"], frame["room"]["members"] = old["head"], old["members"]
        ws.send(json.dumps(frame))

    def from_page(ws: WebSocketRoute, server: WebSocketRoute, text: str) -> None:
        frame = json.loads(text)
        if frame.get("op") != "send" or frame.get("room") != room_id or not old["head"]:
            server.send(text)
            return
        held.append(frame["envelope"])
        stored = store_as_is(frame["envelope"])
        ws.send(
            json.dumps(
                {
                    "type": "ack",
                    "client_id": frame["envelope"]["client_id"],
                    "id": stored,
                    "room": room_id,
                    "ref": frame.get("ref"),
                }
            )
        )

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda text: from_server(ws, text))
        ws.on_message(lambda text: from_page(ws, server, text))

    bob.page.route_web_socket(CHAT_SOCKET, route)
    bob.page.reload()
    expect_connected(bob.page)
    open_room(bob, "Withheld")
    room = Room.objects.get(id=room_id)
    old["head"] = {"seq": room.roster_seq, "hash": base64.b64encode(bytes(room.roster_head)).decode()}
    old["members"] = [
        {"id": m.user_id, "username": m.user.username}
        for m in Membership.objects.filter(room=room, left_at__isnull=True)
    ]

    alice.page.get_by_role("complementary", name="Members").get_by_role(
        "button", name=f"Remove {carol.username}"
    ).click()
    confirm(alice.page, "Remove")
    expect(room_link(carol.page, "Withheld")).to_have_count(0, timeout=CHAT_TIMEOUT_MS)
    send_message(bob, "Carol, you still there?")
    assert [user_id(carol) in envelope["wrap_ids"] for envelope in held] == [True], "bob's browser had the old list"

    alice.page.reload()
    expect_connected(alice.page)
    open_room(alice, "Withheld")
    warning = message(alice.page, "Carol, you still there?").locator(".warning")
    expect(warning).to_have_text(re.compile(f"{re.escape(bob.username)} is sending to an out-of-date member list"))
    expect(message(alice.page, "Carol, you still there?")).not_to_have_class(FAILED)
