"""The red-team's attacks on invitations (consent), each replayed as the hostile user's raw requests, and each now
refused or harmless in the way that user would notice (SECURITY.md, "Invitations")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async as db
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts import introductions
from accounts.models import Identity, User
from accounts.signals import keys_changed
from accounts.tests.factories import api_client, post
from chat import selectors, services
from chat.tests.factories import LOCAL, make_user
from chat.tests.rosters import Chain, make_room, new_link
from chat.tests.sockets import next_of
from toolkit.errors import ApiError

pytestmark = [pytest.mark.django_db(transaction=True)]


def client_for(user: User) -> Any:
    client = api_client()
    client.force_login(user)
    return client


def pair(one: User, other: User) -> tuple[User, User]:
    return tuple(sorted((one, other), key=lambda u: u.pk))  # type: ignore[return-value]


def raw_create(actor: User, *others: User, kind: str = "group", name: str = "Plans") -> Chain:
    """A create as an attacker's script sends it: signed, straight to the server, no accept for anyone."""
    chain = Chain(name=name)
    members = tuple(sorted({actor, *others}, key=lambda u: u.pk))
    chain.submit(actor, chain.entry(actor, "create", members=members, kind=kind))
    return chain


def refused(call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def room_ids(client: Any) -> set[str]:
    return {r["id"] for r in client.get("/api/rooms").json()["rooms"]}


def invitation_ids(client: Any) -> set[str]:
    return {i["id"] for i in client.get("/api/invitations").json()["invitations"]}


# --- F1 --------------------------------------------------------------------------------------------------------------


def test_f1_joining_a_public_room_does_not_open_a_direct_room_without_consent() -> None:
    """Attack: mallory joins alice's open-link room, then sends a raw direct create naming alice; it used to be
    accepted for her at once (a conversation and presence feed she never agreed to, and could not leave)."""
    alice, mallory = make_user("alice"), make_user("mallory")
    _, public = make_room(alice, link=True, name="Neighbourhood")
    public.append(mallory, "join", member=mallory)  # anyone with the link

    direct = raw_create(mallory, alice, kind="direct")

    alice_http = client_for(alice)
    assert str(direct.room_id) not in room_ids(alice_http)  # not hers: only asked
    assert str(direct.room_id) in invitation_ids(alice_http)
    assert not selectors.accepted_memberships().filter(room_id=direct.room_id, user=alice).exists()
    # and she can say no, even after throwing mallory out of the public room
    public.append(alice, "remove", member=mallory, link_secret=new_link())
    assert post(alice_http, f"/api/rooms/{direct.room_id}/decline", {}).status_code == 204
    assert str(direct.room_id) not in invitation_ids(alice_http)


# --- F2 --------------------------------------------------------------------------------------------------------------


def test_f2_after_a_declined_invitation_its_inviter_cannot_ask_again() -> None:
    """Attack: alice declines mallory's group invitation (a signed leave); mallory asks again at once, by a new add,
    a new two-person group, a direct request: each used to land in her list, as often as she declined."""
    alice, mallory = make_user("alice"), make_user("mallory")
    _, group = make_room(mallory, name="Please")
    group.append(mallory, "add", member=alice, accepted=False)
    group.submit(alice, group.entry(alice, "leave", member=alice))  # declined
    introductions.introduce(mallory.pk, alice.pk)  # mallory looks her up by name again

    again = refused(lambda: group.submit(mallory, group.entry(mallory, "add", member=alice)))
    assert again.code == "invitation_limit"
    assert refused(lambda: raw_create(mallory, alice, name="Please talk")).code == "invitation_limit"
    assert refused(lambda: raw_create(mallory, alice, kind="direct")).code == "invitation_limit"
    assert invitation_ids(client_for(alice)) == set()


# --- F3 --------------------------------------------------------------------------------------------------------------


def test_f3_one_create_cannot_invite_past_invitations_outstanding_max(settings: Any) -> None:
    """Attack: with INVITATIONS_OUTSTANDING_MAX 2, mallory names 8 people in one group create; the cap was checked
    per invitee against the count before the create, so all 8 were invited."""
    settings.INVITATIONS_OUTSTANDING_MAX = 2
    mallory = make_user("mallory")
    victims = [make_user(f"victim{i}") for i in range(8)]
    for victim in victims:
        introductions.introduce(mallory.pk, victim.pk)

    error = refused(lambda: raw_create(mallory, *victims))
    assert error.code == "invitation_limit"
    assert selectors.pending_memberships().filter(invited_by=mallory).count() == 0
    assert invitation_ids(client_for(victims[0])) == set()
    raw_create(mallory, *victims[:2])  # up to the cap is fine
    assert selectors.pending_memberships().filter(invited_by=mallory).count() == 2


def test_f3_checking_a_create_that_names_many_people_costs_the_same_few_queries() -> None:
    """Attack: a create may name up to 256 people; checking the invitation caps once per invitee made the server run
    three queries for each of them, on one request of the sender's."""
    mallory = make_user("mallory")
    few, many = [make_user(f"few{i}").pk for i in range(2)], [make_user(f"many{i}").pk for i in range(30)]
    counts = []
    for invitees in (few, many):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            services._check_may_invite(mallory.pk, set(invitees))
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 3, counts


def test_f3_one_inviter_cannot_pile_invitations_on_one_person() -> None:
    """Attack: mallory fills alice's invitation list alone, one two-person group after another: a 4th invitation
    waiting on one person from one inviter is refused (INVITATIONS_PER_PAIR)."""
    alice, mallory = make_user("alice"), make_user("mallory")
    introductions.introduce(mallory.pk, alice.pk)
    for i in range(services.INVITATIONS_PER_PAIR):
        raw_create(mallory, alice, name=f"spam {i}")
    assert refused(lambda: raw_create(mallory, alice, name="spam again")).code == "invitation_limit"
    _, group = make_room(mallory, name="one more")
    assert refused(lambda: group.submit(mallory, group.entry(mallory, "add", member=alice))).code == "invitation_limit"
    assert len(invitation_ids(client_for(alice))) == services.INVITATIONS_PER_PAIR


on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite's writers take it all")


class Crowd:
    """Requests in threads, each held just after its cap check until every other one has also passed it, finished,
    or is waiting on a Postgres lock: without locks every request sees the same count (the race, made certain); with
    them the rest wait their turn, and the held one goes on."""

    def __init__(self, monkeypatch: Any, checked: str, calls: list[Callable[[], Any]]) -> None:
        self.calls, self.state = calls, threading.Condition()
        self.passed = self.done = 0
        self.pids: set[int] = set()
        self.results: list[str] = [""] * len(calls)
        original = getattr(services, checked)

        def check_then_hold(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            with self.state:
                self.passed += 1
            self._hold()
            return result

        monkeypatch.setattr(services, checked, check_then_hold)

    def _waiting_on_locks(self) -> int:
        with connection.cursor() as cursor:
            waiting = "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)"
            cursor.execute(waiting, [list(self.pids)])
            return cursor.fetchone()[0]

    def _hold(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            with self.state:
                settled = self.passed + self.done
            if settled + self._waiting_on_locks() >= len(self.calls):
                return
            assert time.monotonic() < deadline, "requests neither passed nor waited"
            time.sleep(0.005)

    def run(self) -> list[str]:
        started = threading.Barrier(len(self.calls))

        def go(index: int, call: Callable[[], Any]) -> None:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
                with self.state:
                    self.pids.add(pid)
                started.wait()
                call()
                self.results[index] = "ok"
            except ApiError as error:
                self.results[index] = str(error.code)
            finally:
                with self.state:
                    self.done += 1
                connection.close()

        threads = [threading.Thread(target=go, args=(i, call)) for i, call in enumerate(self.calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.results


@on_postgres
def test_f3_parallel_accepts_cannot_pass_rooms_per_user_max(settings: Any, monkeypatch: Any) -> None:
    """Attack: alice (or a script of hers) accepts five invitations at once with ROOMS_PER_USER_MAX 2; every
    request counted her rooms before any had saved, so all five went through."""
    settings.ROOMS_PER_USER_MAX = 2
    alice = make_user("alice")
    rooms = [make_room(make_user(f"owner{i}"), alice, accepted=False)[0] for i in range(5)]
    crowd = Crowd(
        monkeypatch,
        "_check_room_cap",
        [lambda r=r: services.accept_invitation(user=alice, room_id=r.id, client=LOCAL) for r in rooms],
    )
    results = crowd.run()
    assert sorted(results) == ["ok", "ok", "room_limit", "room_limit", "room_limit"]
    assert selectors.accepted_memberships().filter(user=alice).count() == 2


@on_postgres
def test_f3_parallel_creates_cannot_pass_invitations_outstanding_max(settings: Any, monkeypatch: Any) -> None:
    """Attack: mallory sends six creates at once, each inviting someone else, with INVITATIONS_OUTSTANDING_MAX 2;
    each counted his outstanding invitations before any had saved."""
    settings.INVITATIONS_OUTSTANDING_MAX = 2
    mallory = make_user("mallory")
    chains, entries = [], []
    for i in range(6):
        victim = make_user(f"target{i}")
        introductions.introduce(mallory.pk, victim.pk)
        chain = Chain(name=f"spam {i}")
        chains.append(chain)
        entries.append(chain.entry(mallory, "create", members=pair(mallory, victim)))
    crowd = Crowd(
        monkeypatch,
        "_check_may_invite",
        [lambda c=c, e=e: c.submit(mallory, e) for c, e in zip(chains, entries, strict=True)],
    )
    results = crowd.run()
    assert sorted(results) == ["invitation_limit"] * 4 + ["ok"] * 2
    assert selectors.pending_memberships().filter(invited_by=mallory).count() == 2


# --- F4 --------------------------------------------------------------------------------------------------------------


def test_f4_a_declined_invitation_leaves_no_introduction_behind() -> None:
    """Attack: mallory looks alice up once, invites her; she declines; once the introduction has expired, mallory
    and his puppet in that room still read her keys by id and invite her by id, for ever (any membership row counted
    as "shares a room")."""
    alice, mallory, puppet = make_user("alice"), make_user("mallory"), make_user("puppet")
    _, group = make_room(mallory, puppet)
    group.append(mallory, "add", member=alice, accepted=False)  # looks her up, invites her
    group.submit(alice, group.entry(alice, "leave", member=alice))  # she declines
    cache.delete_many([f"introduced:{asker.pk}:{alice.pk}" for asker in (mallory, puppet)])  # it expired
    assert introductions.introduced(mallory.pk, [alice.pk]) == set()

    for actor in (mallory, puppet):
        keys = client_for(actor).get(f"/api/keys?ids={alice.pk}")
        assert keys.json()["keys"] == [], actor.username
    error = refused(lambda: raw_create(puppet, alice, name="hello again"))
    assert (error.code, error.detail) == ("not_found", "No such user.")
    assert str(alice.pk) not in error.detail
    _, other = make_room(puppet, name="another")
    assert refused(lambda: other.submit(puppet, other.entry(puppet, "add", member=alice))).code == "not_found"


# --- F5 --------------------------------------------------------------------------------------------------------------


async def invitation_after(socket: Any, seq: int) -> dict[str, Any]:
    """The next ``invitation`` ``added`` frame's room whose roster is past ``seq`` (one entry may be told twice)."""
    while True:
        frame = await next_of(socket, "invitation")
        assert frame["event"] == "added", frame
        if frame["room"]["roster"]["seq"] > seq:
            return frame["room"]


@pytest.mark.asyncio
async def test_f5_an_invitation_is_accepted_only_as_it_was_shown(sockets: Any) -> None:
    """Attack: mallory invites alice to "Book club" with her friend in it, then removes the friend and brings in
    watchers; alice's accept went through for whatever the room had become, without her being told of the change."""
    mallory, friend, alice = [await db(make_user)(n) for n in ("mallory", "friend", "alice")]
    room, chain = await db(make_room)(mallory, friend, name="Book club")
    alice_socket = await sockets(alice)
    await db(chain.append)(mallory, "add", member=alice, accepted=False)
    shown = (await next_of(alice_socket, "invitation"))["room"]

    await db(chain.append)(mallory, "remove", member=friend)
    told = await invitation_after(alice_socket, shown["roster"]["seq"])  # told again, as it is now
    assert told["roster"]["seq"] == shown["roster"]["seq"] + 1
    assert "friend" not in [m["username"] for m in told["members"]]
    watcher = await db(make_user)("watcher")
    await db(chain.append)(mallory, "add", member=watcher)
    now = (await invitation_after(alice_socket, told["roster"]["seq"]))["roster"]

    alice_http = await db(client_for)(alice)
    stale = await db(lambda: post(alice_http, f"/api/rooms/{room.id}/accept", {"roster": shown["roster"]}))()
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "roster_changed"
    assert stale.json()["error"]["head"] == now
    assert str(room.id) not in await db(room_ids)(alice_http)  # nothing accepted
    fresh = await db(lambda: post(alice_http, f"/api/rooms/{room.id}/accept", {"roster": now}))()
    assert fresh.status_code == 200
    assert fresh.json()["room"]["roster"] == now


# --- F7a -------------------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_f7a_a_declined_direct_request_hears_nothing_of_the_invitees_key_resets(sockets: Any) -> None:
    """Attack: mallory's direct request to alice is declined, yet his socket was told every time she reset her keys
    (a signal of her account's activity he had no right to)."""
    mallory, alice, bob = [await db(make_user)(n) for n in ("mallory", "alice", "bob")]

    def request(invitee: User) -> Chain:
        introductions.introduce(mallory.pk, invitee.pk)
        return raw_create(mallory, invitee, kind="direct")

    declined = await db(request)(alice)
    await db(request)(bob)  # bob has not answered yet: his members wrap for him, so they hear of his keys
    alice_http = await db(client_for)(alice)
    assert (await db(lambda: post(alice_http, f"/api/rooms/{declined.room_id}/decline", {}))()).status_code == 204
    mallory_socket = await sockets(mallory)

    def reset(user: User) -> None:
        with transaction.atomic():
            keys_changed.send(sender=Identity, user=user)  # what a key reset sends

    await db(reset)(alice)
    await db(reset)(bob)
    frame = await next_of(mallory_socket, "keys")  # bob's comes; alice's, sent first, never did
    assert frame["user"] == bob.pk
