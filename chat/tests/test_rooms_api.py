"""Rooms over HTTP (docs/PROTOCOL.md, "Rooms over HTTP"): rooms as members see them, roster entries read and
appended, the join page's look-up by invite link, and the two ways of rooms from before rosters."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEvent, User
from chat.models import Membership, Room
from chat.tests.factories import make_user
from chat.tests.rosters import Chain, key_lookup, make_room, new_link
from tests import reference_roster as ref

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    return client


def call(client: Client, method: str, url: str, body: Any = None) -> Any:
    token = client.cookies["csrftoken"].value
    return getattr(client, method)(url, body, content_type="application/json", headers={"X-CSRFToken": token})


def member_names(response: Any) -> list[str]:
    return [m["username"] for m in response.json()["room"]["members"]]


def look_up(client: Client, user: User) -> None:
    """Look someone up by their exact name, as a browser does before naming them in a room: it introduces the asker
    to them (``accounts.introductions``)."""
    assert client.get(f"/api/keys/{user.username}").status_code == 200


def accept(client: Client, room_id: Any) -> Any:
    return call(client, "post", f"/api/rooms/{room_id}/accept")


def append(client: Client, chain: Chain, wire: dict[str, Any], **then: Any) -> Any:
    """POST an entry; taken, it becomes the chain's head."""
    response = call(client, "post", f"/api/rooms/{chain.room_id}/roster", {"entry": wire})
    if response.status_code in (200, 201):
        chain.accept(wire, **then)
    return response


@pytest.fixture
def clients(users: dict[str, User]) -> dict[str, Client]:
    return {name: signed_in(user) for name, user in users.items()}


def test_creating_a_room_makes_me_its_owner_and_only_member(clients, users) -> None:
    alice = users["alice"]
    chain = Chain(name="Weekend plans")
    response = append(clients["alice"], chain, chain.entry(alice, "create", members=(alice,)))
    assert response.status_code == 201
    answer = response.json()
    assert list(answer) == ["room", "seq", "hash", "after"]
    assert (answer["seq"], answer["hash"]) == chain.head
    room = answer["room"]
    assert (room["id"], room["kind"], room["policy"], room["owner"]) == (
        str(chain.room_id),
        "group",
        "invite",
        alice.pk,
    )
    assert (room["roster"], room["name"]) == ({"seq": 0, "hash": chain.head[1]}, None)
    assert member_names(response) == ["alice"]
    assert AuditEvent.objects.filter(action="room_created", user=alice).count() == 1


def test_the_owner_adds_and_removes_members(clients, users, room, chain) -> None:
    alice = users["alice"]
    look_up(clients["alice"], users["carol"])
    added = append(clients["alice"], chain, chain.entry(alice, "add", member=users["carol"]))
    assert added.status_code == 200
    assert member_names(added) == ["alice", "bob", "carol"]
    assert [m.get("pending", False) for m in added.json()["room"]["members"]] == [False, False, True]
    accepted = accept(clients["carol"], room.id)
    assert accepted.status_code == 200
    assert [m.get("pending", False) for m in accepted.json()["room"]["members"]] == [False, False, False]
    removed = append(clients["alice"], chain, chain.entry(alice, "remove", member=users["bob"]))
    assert member_names(removed) == ["alice", "carol"]
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("member_added") == 2 and actions.count("member_removed") == 1


def test_a_member_who_is_not_the_owner_cannot_add_or_remove(clients, users, room, chain) -> None:
    bob = users["bob"]
    response = append(clients["bob"], chain, chain.entry(bob, "add", member=users["carol"]))
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    response = append(clients["bob"], chain, chain.entry(bob, "remove", member=users["alice"]))
    assert response.json()["error"]["code"] == "forbidden"
    assert Membership.objects.filter(room=room, left_at__isnull=True).count() == 2


def test_outsiders_cannot_see_read_or_change_a_room(clients, users, room, chain) -> None:
    carol = clients["carol"]
    assert carol.get(f"/api/rooms/{room.id}").json()["error"]["code"] == "not_member"
    assert carol.get(f"/api/rooms/{room.id}/roster").json()["error"]["code"] == "not_member"
    response = append(carol, chain, chain.entry(users["carol"], "add", member=users["carol"]))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_member")


def test_a_stale_entry_is_refused_with_the_head_to_rebuild_on(clients, users, room, chain) -> None:
    stale = chain.entry(users["alice"], "add", member=users["carol"])
    append(clients["alice"], chain, chain.entry(users["alice"], "rename", name="New name"))
    response = call(clients["alice"], "post", f"/api/rooms/{room.id}/roster", {"entry": stale})
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["head"]) == ("roster_conflict", {"seq": 2, "hash": chain.head[1]})


def test_an_entry_for_another_room_than_the_path_is_refused(clients, users, room, chain) -> None:
    other, _ = make_room(users["alice"])
    response = call(
        clients["alice"], "post", f"/api/rooms/{other.id}/roster", {"entry": chain.entry(users["alice"], "rename")}
    )
    assert (response.status_code, response.json()["error"]["field"]) == (403, "entry.body.room")


def test_leaving_with_a_signed_entry_answers_without_the_room(clients, users, room, chain) -> None:
    bob = users["bob"]
    response = append(clients["bob"], chain, chain.entry(bob, "leave", member=bob))
    assert response.status_code == 200
    assert response.json() == {"room": None, "seq": 2, "hash": chain.head[1], "after": 0}
    assert clients["bob"].get(f"/api/rooms/{room.id}").status_code == 404
    assert AuditEvent.objects.filter(action="member_left").count() == 1


def test_the_roster_pages_from_a_seq(clients, users, room, chain) -> None:
    for index in range(3):
        append(clients["alice"], chain, chain.entry(users["alice"], "rename", name=f"Name {index}"))
    page = clients["bob"].get(f"/api/rooms/{room.id}/roster?from=2").json()
    assert list(page) == ["room", "more", "entries"]
    assert (page["room"], page["more"]) == (str(room.id), False)
    assert [entry["body"] for entry in page["entries"]] == [wire["body"] for wire in chain.entries[2:]]
    whole = clients["bob"].get(f"/api/rooms/{room.id}/roster").json()["entries"]
    assert ref.verify_chain(whole, key_lookup).head_b64 == chain.head[1]
    for bad in ("-1", "x", "1.5", "9" * 17):
        refused = clients["bob"].get(f"/api/rooms/{room.id}/roster?from={bad}").json()["error"]
        assert refused["field"] == "from" and refused["code"] in {"wrong_type", "out_of_range"}


def test_a_room_holds_at_most_256_members(clients, users, room, chain) -> None:
    extra = User.objects.bulk_create(User(username=f"user{i}") for i in range(254))
    Membership.objects.bulk_create(Membership(room=room, user=user) for user in extra)
    look_up(clients["alice"], users["carol"])
    body = chain.body(users["alice"], "add", member=users["carol"])
    response = call(
        clients["alice"], "post", f"/api/rooms/{room.id}/roster", {"entry": chain.sign(users["alice"], body)}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (409, "room_full")


def test_there_is_one_direct_room_per_pair(clients, users) -> None:
    alice, bob = users["alice"], users["bob"]
    first = Chain()
    look_up(clients["alice"], bob)  # strangers: alice found him by name, and her create asks him
    created = append(clients["alice"], first, first.entry(alice, "create", members=(alice, bob), kind="direct"))
    assert created.status_code == 201
    room = created.json()["room"]
    assert (room["kind"], room["owner"], room["policy"]) == ("direct", None, "invite")
    assert sorted(m["username"] for m in room["members"]) == ["alice", "bob"]
    # bob has not answered, and whether he accepts or not the pair's one direct room is taken.
    second = Chain()
    look_up(clients["bob"], alice)
    response = append(clients["bob"], second, second.entry(bob, "create", members=(alice, bob), kind="direct"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict" and response.json()["error"]["room"] == room["id"]


def test_a_link_room_can_be_joined_through_its_invite_link(clients, users) -> None:
    alice, carol = users["alice"], users["carol"]
    room, chain = make_room(alice, link=True)
    # The join page: the key from the link's secret finds the chain, which the joiner verifies before joining.
    found = clients["carol"].get(f"/api/links/{ref.link_address(chain.link_secret)}")
    assert found.status_code == 200
    assert (found.json()["room"], found.json()["more"]) == (str(room.id), False)
    ref.verify_chain(found.json()["entries"], key_lookup)
    body = json.loads(found.json()["entries"][-1]["body"])
    assert ref.open_meta_with_link(body, link_secret=chain.link_secret)["name"]
    joined = append(clients["carol"], chain, chain.entry(carol, "join", member=carol))
    assert joined.status_code == 200
    assert member_names(joined) == ["alice", "carol"]


def test_removing_a_member_changes_the_link_so_the_old_one_lets_nobody_back_in(clients, users) -> None:
    """The server cannot change a link (it never holds one): the remover's browser replaces it in the removal itself,
    and from then on the old link's key finds no room and signs no join."""
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room, chain = make_room(alice, link=True)
    old = chain.link_secret
    append(clients["carol"], chain, chain.entry(carol, "join", member=carol))
    keeping = append(clients["alice"], chain, chain.entry(alice, "remove", member=carol))
    assert (keeping.status_code, keeping.json()["error"]["field"]) == (400, "entry.body.link")
    new = new_link()
    append(clients["alice"], chain, chain.entry(alice, "remove", member=carol, link_secret=new), link_secret=new)
    assert clients["carol"].get(f"/api/links/{ref.link_address(old)}").json()["error"]["code"] == "not_found"
    with_old_link = Chain(room_id=room.id, link_secret=old, state=chain.state)
    refused = append(clients["carol"], with_old_link, with_old_link.entry(carol, "join", member=carol))
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_member")
    assert clients["bob"].get(f"/api/links/{ref.link_address(new)}").status_code == 200
    assert member_names(append(clients["bob"], chain, chain.entry(bob, "join", member=bob))) == ["alice", "bob"]


@pytest.mark.parametrize("key", ["", "x", "A" * 42, "A" * 44, "A" * 42 + "=", "+" * 43, "A" * 42 + "B"])
def test_a_link_key_that_opens_no_room_is_not_found(clients, users, room, key) -> None:
    response = clients["carol"].get(f"/api/links/{key}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert clients["carol"].get(f"/api/links/{ref.b64url(bytes(32))}").status_code == 404


def test_a_room_from_before_rosters_is_listed_with_its_name_and_no_roster(clients, users) -> None:
    alice, bob = users["alice"], users["bob"]
    room = Room.objects.create(legacy_name="Old room", owner=alice, invite_token="t" * 43, policy="link")
    Membership.objects.bulk_create(Membership(room=room, user=user) for user in (alice, bob))
    [listed] = clients["bob"].get("/api/rooms").json()["rooms"]
    assert (listed["id"], listed["name"], listed["roster"]) == (str(room.id), "Old room", None)
    joined = call(clients["carol"], "post", f"/api/join/{'t' * 43}")
    assert member_names(joined) == ["alice", "bob", "carol"]
    assert call(clients["alice"], "post", f"/api/rooms/{room.id}/leave").status_code == 204
    room.refresh_from_db()
    assert room.owner == bob


def test_a_room_with_a_roster_is_not_left_or_joined_the_old_way(clients, room) -> None:
    response = call(clients["bob"], "post", f"/api/rooms/{room.id}/leave")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    assert call(clients["carol"], "post", f"/api/join/{'t' * 43}").json()["error"]["code"] == "not_found"


def test_the_key_history_lists_every_signing_key_oldest_first(clients, users, room) -> None:
    """bob shares alice's room (the `room` fixture): the directory answers him for her."""
    from accounts.tests.factories import reset_keys

    alice = users["alice"]
    reset_keys(alice)
    history = clients["bob"].get(f"/api/key-history?id={alice.pk}").json()
    keys = [base64.b64decode(key["signing_public_key"]) for key in history["keys"]]
    assert history["id"] == alice.pk
    assert [key["key_version"] for key in history["keys"]] == [1, 2]
    assert [key_lookup(alice.pk, version).public_bytes_raw() for version in (1, 2)] == keys
    assert clients["bob"].get("/api/key-history?id=999999").json()["error"]["code"] == "not_found"
    for bad in ("", "x", "-1", "1e3", "9" * 19):
        assert clients["bob"].get(f"/api/key-history?id={bad}").json()["error"] == {
            "code": "wrong_type",
            "detail": "id is a user id.",
            "field": "id",
        }


def test_room_api_needs_a_signed_in_user(room) -> None:
    for path in ("/api/rooms", f"/api/rooms/{room.id}/roster", "/api/key-history?id=1", f"/api/links/{'A' * 43}"):
        assert Client().get(path).status_code == 401


def test_the_join_page_serves_links_of_either_kind(clients) -> None:
    assert clients["carol"].get("/join/").status_code == 200
    assert clients["carol"].get(f"/join/{'t' * 43}/").status_code == 200
    # Signed out: the signed link's page is served (a redirect would drop the secret in the fragment; the page sends
    # the visitor to log in itself), while a legacy token's page, which has nothing to keep, still asks to log in.
    assert Client().get("/join/").status_code == 200
    assert Client().get(f"/join/{'t' * 43}/").status_code == 302


def test_a_new_user_can_be_added_by_id_at_their_current_key(clients, users, room, chain) -> None:
    dave = make_user("dave")
    look_up(clients["alice"], dave)
    added = append(clients["alice"], chain, chain.entry(users["alice"], "add", member=dave))
    assert member_names(added) == ["alice", "bob", "dave"]
    assert uuid.UUID(added.json()["room"]["id"]) == room.id
