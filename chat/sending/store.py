"""Check and store: a batch of sends is checked against its rooms, as the database has them, and stored in one
transaction.

A send is stored only if its sender is a member who accepted the room, it is wrapped for exactly the room's members
(invitations not yet answered too: they are on the roster) at the roster head it names, and (from envelope v3) it
takes the next place in its sender's chain in the room. The senders' rate is counted before, on the event loop
(``over_rate``); the statements that lock the rooms and insert are in ``chat.sending.sql``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User
from chat import selectors
from chat.models import Envelope, Room
from chat.protocol import EnvelopeIn
from chat.sending import sql
from toolkit import throttle
from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import encode_base64


def send_limit() -> throttle.Limit:
    return throttle.Limit("send-user", settings.SEND_RATE_PER_MINUTE, 60, "You are sending too fast.")


@dataclass(frozen=True)
class Posted:
    envelope: Envelope
    created: bool
    # Stored now: the id of the room's envelope just before this one (0: none), so a live frame says what it follows.
    after: int = 0


@dataclass(frozen=True)
class Post:
    """One envelope a user asks to send to a room."""

    sender: User
    room_id: uuid.UUID
    envelope: EnvelopeIn

    @property
    def key(self) -> tuple[int, uuid.UUID]:
        return (self.sender.pk, self.envelope.client_id)


def post_envelopes(posts: list[Post], *, refused: dict[tuple[int, uuid.UUID], ApiError]) -> list[Posted | ApiError]:
    """Store each envelope whose sender may send it to exactly the room's current members; one result per post.

    Idempotent: a ``client_id`` the sender used before gives the envelope stored the first time. All of them are
    checked and written in one transaction, with every room involved locked, so sends that arrive together share
    the round trips and the commit (docs/PERFORMANCE.md) and ids still grow in the order each room's envelopes commit.
    The senders' rate is counted before, off the database thread (``over_rate``): ``refused`` holds the posts over it.
    """
    results: dict[tuple[int, uuid.UUID], Posted | ApiError] = {
        post.key: error for post in _unique(posts) if (error := _misaddressed(post)) is not None
    }
    fresh = countable(posts)
    results.update({post.key: refused[post.key] for post in fresh if post.key in refused})
    results.update(_store_new([post for post in fresh if post.key not in results]))
    return _in_order(posts, results)


def countable(posts: list[Post]) -> list[Post]:
    """The posts that count towards their senders' rate: the first of each (sender, client_id), if addressed right."""
    return [post for post in _unique(posts) if _misaddressed(post) is None]


def _store_new(posts: list[Post]) -> dict[tuple[int, uuid.UUID], Posted | ApiError]:
    """Store the posts, optimistically: a resend is rare, and the (sender, client_id) unique index catches it."""
    if not posts:
        return {}
    try:
        return _store(posts)
    except IntegrityError:  # some were stored before (resends), or just now on another socket
        results: dict[tuple[int, uuid.UUID], Posted | ApiError] = {
            (envelope.sender_id, envelope.client_id): Posted(envelope, created=False) for envelope in _earlier(posts)
        }
        rest = [post for post in posts if post.key not in results]
        if len(posts) == 1 and rest:
            raise
        for post in rest:  # one at a time: a further race settles each on its own
            results.update(_store_new([post]))
        return results


def _unique(posts: list[Post]) -> list[Post]:
    """The first post of each (sender, client_id): a resend inside the same batch is answered like a repeat."""
    seen: dict[tuple[int, uuid.UUID], Post] = {}
    for post in posts:
        seen.setdefault(post.key, post)
    return list(seen.values())


def _in_order(posts: list[Post], results: dict[tuple[int, uuid.UUID], Posted | ApiError]) -> list[Posted | ApiError]:
    """One result per post, in order; a resend after the first of its key is a repeat (``created`` false)."""
    answered: set[tuple[int, uuid.UUID]] = set()
    ordered: list[Posted | ApiError] = []
    for post in posts:
        result = results[post.key]
        if post.key in answered and isinstance(result, Posted):
            result = Posted(result.envelope, created=False)
        answered.add(post.key)
        ordered.append(result)
    return ordered


def _misaddressed(post: Post) -> ApiError | None:
    if post.envelope.sender != post.sender.pk:
        return ApiError(ErrorCode.FORBIDDEN, "The envelope's sender must be you.", field="envelope.sender")
    if post.envelope.room != post.room_id:
        return ApiError(ErrorCode.FORBIDDEN, "The envelope names another room.", field="envelope.room")
    return None


def _earlier(posts: list[Post]) -> list[Envelope]:
    """Envelopes already stored under the posts' (sender, client_id): one query."""
    if not posts:
        return []
    keys = {post.key for post in posts}
    # Both columns, so the lookup uses the (sender, client_id) unique index.
    candidates = Envelope.objects.filter(
        sender_id__in={sender for sender, _ in keys}, client_id__in={client_id for _, client_id in keys}
    )
    return [envelope for envelope in candidates if (envelope.sender_id, envelope.client_id) in keys]


def _by_sender(posts: list[Post]) -> dict[str, list[Post]]:
    by_sender: dict[str, list[Post]] = {}
    for post in posts:
        by_sender.setdefault(str(post.sender.pk), []).append(post)
    return by_sender


async def over_rate(posts: list[Post]) -> dict[tuple[int, uuid.UUID], ApiError]:
    """Count the senders' rate for a batch (the ``countable`` posts) and return the posts over it.

    One counter round trip for the whole batch, on the event loop: it holds no database thread (``batch``).
    """
    by_sender = _by_sender(countable(posts))
    counted = await throttle.hit_each(send_limit(), {s: len(own) for s, own in by_sender.items()})
    return refused_by_rate(by_sender, counted)


def refused_by_rate(
    by_sender: dict[str, list[Post]], counted: dict[str, throttle.Counted]
) -> dict[tuple[int, uuid.UUID], ApiError]:
    refused: dict[tuple[int, uuid.UUID], ApiError] = {}
    for sender, own in by_sender.items():
        for post in own[counted[sender].allowed :]:
            refused[post.key] = counted[sender].refusal
    return refused


@transaction.atomic
def _store(posts: list[Post]) -> dict[tuple[int, uuid.UUID], Posted | ApiError]:
    chains = {(post.room_id, post.sender.pk) for post in posts if post.envelope.chain_seq is not None}
    rooms = sql.lock_rooms({post.room_id for post in posts}, chains)
    results: dict[tuple[int, uuid.UUID], Posted | ApiError] = {}
    new: list[Envelope] = []
    members_changed: dict[uuid.UUID, ApiError] = {}  # one member list per room, however many sends missed it
    out_of_chain: list[Post] = []
    for post in posts:
        room = rooms.get(post.room_id)
        room_members = room.members if room is not None else set()
        if room is None or post.sender.pk not in room.accepted:
            results[post.key] = ApiError(ErrorCode.NOT_MEMBER, "No such room, or you are not a member.")
        elif not _names_head(post.envelope, room):
            results[post.key] = ApiError(
                ErrorCode.ROSTER_CHANGED,
                "The room's roster changed: read it again, wrap for its members and send again.",
                head=None
                if room.roster_seq is None
                else {"seq": room.roster_seq, "hash": encode_base64(room.roster_head)},
            )
        elif set(post.envelope.wrap_ids) != room_members:
            if post.room_id not in members_changed:
                members_changed[post.room_id] = ApiError(
                    ErrorCode.MEMBERS_CHANGED,
                    "The room's members changed: wrap the message for the current members and send it again.",
                    members=selectors.room_json(Room.objects.get(id=post.room_id))["members"],
                )
            results[post.key] = members_changed[post.room_id]
        elif not _follows_on(post, room):
            out_of_chain.append(post)
        else:
            new.append(_envelope(post))
    sql.insert_envelopes(new)
    # After the insert: a post that lost its place to another of this batch is told of the winner.
    results.update(_chain_refusals(out_of_chain, rooms))
    newest = {room_id: room.newest for room_id, room in rooms.items()}
    for stored in sorted(new, key=lambda envelope: envelope.id):  # the room is locked: nothing else comes between
        results[(stored.sender_id, stored.client_id)] = Posted(stored, created=True, after=newest[stored.room_id])
        newest[stored.room_id] = stored.id
    return results


def _follows_on(post: Post, room: sql.LockedRoom) -> bool:
    """A v3 envelope takes the next place in its sender's chain in the room (and, taken, the place is theirs); older
    versions have no chain. Whether its ``chain_prev`` is the previous one's hash is for readers to check: they
    have the bytes it hashes and the server's word is not needed."""
    seq = post.envelope.chain_seq
    if seq is None:
        return True
    if seq != room.chain_ends.get(post.sender.pk, 0) + 1:
        return False
    room.chain_ends[post.sender.pk] = seq
    return True


def _chain_refusals(
    posts: list[Post], rooms: dict[uuid.UUID, sql.LockedRoom]
) -> dict[tuple[int, uuid.UUID], Posted | ApiError]:
    """A resend of a stored envelope is answered as one; any other post that does not take the next place in its
    sender's chain is refused with the sender's newest envelope there, to follow on from (another tab of theirs wrote
    meanwhile, or this one never saw their newest)."""
    results: dict[tuple[int, uuid.UUID], Posted | ApiError] = {
        (envelope.sender_id, envelope.client_id): Posted(envelope, created=False) for envelope in _earlier(posts)
    }
    for post in posts:
        if post.key in results:
            continue
        end = rooms[post.room_id].chain_ends.get(post.sender.pk, 0)
        latest = Envelope.objects.filter(room_id=post.room_id, sender_id=post.sender.pk, chain_seq=end).first()
        results[post.key] = ApiError(
            ErrorCode.CHAIN_CHANGED,
            "Your chain of messages in this room moved on: follow on from your newest message and send again.",
            latest=None if latest is None else selectors.envelope_json(latest),
        )
    return results


def _names_head(envelope: EnvelopeIn, room: sql.LockedRoom) -> bool:
    """A room with a roster takes v2 envelopes wrapped for its head; one from before rosters, v1 only."""
    if room.roster_seq is None:
        return envelope.roster_seq is None
    return envelope.roster_seq == room.roster_seq and envelope.roster_hash == room.roster_head


def _envelope(post: Post) -> Envelope:
    envelope = post.envelope
    values = {
        "room_id": post.room_id,
        "sender_id": post.sender.pk,
        "client_id": envelope.client_id,
        "version": envelope.version,
        "client_time": envelope.sent_at,
        "eph_pub": envelope.eph_pub,
        "iv": envelope.iv,
        "ciphertext": envelope.ciphertext,
        "signature": envelope.signature,
        "wrap_ids": list(envelope.wrap_ids),
        "wraps": envelope.wraps,
        "size": len(envelope.ciphertext),
        "roster_seq": envelope.roster_seq,
        "roster_hash": envelope.roster_hash,
        "key_version": envelope.key_version,
        "chain_seq": envelope.chain_seq,
        "chain_prev": envelope.chain_prev,
        "key_commit": envelope.key_commit,
    }
    # Positional, in the model's own field order: Django's fast path (keywords cost twice as much); the
    # id and server_time come with the insert.
    return Envelope(*[values.get(name) for name in _ENVELOPE_COLUMNS])


_ENVELOPE_COLUMNS = [field.attname for field in Envelope._meta.concrete_fields]
