"""The key directory by id answers only for people who are or were in a room with the asker: a stranger cannot list
every account with one request, nor read anyone's key history. By exact name it answers anyone signed in, throttled."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from accounts.models import User
from accounts.tests.test_key_directory_api import PUBLIC_FIELDS
from chat.tests.factories import make_user
from chat.tests.rosters import make_room, new_link
from tests import reference_roster as ref


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(client: Client, ids: list[int], **params: str) -> list[str]:
    query = "".join(f"&{name}={value}" for name, value in params.items())
    answer = client.get(f"/api/keys?ids={','.join(map(str, ids))}{query}")
    assert answer.status_code == 200, answer.content
    return sorted(keys["username"] for keys in answer.json()["keys"])


def address(secret: bytes) -> str:
    return base64.urlsafe_b64encode(ref.link_public_key(secret)).decode().rstrip("=")


@pytest.fixture
def people(db: None) -> dict[str, User]:
    return {name: make_user(name) for name in ("alice", "bob", "carol", "mallory")}


def test_a_stranger_cannot_list_every_account_by_id(people: dict[str, User]) -> None:
    make_room(people["alice"], people["bob"])
    everyone = list(range(1, 257))

    assert listed(client_of(people["mallory"]), everyone) == ["mallory"]
    assert listed(client_of(people["alice"]), everyone) == ["alice", "bob"]


def test_public_keys_of_several_users_at_once_by_id(people: dict[str, User]) -> None:
    alice, bob = people["alice"], people["bob"]
    make_room(alice, bob)
    client = client_of(alice)

    keys = client.get(f"/api/keys?ids={alice.pk},{bob.pk},999999").json()["keys"]

    assert [k["username"] for k in keys] == ["alice", "bob"]
    assert all(set(k) == PUBLIC_FIELDS for k in keys)
    assert client.get("/api/keys?ids=1,x").json()["error"]["code"] == "wrong_type"


def test_people_who_left_a_shared_room_stay_readable_to_its_members_and_they_to_them(people: dict[str, User]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    _, chain = make_room(alice, bob, carol)
    chain.append(alice, "remove", member=carol)
    ids = [alice.pk, bob.pk, carol.pk]

    # Their messages and roster entries are still in the history both sides read.
    assert listed(client_of(bob), ids) == ["alice", "bob", "carol"]
    assert listed(client_of(carol), ids) == ["alice", "bob", "carol"]


def test_key_history_of_a_stranger_answers_as_for_no_such_user(people: dict[str, User]) -> None:
    make_room(people["alice"], people["bob"])
    mallory = client_of(people["mallory"])

    stranger = mallory.get(f"/api/key-history?id={people['alice'].pk}")
    nobody = mallory.get("/api/key-history?id=999999")

    assert (stranger.status_code, stranger.json()) == (nobody.status_code, nobody.json())
    assert stranger.json()["error"]["code"] == "not_found"
    assert client_of(people["bob"]).get(f"/api/key-history?id={people['alice'].pk}").status_code == 200


def test_the_holder_of_an_open_invite_link_reads_that_rooms_keys_before_joining(people: dict[str, User]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    secret = new_link()
    _, chain = make_room(alice, bob)
    chain.append(alice, "link", link_secret=secret)
    make_room(people["mallory"], name="Elsewhere")  # mallory is in a room, not the linked one: never listed by it
    ids = [alice.pk, bob.pk, people["mallory"].pk]
    visitor = client_of(carol)

    assert listed(visitor, ids) == []
    assert listed(visitor, ids, link=address(secret)) == ["alice", "bob"]
    assert visitor.get(f"/api/key-history?id={alice.pk}&link={address(secret)}").status_code == 200
    # A link that is not open (made up, or closed since) opens nothing.
    assert listed(visitor, ids, link=address(new_link())) == []
    chain.append(alice, "link", link_secret=None)
    assert listed(visitor, ids, link=address(secret)) == []
    assert visitor.get("/api/keys?ids=1&link=not-a-link").json()["error"]["code"] == "wrong_type"


def test_looking_people_up_by_exact_name_is_throttled_per_asker(people: dict[str, User]) -> None:
    mallory = client_of(people["mallory"])
    answers = [mallory.get(f"/api/keys/guess{number}").status_code for number in range(60)]
    assert set(answers) == {404}

    refused = mallory.get("/api/keys/alice")

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert client_of(people["bob"]).get("/api/keys/alice").status_code == 200  # another asker is not held up
