"""Signed rosters (docs/PROTOCOL.md, "Roster v1"): every change of a room's members is an entry a member signed, and
the server refuses whatever it was not given, by whom it was not given, or out of its turn.

The tests play the members' browsers (chat/tests/rosters.py signs with the test users' keys and checks each stored
entry against the reference rules) and the hostile stranger: replays, stale heads, forged and malformed entries.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from typing import Any

import pytest
from django import db

from accounts import introductions
from accounts.models import AuditEvent, User
from accounts.tests.factories import identity_keys
from chat import protocol, roster, selectors, services
from chat.models import Membership, Room, RosterEntry
from chat.protocol import MAX_MEMBERS
from chat.sending import store
from chat.tests.factories import LOCAL, envelope, make_user, private_keys
from chat.tests.rosters import Chain, key_lookup, make_room, new_link
from tests import reference_roster as ref
from tests.dbscan import describe, scan_database
from tests.hardening.roles import snapshot
from toolkit.errors import ApiError
from toolkit.validation import Fields

pytestmark = pytest.mark.django_db(transaction=True)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def refusal(chain: Chain, actor: User, wire: dict[str, Any]) -> ApiError:
    """The service's refusal of ``wire``, which must leave every row as it was."""
    before = snapshot()
    with pytest.raises(ApiError) as refused:
        chain.submit(actor, wire)
    assert snapshot() == before
    return refused.value


def members_of(room: Room) -> list[str]:
    return sorted(selectors.active_memberships().filter(room=room).values_list("user__username", flat=True))


@pytest.fixture
def dave(users: dict[str, User]) -> User:
    return make_user("dave")


# --- what each change does ----------------------------------------------------------------------------------------


def test_a_create_makes_a_room_with_its_owner_members_and_head(users) -> None:
    alice, bob = users["alice"], users["bob"]
    chain = Chain()
    appended = chain.append(alice, "create", members=(alice, bob))
    room = chain.room()
    assert (room.kind, room.owner_id, room.policy, room.legacy_name, room.invite_token) == (
        "group",
        alice.pk,
        "invite",
        "",
        None,
    )
    assert (room.roster_seq, bytes(room.roster_head)) == (0, ref.entry_hash(chain.entries[0]["body"]))
    assert appended.answer() == {"room": str(room.id), "seq": 0, "hash": b64(bytes(room.roster_head)), "after": 0}
    assert members_of(room) == ["alice", "bob"]
    stored = RosterEntry.objects.get(room=room)
    assert (stored.body, bytes(stored.signature), stored.op, stored.actor_id) == (
        chain.entries[0]["body"],
        base64.b64decode(chain.entries[0]["signature"]),
        "create",
        alice.pk,
    )
    event = AuditEvent.objects.get(action="room_created")
    assert event.detail == {"room": str(room.id), "seq": 0, "kind": "group", "members": 2}


def test_the_served_chain_is_byte_for_byte_what_was_signed_and_verifies(users, dave) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room, chain = make_room(alice, bob, carol, link=True)
    chain.append(alice, "role", member=bob, role="admin")
    chain.append(bob, "rename", name="Renamed")
    chain.append(dave, "join", member=dave)
    chain.append(alice, "owner", member=bob)
    chain.append(bob, "link", link_secret=None)
    encoded, more = selectors.roster_page(room.id, 0)
    served = [json.loads(text) for text in encoded]
    assert not more
    assert [{key: entry[key] for key in ref.WIRE_KEYS} for entry in served] == chain.entries
    state = ref.verify_chain(served, key_lookup)
    assert (state.owner, state.link, sorted(state.members)) == (bob.pk, "", [alice.pk, bob.pk, carol.pk, dave.pk])
    assert state.members[alice.pk].role == "admin"  # the former owner stays, as an admin
    assert (room.id, state.seq, state.head_b64) == (chain.room_id, 7, chain.head[1])
    assert all(list(entry) == ["body", "signature", "link_signature", "after", "server_time"] for entry in served)


def test_the_owner_adds_and_removes_members_and_each_change_is_audited(users) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room, chain = make_room(alice, bob)
    chain.append(alice, "add", member=carol)
    assert members_of(room) == ["alice", "bob", "carol"]
    chain.append(alice, "remove", member=bob)
    assert members_of(room) == ["alice", "carol"]
    events = AuditEvent.objects.filter(action__in=["member_added", "member_removed"]).order_by("id")
    assert [(event.action, event.detail) for event in events] == [
        ("member_added", {"room": str(room.id), "seq": 1, "member": "bob"}),
        ("member_added", {"room": str(room.id), "seq": 2, "member": "carol"}),
        ("member_removed", {"room": str(room.id), "seq": 3, "member": "bob"}),
    ]


def test_a_member_added_later_starts_after_the_newest_envelope(users) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room, chain = make_room(alice, bob)
    sent = protocol.envelope(Fields({"envelope": envelope(room, alice.pk, [alice.pk, bob.pk])}))
    [posted] = store.post_envelopes([store.Post(alice, room.id, sent)], refused={})
    chain.append(alice, "add", member=carol)
    stay = Membership.objects.get(room=room, user=carol)
    assert stay.joined_after == posted.envelope.id
    assert RosterEntry.objects.get(room=room, seq=2).after == posted.envelope.id


def test_an_admin_adds_and_removes_members_but_not_other_admins_or_the_owner(users, dave) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room, chain = make_room(alice, bob, carol)
    chain.append(alice, "role", member=bob, role="admin")
    chain.append(bob, "add", member=dave)
    chain.append(alice, "role", member=carol, role="admin")
    assert refusal(chain, bob, chain.entry(bob, "remove", member=carol)).code == "forbidden"
    assert refusal(chain, bob, chain.entry(bob, "remove", member=alice)).code == "forbidden"
    chain.append(bob, "remove", member=dave)
    chain.append(alice, "role", member=bob, role="member")
    assert refusal(chain, bob, chain.entry(bob, "add", member=dave)).code == "forbidden"
    assert Membership.objects.get(room=room, user=bob, left_at__isnull=True).role == "member"


def test_the_owner_hands_the_room_on_and_stays_as_an_admin(users) -> None:
    alice, bob = users["alice"], users["bob"]
    room, chain = make_room(alice, bob)
    assert refusal(chain, alice, chain.entry(alice, "leave", member=alice)).code == "forbidden"
    chain.append(alice, "owner", member=bob)
    room.refresh_from_db()
    assert room.owner_id == bob.pk
    assert Membership.objects.get(room=room, user=alice, left_at__isnull=True).role == "admin"
    chain.append(alice, "leave", member=alice)
    assert members_of(room) == ["bob"]
    # The last member, the owner, may leave, sealing the name for nobody else; the room has no owner then.
    assert refusal(chain, bob, chain.entry(bob, "leave", member=bob, sealed_for={alice.pk})).code == "bad_entry"
    chain.append(bob, "leave", member=bob)
    room.refresh_from_db()
    assert members_of(room) == [] and (room.roster_seq, room.owner_id) == (4, None)


def test_opening_rotating_and_closing_the_link_sets_the_policy(users) -> None:
    alice, bob = users["alice"], users["bob"]
    room, chain = make_room(alice, bob)
    first, second = new_link(), new_link()
    chain.append(alice, "link", link_secret=first)
    room.refresh_from_db()
    assert (room.policy, bytes(room.link_pub)) == ("link", ref.link_public_key(first))
    chain.append(alice, "link", link_secret=second)
    room.refresh_from_db()
    assert bytes(room.link_pub) == ref.link_public_key(second)
    chain.append(alice, "link", link_secret=None)
    room.refresh_from_db()
    assert (room.policy, room.link_pub) == ("invite", None)
    changes = AuditEvent.objects.filter(action="room_changed").order_by("id").values_list("detail", flat=True)
    assert [detail["link"] for detail in changes] == ["opened", "rotated", "closed"]


def test_a_link_key_another_room_uses_is_refused(users) -> None:
    alice, carol = users["alice"], users["carol"]
    secret = new_link()
    make_room(alice, link=False)[1].append(alice, "link", link_secret=secret)
    _, chain = make_room(carol)
    assert refusal(chain, carol, chain.entry(carol, "link", link_secret=secret)).code == "conflict"


# --- joining by the invite link -------------------------------------------------------------------------------------


def test_anyone_holding_the_link_joins_and_the_members_see_it(users, dave) -> None:
    alice, bob = users["alice"], users["bob"]
    room, chain = make_room(alice, bob, link=True)
    chain.append(dave, "join", member=dave)
    assert members_of(room) == ["alice", "bob", "dave"]
    event = AuditEvent.objects.filter(action="member_added").latest("id")
    assert event.detail == {"room": str(room.id), "seq": 2, "member": "dave", "via": "link"}
    name = ref.open_meta_with_link(json.loads(chain.entries[-1]["body"]), link_secret=chain.link_secret)
    assert name["name"] == "Plans"


def test_a_join_with_only_the_links_public_key_is_refused(users, dave) -> None:
    """The server holds the link's public key: it cannot admit anyone with it (the link signature needs the secret)."""
    alice = users["alice"]
    _, chain = make_room(alice, link=True)
    wire = chain.entry(dave, "join", member=dave)
    forged = {**wire, "link_signature": ref.sign(wire["body"], identity_keys("mallory")[0])["signature"]}
    assert refusal(chain, dave, forged).code == "bad_signature"
    assert refusal(chain, dave, {**wire, "link_signature": b64(bytes(64))}).code == "bad_signature"


def test_a_join_without_the_open_link_answers_like_a_room_that_does_not_exist(users, dave) -> None:
    alice = users["alice"]
    _, chain = make_room(alice, link=True)
    old = chain.link_secret
    chain.append(alice, "link", link_secret=new_link())  # rotated: the old link stops working
    stale = Chain(room_id=chain.room_id, link_secret=old, state=chain.state)
    assert refusal(chain, dave, stale.entry(dave, "join", member=dave)).code == "not_member"
    chain.append(alice, "link", link_secret=None)  # closed: no link works
    closed = Chain(room_id=chain.room_id, link_secret=old, state=chain.state)
    assert refusal(chain, dave, closed.entry(dave, "join", member=dave)).code == "not_member"


# --- who may do what -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "op", "whom", "role"),
    [
        ("bob", "add", "carol", ""),  # a member who is neither owner nor admin
        ("bob", "remove", "alice", ""),
        ("alice", "remove", "alice", ""),  # nobody removes themselves
        ("bob", "leave", "alice", ""),  # a leave is the leaver's own
        ("bob", "role", "bob", "admin"),  # only the owner gives roles
        ("alice", "role", "alice", "admin"),  # not to themselves
        ("bob", "owner", "bob", ""),
        ("alice", "owner", "alice", ""),
        ("bob", "link", None, ""),
        ("bob", "rename", None, ""),
        ("alice", "add", "bob", ""),  # a member already
        ("alice", "remove", "carol", ""),  # not a member
    ],
)
def test_a_change_its_actor_may_not_make_is_refused_and_changes_nothing(users, who, op, whom, role) -> None:
    alice, bob = users["alice"], users["bob"]
    _, chain = make_room(alice, bob)
    options = {"member": users[whom]} if whom else {}
    if op == "link":
        options["link_secret"] = new_link()
    wire = chain.entry(users[who], op, role=role, **options)
    assert refusal(chain, users[who], wire).code == "forbidden"


def test_outsiders_and_removed_members_change_nothing(users, dave) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _room, chain = make_room(alice, bob, carol)
    chain.append(alice, "remove", member=carol)
    for stranger in (carol, dave):
        assert refusal(chain, stranger, chain.entry(stranger, "add", member=stranger)).code == "not_member"
        assert refusal(chain, stranger, chain.entry(stranger, "rename", name="Mine")).code == "not_member"


def test_an_entry_for_a_room_that_does_not_exist_answers_like_one_you_are_not_in(users) -> None:
    alice, carol = users["alice"], users["carol"]
    _, chain = make_room(alice)
    ghost = Chain(state=chain.state)
    assert refusal(ghost, carol, ghost.entry(carol, "rename")).code == "not_member"


def test_a_signature_by_someone_elses_key_is_refused(users) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob)
    body = chain.body(alice, "add", member=carol)
    by_bob = ref.sign(body, identity_keys("bob")[0])
    assert refusal(chain, alice, by_bob).code == "bad_signature"
    # Signed by alice but sent by bob: the actor must be whoever sends it.
    assert refusal(chain, bob, chain.sign(alice, body)).code == "forbidden"


def test_an_entry_signed_with_a_key_from_before_a_reset_is_refused(users) -> None:
    from accounts.tests.factories import reset_keys

    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob)
    old_body = chain.body(alice, "add", member=carol)
    reset_keys(alice)
    assert refusal(chain, alice, chain.sign(alice, old_body, key_version=1)).code == "bad_signature"
    # With her new key she goes on (the chain verifies the old entries with her key history).
    chain.append(alice, "add", member=carol)
    assert json.loads(chain.entries[-1]["body"])["actor_key"] == 2


def test_adding_someone_at_a_key_version_that_is_not_theirs_is_refused(users) -> None:
    alice, carol = users["alice"], users["carol"]
    _, chain = make_room(alice)
    introductions.introduce(alice.pk, carol.pk)  # she looked carol up by name: a wrong version is worth saying
    body = chain.body(alice, "add", member=carol)
    body["members"] = [[carol.pk, 2]]
    error = refusal(chain, alice, chain.sign(alice, body))
    assert (error.code, error.field) == ("bad_entry", "entry.body.members.0")
    body["members"] = [[10**6, 1]]
    assert refusal(chain, alice, chain.sign(alice, body)).code == "not_found"


@pytest.mark.parametrize(
    ("sealed_for", "field"),
    [("without carol", "entry.body.meta.wrap_ids"), ("with dave", "entry.body.meta.wrap_ids")],
)
def test_meta_not_sealed_for_exactly_the_members_after_the_entry_is_refused(users, dave, sealed_for, field) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob)
    recipients = {alice.pk, bob.pk} if sealed_for == "without carol" else {alice.pk, bob.pk, carol.pk, dave.pk}
    introductions.introduce(alice.pk, carol.pk)
    error = refusal(chain, alice, chain.entry(alice, "add", member=carol, sealed_for=recipients))
    assert (error.code, error.field) == ("bad_entry", field)


def test_meta_must_carry_a_link_wrap_exactly_while_a_link_is_open(users) -> None:
    alice, bob = users["alice"], users["bob"]
    _, chain = make_room(alice, bob, link=True)
    without = chain.entry(alice, "rename", link_secret=None)  # sealed as if the link were closed
    error = refusal(chain, alice, without)
    assert (error.code, error.field) == ("bad_entry", "entry.body.meta.link_wrap")


def test_a_room_holds_at_most_256_members(users) -> None:
    alice, carol = users["alice"], users["carol"]
    room, chain = make_room(alice)
    extra = User.objects.bulk_create(User(username=f"user{i}") for i in range(MAX_MEMBERS - 1))
    Membership.objects.bulk_create(Membership(room=room, user=user) for user in extra)
    introductions.introduce(alice.pk, carol.pk)
    body = chain.body(alice, "add", member=carol, sealed_for={alice.pk})
    body["meta"]["wrap_ids"] = sorted([alice.pk, carol.pk, *(user.pk for user in extra)])[:MAX_MEMBERS]
    body["meta"]["wraps"] = b64(os.urandom(40 * MAX_MEMBERS))
    assert refusal(chain, alice, chain.sign(alice, body)).code == "room_full"


# --- replays, stale heads, races -------------------------------------------------------------------------------------


def test_a_stale_prev_is_refused_with_the_current_head_and_changes_nothing(users, dave) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob)
    stale = chain.entry(alice, "add", member=carol)  # made on head 1 …
    chain.append(alice, "add", member=dave)  # … which moved on meanwhile
    error = refusal(chain, alice, stale)
    assert error.code == "roster_conflict" and error.status == 409
    assert error.extra["head"] == {"seq": 2, "hash": chain.head[1]}


def test_a_replayed_entry_is_refused(users) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob)
    chain.append(alice, "add", member=carol)
    chain.append(alice, "remove", member=carol)
    # Replaying the add (a stored, validly signed entry) would put carol back: its seq is taken.
    error = refusal(chain, alice, chain.entries[2])
    assert (error.code, error.extra["head"]["seq"]) == ("roster_conflict", 3)


@pytest.mark.parametrize(("seq", "prev"), [(3, None), (1, None), (2, b64(bytes(32)))])
def test_an_out_of_order_entry_is_refused(users, seq, prev) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob)
    wire = chain.entry(alice, "add", member=carol, seq=seq, prev=prev or chain.head[1])
    assert refusal(chain, alice, wire).code == "roster_conflict"


def test_any_member_seals_the_name_again_and_it_changes_nothing_else(users, dave) -> None:
    alice, bob = users["alice"], users["bob"]
    room, chain = make_room(alice, bob)
    before = (members_of(room), Room.objects.get(id=room.id).owner_id)
    chain.append(bob, "reseal")  # bob is no admin: a re-seal is any member's to make
    assert (members_of(room), Room.objects.get(id=room.id).owner_id) == before
    assert Room.objects.get(id=room.id).roster_seq == 2
    assert refusal(chain, dave, chain.entry(dave, "reseal")).code == "not_member"


def test_an_entry_after_a_direct_rooms_create_is_refused(users) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room, chain = make_room(alice, bob, kind="direct")
    assert (room.kind, room.owner_id, room.direct_key) == ("direct", None, f"{alice.pk}:{bob.pk}")
    assert refusal(chain, alice, chain.entry(alice, "add", member=carol)).code == "forbidden"
    assert refusal(chain, bob, chain.entry(bob, "rename", name="Ours")).code == "forbidden"


def test_a_direct_room_is_exactly_two_people_once_per_pair(users) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room, _ = make_room(alice, bob, kind="direct")
    again = Chain()
    error = refusal(again, bob, again.entry(bob, "create", members=(bob, alice), kind="direct"))
    assert (error.code, error.extra["room"]) == ("conflict", str(room.id))
    three = Chain()
    error = refusal(three, alice, three.entry(alice, "create", members=(alice, bob, carol), kind="direct"))
    assert (error.code, error.field) == ("bad_entry", "entry.body.members")


def test_a_create_for_a_room_that_exists_is_refused(users) -> None:
    alice, carol = users["alice"], users["carol"]
    room, _chain = make_room(alice)
    again = Chain(room_id=room.id)
    for actor in (alice, carol):
        error = refusal(again, actor, again.entry(actor, "create", members=(actor,)))
        assert (error.code, error.extra["room"]) == ("conflict", str(room.id))


def test_concurrent_appends_to_one_room_are_serialised_one_wins(users, dave) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room, chain = make_room(alice, bob)
    for user in (carol, dave):
        introductions.introduce(alice.pk, user.pk)
    entries = {user: roster.entry(Fields({"entry": chain.entry(alice, "add", member=user)})) for user in (carol, dave)}
    start = threading.Barrier(2)
    results: dict[User, Any] = {}

    def append(user: User) -> None:
        try:
            start.wait(10)
            results[user] = services.append_entry(actor=alice, room_id=room.id, entry=entries[user], client=LOCAL)
        except ApiError as error:
            results[user] = error
        finally:
            db.connection.close()

    threads = [threading.Thread(target=append, args=(user,)) for user in (carol, dave)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    [winner] = [user for user, result in results.items() if isinstance(result, services.Appended)]
    [loser] = [result for result in results.values() if isinstance(result, ApiError)]
    room.refresh_from_db()
    assert loser.code == "roster_conflict"
    assert loser.extra["head"] == {"seq": 2, "hash": b64(bytes(room.roster_head))}
    assert members_of(room) == sorted(["alice", "bob", winner.username])
    assert RosterEntry.objects.filter(room=room).count() == 3


# --- malformed entries ------------------------------------------------------------------------------------------------


def noncanonical(text: str) -> str:
    """The same bytes in another base64 spelling: the last character's unused bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = text.rstrip("=")
    last = alphabet.index(stripped[-1])
    return stripped[:-1] + alphabet[last | 1] + text[len(stripped) :]


def reordered(body: dict[str, Any]) -> str:
    keys = list(body)
    keys[0], keys[1] = keys[1], keys[0]
    return json.dumps({key: body[key] for key in keys}, separators=(",", ":"))


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def changed(**values: Any) -> Any:
    return lambda body: canonical({**body, **values})


def changed_meta(**values: Any) -> Any:
    return lambda body: canonical({**body, "meta": {**body["meta"], **values}})


MALFORMED_BODIES = [
    ("spaces", lambda body: json.dumps(body), "entry.body"),
    ("keys out of order", reordered, "entry.body"),
    ("an extra key", changed(extra=1), "entry.body.extra"),
    ("a missing key", lambda body: canonical({k: v for k, v in body.items() if k != "role"}), "entry.body.role"),
    ("a duplicated key", lambda body: canonical(body).replace('{"v":1,', '{"v":1,"v":1,'), "entry.body"),
    ("an escaped character", lambda body: canonical(body).replace('"op":"add"', '"op":"\\u0061dd"'), "entry.body"),
    ("not ASCII", lambda body: canonical(body).replace('"role":""', '"role":"é"'), "entry.body"),
    ("not JSON", lambda body: canonical(body)[:-1], "entry.body"),
    ("nested deeper than a parser goes", lambda body: "[" * 20_000, "entry.body"),
    ("a list", lambda body: "[]", "entry.body"),
    ("v 2", changed(v=2), "entry.body.v"),
    ("a float seq", changed(seq=2.0), "entry.body.seq"),
    ("a string seq", changed(seq="2"), "entry.body.seq"),
    ("an add at seq 0", changed(seq=0, prev=""), "entry.body.seq"),
    ("a room id in upper case", lambda body: changed(room=body["room"].upper())(body), "entry.body.room"),
    ("prev not base64", changed(prev="!" * 44), "entry.body.prev"),
    ("prev in another base64 spelling", lambda body: changed(prev=noncanonical(body["prev"]))(body), "entry.body.prev"),
    ("prev of 31 bytes", changed(prev=b64(bytes(31))), "entry.body.prev"),
    ("at past year 9999", changed(at=253_402_300_800_000), "entry.body.at"),
    ("an unknown op", changed(op="invite"), "entry.body.op"),
    ("a kind on an add", changed(kind="group"), "entry.body.kind"),
    ("a role on an add", changed(role="admin"), "entry.body.role"),
    ("a link on an add", changed(link=b64(bytes(32))), "entry.body.link"),
    ("two members on an add", lambda body: changed(members=[[1, 1], *body["members"]])(body), "entry.body.members"),
    (
        "a member of three numbers",
        lambda body: changed(members=[[*body["members"][0], 1]])(body),
        "entry.body.members.0",
    ),
    ("a member id of true", lambda body: changed(members=[[True, 1]])(body), "entry.body.members.0.id"),
    ("a meta key missing", lambda body: changed(meta={**body["meta"], "iv": None})(body), "entry.body.meta.iv"),
    (
        "meta keys out of order",
        lambda body: changed(meta=dict(reversed(body["meta"].items())))(body),
        "entry.body.meta",
    ),
    ("a short meta ciphertext", changed_meta(ciphertext=b64(bytes(300))), "entry.body.meta.ciphertext"),
    ("a meta ciphertext of 9 blocks", changed_meta(ciphertext=b64(bytes(9 * 256 + 16))), "entry.body.meta.ciphertext"),
    ("an iv of 11 bytes", changed_meta(iv=b64(bytes(11))), "entry.body.meta.iv"),
    ("wrap ids out of order", lambda body: changed_meta(wrap_ids=body["meta"]["wrap_ids"][::-1])(body), None),
    ("wraps one short", changed_meta(wraps=b64(bytes(40 * 3 - 1))), "entry.body.meta.wraps"),
    ("a link wrap of 39 bytes", changed_meta(link_wrap=b64(bytes(39))), "entry.body.meta.link_wrap"),
]


@pytest.mark.parametrize(("label", "mutate", "field"), MALFORMED_BODIES, ids=[case[0] for case in MALFORMED_BODIES])
def test_a_malformed_body_is_refused_as_bad_entry_naming_its_field(users, label, mutate, field) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob)
    # Signed after the change: the body is refused for its form, whoever signed it.
    wire = ref.sign(mutate(chain.body(alice, "add", member=carol)), identity_keys("alice")[0])
    error = refusal(chain, alice, wire)
    assert error.code == "bad_entry"
    assert error.field == field or (field is None and error.field.startswith("entry.body.meta.wrap_ids."))


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"extra": "x"}, "bad_entry", "entry.extra"),
        ({"signature": "!" * 88}, "bad_base64", "entry.signature"),
        ({"signature": b64(bytes(63))}, "bad_length", "entry.signature"),
        ({"signature": None}, "missing_field", "entry.signature"),
        ({"link_signature": b64(bytes(64))}, "bad_entry", "entry.link_signature"),
        ({"body": 7}, "wrong_type", "entry.body"),
        ({"body": "x" * (32 * 1024 + 1)}, "too_large", "entry.body"),
    ],
)
def test_a_malformed_wire_entry_is_refused_with_a_stable_code(users, change, code, field) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob)
    wire = {**chain.entry(alice, "add", member=carol), **change}
    wire = {key: value for key, value in wire.items() if value is not None}
    error = refusal(chain, alice, wire)
    assert (error.code, error.field) == (code, field)


def test_the_form_of_an_entry_is_checked_before_anything_else(users) -> None:
    """The edge parser alone refuses what is malformed: nothing about the room is read or told for it."""
    with pytest.raises(ApiError) as refused:
        roster.entry(Fields({"entry": {"body": "{}", "signature": b64(bytes(64)), "link_signature": ""}}))
    assert (refused.value.code, refused.value.field) == ("bad_entry", "entry.body.v")


# --- rooms from before rosters ---------------------------------------------------------------------------------------


def legacy_room(owner: User, *others: User, name: str = "Old plans 5ac1", kind: str = "group") -> Room:
    """A room as the server kept one before rosters: a name it knew, an invite token, no roster."""
    room = Room.objects.create(
        legacy_name=name if kind == "group" else "",
        kind=kind,
        owner=owner if kind == "group" else None,
        invite_token="t" * 43,
        policy=Room.Policy.LINK,
        direct_key=f"{min(owner.pk, others[0].pk)}:{max(owner.pk, others[0].pk)}" if kind == "direct" else None,
    )
    Membership.objects.bulk_create(Membership(room=room, user=user) for user in (owner, *others))
    return room


def test_a_room_from_before_rosters_is_signed_by_its_owner_and_forgets_its_name(users) -> None:
    alice, bob = users["alice"], users["bob"]
    room = legacy_room(alice, bob)
    assert selectors.room_for(bob, room.id)["name"] == "Old plans 5ac1"
    assert selectors.room_for(bob, room.id)["roster"] is None
    chain = Chain(room_id=room.id, name="Old plans 5ac1")
    assert refusal(chain, bob, chain.entry(bob, "create", members=(alice, bob))).code == "forbidden"
    chain.append(alice, "create", members=(alice, bob))
    room.refresh_from_db()
    assert (room.legacy_name, room.invite_token, room.roster_seq, room.owner_id) == ("", None, 0, alice.pk)
    listed = selectors.room_for(bob, room.id)
    assert (listed["name"], listed["roster"]) == (None, {"seq": 0, "hash": chain.head[1]})
    assert AuditEvent.objects.get(action="room_created").detail["adopted"] is True
    assert not (found := scan_database({"name": "Old plans 5ac1"})), describe(found)
    # Its old ways are closed: the old link and the unsigned leave.
    with pytest.raises(ApiError) as old_link:
        services.join_by_link(user=users["carol"], invite_token="t" * 43, client=LOCAL)
    assert old_link.value.code == "not_found"
    with pytest.raises(ApiError) as unsigned_leave:
        services.leave_room(user=bob, room_id=room.id, client=LOCAL)
    assert unsigned_leave.value.code == "forbidden"


@pytest.mark.parametrize(
    ("members", "kind", "field"),
    [
        (("alice",), "group", "entry.body.members"),
        (("alice", "bob", "carol"), "group", "entry.body.members"),
        (("alice", "bob"), "direct", "entry.body.kind"),
    ],
)
def test_a_legacy_rooms_first_entry_must_name_exactly_its_members_and_kind(users, members, kind, field) -> None:
    alice, bob = users["alice"], users["bob"]
    room = legacy_room(alice, bob)
    chain = Chain(room_id=room.id)
    wire = chain.entry(alice, "create", members=tuple(users[name] for name in members), kind=kind)
    error = refusal(chain, alice, wire)
    assert (error.code, error.field) == ("bad_entry", field)


def test_either_person_signs_a_direct_room_from_before_rosters(users) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room = legacy_room(alice, bob, kind="direct")
    chain = Chain(room_id=room.id)
    assert refusal(chain, carol, chain.entry(carol, "create", members=(carol, bob), kind="direct")).code == "conflict"
    chain.append(bob, "create", members=(alice, bob), kind="direct")
    room.refresh_from_db()
    assert (room.roster_seq, room.kind, room.owner_id) == (0, "direct", None)


def test_legacy_rooms_still_leave_and_join_as_before(users) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room = legacy_room(alice, bob)
    joined = services.join_by_link(user=carol, invite_token="t" * 43, client=LOCAL)
    assert joined.id == room.id and members_of(room) == ["alice", "bob", "carol"]
    services.leave_room(user=alice, room_id=room.id, client=LOCAL)
    room.refresh_from_db()
    assert room.owner_id == bob.pk and members_of(room) == ["bob", "carol"]


def test_a_rostered_room_refuses_the_unsigned_leave(users) -> None:
    alice, bob = users["alice"], users["bob"]
    room, _ = make_room(alice, bob)
    before = snapshot()
    with pytest.raises(ApiError) as refused:
        services.leave_room(user=bob, room_id=room.id, client=LOCAL)
    assert refused.value.code == "forbidden" and snapshot() == before


# --- what the server keeps -------------------------------------------------------------------------------------------


def test_the_database_holds_no_room_name_after_creating_adding_and_renaming(users, dave) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, chain = make_room(alice, bob, name="Launch codes 7f3a", link=True)
    chain.topic = "Topic nobody may read 0c2e"
    chain.append(alice, "add", member=carol)
    chain.append(alice, "rename", name="Renamed 91bc")
    chain.append(dave, "join", member=dave)
    names = {"name": "Launch codes 7f3a", "renamed": "Renamed 91bc", "topic": "Topic nobody may read 0c2e"}
    # Nor the link's secret, which only members (and the link's holders) can unseal.
    found = scan_database({**names, "link secret": chain.link_secret})
    assert not found, describe(found)
    # The members read it all back from the chain.
    body = json.loads(chain.entries[-1]["body"])
    _, agreement = private_keys(carol)
    plain = ref.open_meta(body, my_id=carol.pk, agreement_key=agreement, kind="group")
    assert plain == {
        "name": "Renamed 91bc",
        "topic": "Topic nobody may read 0c2e",
        "link": ref.b64url(chain.link_secret),
    }
