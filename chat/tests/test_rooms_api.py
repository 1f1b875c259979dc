"""Rooms over HTTP: who may create, add, remove, leave and join, and what each refusal says."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEvent, User
from chat.models import Membership, Room
from chat.protocol import MAX_MEMBERS

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


@pytest.fixture
def clients(users: dict[str, User]) -> dict[str, Client]:
    return {name: signed_in(user) for name, user in users.items()}


def test_creating_a_room_makes_me_its_owner_and_only_member(clients, users) -> None:
    response = call(clients["alice"], "post", "/api/rooms", {"name": "  Weekend   plans "})
    assert response.status_code == 201
    room = response.json()["room"]
    assert room["name"] == "Weekend plans" and room["kind"] == "group" and room["policy"] == "invite"
    assert room["owner"] == users["alice"].pk
    assert member_names(response) == ["alice"]
    assert AuditEvent.objects.filter(action="room_created", user=users["alice"]).count() == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_a_room_name_is_1_to_80_characters(clients, name) -> None:
    response = call(clients["alice"], "post", "/api/rooms", {"name": name})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_length",
        "detail": "A room name is 1 to 80 characters.",
        "field": "name",
    }
    assert not Room.objects.exists()


def test_the_owner_adds_and_removes_members(clients, room) -> None:
    added = call(clients["alice"], "post", f"/api/rooms/{room.id}/members", {"username": "Carol"})
    assert member_names(added) == ["alice", "bob", "carol"]
    removed = call(clients["alice"], "delete", f"/api/rooms/{room.id}/members/bob")
    assert member_names(removed) == ["alice", "carol"]
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("member_added") == 2 and actions.count("member_removed") == 1


def test_a_member_who_is_not_the_owner_cannot_add_or_remove(clients, room) -> None:
    response = call(clients["bob"], "post", f"/api/rooms/{room.id}/members", {"username": "carol"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    response = call(clients["bob"], "delete", f"/api/rooms/{room.id}/members/alice")
    assert response.json()["error"]["code"] == "forbidden"
    assert Membership.objects.filter(room=room, left_at__isnull=True).count() == 2


def test_outsiders_cannot_see_or_change_a_room(clients, room) -> None:
    assert clients["carol"].get(f"/api/rooms/{room.id}").json()["error"]["code"] == "not_member"
    response = call(clients["carol"], "post", f"/api/rooms/{room.id}/members", {"username": "carol"})
    assert response.json()["error"]["code"] == "not_member"


def test_adding_an_unknown_user_or_a_member_again_is_refused(clients, room) -> None:
    unknown = call(clients["alice"], "post", f"/api/rooms/{room.id}/members", {"username": "nobody"})
    assert unknown.json()["error"]["code"] == "not_found"
    again = call(clients["alice"], "post", f"/api/rooms/{room.id}/members", {"username": "bob"})
    assert again.json()["error"]["code"] == "forbidden"


def test_leaving_ends_membership_and_an_owner_who_leaves_hands_the_room_on(clients, room, users) -> None:
    assert call(clients["alice"], "post", f"/api/rooms/{room.id}/leave").status_code == 204
    room.refresh_from_db()
    assert room.owner == users["bob"]
    assert clients["alice"].get(f"/api/rooms/{room.id}").status_code == 404
    assert AuditEvent.objects.filter(action="member_left").count() == 1


def test_a_room_holds_at_most_256_members(clients, room) -> None:
    extra = User.objects.bulk_create(User(username=f"user{i}") for i in range(MAX_MEMBERS - 2))
    Membership.objects.bulk_create(Membership(room=room, user=user) for user in extra)
    response = call(clients["alice"], "post", f"/api/rooms/{room.id}/members", {"username": "carol"})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "room_full")


def test_there_is_one_direct_conversation_per_pair(clients, users) -> None:
    first = call(clients["alice"], "post", "/api/direct", {"username": "bob"}).json()["room"]
    second = call(clients["bob"], "post", "/api/direct", {"username": "ALICE"}).json()["room"]
    assert first["id"] == second["id"] and first["kind"] == "direct"
    assert sorted(m["username"] for m in first["members"]) == ["alice", "bob"]
    assert call(clients["alice"], "post", "/api/direct", {"username": "alice"}).status_code == 403


def test_a_link_room_can_be_joined_through_its_invite_link(clients) -> None:
    room = call(clients["alice"], "post", "/api/rooms", {"name": "Open", "policy": "link"}).json()["room"]
    url = clients["alice"].get(f"/api/rooms/{room['id']}/invite").json()["invite_url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    joined = call(clients["carol"], "post", f"/api/join/{token}")
    assert member_names(joined) == ["alice", "carol"]


def test_removing_a_member_changes_the_link_so_the_old_one_lets_nobody_back_in(clients) -> None:
    room = call(clients["alice"], "post", "/api/rooms", {"name": "Open", "policy": "link"}).json()["room"]
    old = clients["alice"].get(f"/api/rooms/{room['id']}/invite").json()["invite_url"].rstrip("/").rsplit("/", 1)[1]
    call(clients["carol"], "post", f"/api/join/{old}")
    call(clients["alice"], "delete", f"/api/rooms/{room['id']}/members/carol")
    refused = call(clients["carol"], "post", f"/api/join/{old}")
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_found")
    new = clients["alice"].get(f"/api/rooms/{room['id']}/invite").json()["invite_url"].rstrip("/").rsplit("/", 1)[1]
    assert new != old
    assert member_names(call(clients["bob"], "post", f"/api/join/{new}")) == ["alice", "bob"]


def test_an_invite_only_room_has_no_link_and_its_token_does_not_work(clients, room) -> None:
    assert clients["alice"].get(f"/api/rooms/{room.id}/invite").json() == {"invite_url": None}
    response = call(clients["carol"], "post", f"/api/join/{room.invite_token}")
    assert response.json()["error"]["code"] == "not_found"


def test_room_api_needs_a_signed_in_user(room) -> None:
    assert Client().get("/api/rooms").status_code == 401
