"""Writes: rooms, memberships and envelopes. Each change commits, then tells open sockets."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import AuditEvent, User
from accounts.schemas import USERNAME_PATTERN
from accounts.services import ClientInfo, record_event
from chat import events, selectors, storing
from chat.models import Envelope, Membership, Room
from chat.protocol import MAX_MEMBERS, EnvelopeIn
from securechat import throttle
from securechat.errors import ApiError, ErrorCode

MAX_ROOM_NAME = 80
# secrets.token_urlsafe(32), as Room.invite_token makes them.
INVITE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def send_limit() -> throttle.Limit:
    return throttle.Limit("send-user", settings.SEND_RATE_PER_MINUTE, 60, "You are sending too fast.")


@dataclass(frozen=True)
class Posted:
    envelope: Envelope
    created: bool
    # Stored now: the id of the room's envelope just before this one (0: none), so a live frame says what it follows.
    after: int = 0

    def ack(self) -> dict[str, Any]:
        return {
            "type": "ack",
            "client_id": str(self.envelope.client_id),
            "id": self.envelope.id,
            "room": str(self.envelope.room_id),
        }


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_ROOM_NAME:
        raise ApiError(ErrorCode.BAD_LENGTH, f"A room name is 1 to {MAX_ROOM_NAME} characters.", field="name")
    return name


def _user_named(username: str) -> User:
    # A name no account can have matches none without a query (a NUL in one is an error to Postgres, not a miss).
    user = (
        User.objects.filter(username__iexact=username, identity__isnull=False, is_active=True).first()
        if USERNAME_PATTERN.fullmatch(username)
        else None
    )
    if user is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"No user named {username[:64]!r}.", field="username")
    return user


def _locked_room(room_id: uuid.UUID | str) -> Room:
    """The room row, locked: membership changes and sends to one room happen one at a time."""
    room = Room.objects.select_for_update().filter(id=room_id).first()
    if room is None:
        raise ApiError(ErrorCode.NOT_MEMBER, "No such room, or you are not a member.")
    return room


def _join(room: Room, user: User) -> Membership:
    if selectors.active_memberships().filter(room=room).count() >= MAX_MEMBERS:
        raise ApiError(ErrorCode.ROOM_FULL, f"A room has at most {MAX_MEMBERS} members.")
    last_id = Envelope.objects.filter(room=room).aggregate(last=Max("id"))["last"] or 0
    return Membership.objects.create(room=room, user=user, joined_after=last_id)


def _announce_members_changed(room: Room) -> None:
    events.send_on_commit(events.room_group(room.id), {"type": "room.updated", "room_id": str(room.id)})


def _announce_added(room: Room, user: User) -> None:
    events.send_on_commit(events.user_group(user.pk), {"type": "room.added", "room_id": str(room.id)})
    _announce_members_changed(room)


def _announce_removed(room: Room, user: User) -> None:
    events.send_on_commit(events.user_group(user.pk), {"type": "room.removed", "room_id": str(room.id)})
    _announce_members_changed(room)


@transaction.atomic
def create_room(*, owner: User, name: str, policy: str, client: ClientInfo) -> Room:
    if policy not in Room.Policy.values:
        raise ApiError(ErrorCode.WRONG_TYPE, "policy is 'invite' or 'link'.", field="policy")
    room = Room.objects.create(name=_clean_name(name), kind=Room.Kind.GROUP, policy=policy, owner=owner)
    Membership.objects.create(room=room, user=owner)
    record_event(AuditEvent.Action.ROOM_CREATED, client=client, user=owner, detail={"room": str(room.id)})
    _announce_added(room, owner)
    return room


def open_direct(*, user: User, other_username: str, client: ClientInfo) -> Room:
    """The one direct conversation between two users, created on first use."""
    other = _user_named(other_username)
    if other.pk == user.pk:
        raise ApiError(ErrorCode.FORBIDDEN, "A direct conversation needs someone else.", field="username")
    low, high = sorted((user.pk, other.pk))
    key = f"{low}:{high}"
    existing = Room.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            room = Room.objects.create(kind=Room.Kind.DIRECT, direct_key=key, owner=None)
            for member in (user, other):
                Membership.objects.create(room=room, user=member)
                _announce_added(room, member)
            record_event(
                AuditEvent.Action.ROOM_CREATED, client=client, user=user, detail={"room": str(room.id), "direct": True}
            )
    except IntegrityError:  # both opened it at once
        return Room.objects.get(direct_key=key)
    return room


def _owned_room(actor: User, room_id: uuid.UUID | str, *, to: str) -> Room:
    """The group room, locked, if ``actor`` owns it; ``to`` says what only the owner may do."""
    room = _locked_room(room_id)
    selectors.membership_of(actor, room.id)
    if room.kind != Room.Kind.GROUP or room.owner_id != actor.pk:
        raise ApiError(ErrorCode.FORBIDDEN, f"Only the room's owner can {to}.")
    return room


def _record_membership(action: AuditEvent.Action, room: Room, actor: User, member: User, client: ClientInfo) -> None:
    detail = {"room": str(room.id), "member": member.username}
    record_event(action, client=client, user=actor, detail=detail)


def _end_stay(membership: Membership) -> None:
    membership.left_at = timezone.now()
    membership.save(update_fields=["left_at"])


@transaction.atomic
def add_member(*, actor: User, room_id: uuid.UUID | str, username: str, client: ClientInfo) -> Room:
    room = _owned_room(actor, room_id, to="add members")
    user = _user_named(username)
    if selectors.active_memberships().filter(room=room, user=user).exists():
        raise ApiError(ErrorCode.FORBIDDEN, f"{user.username} is already a member.", field="username")
    _join(room, user)
    _record_membership(AuditEvent.Action.MEMBER_ADDED, room, actor, user, client)
    _announce_added(room, user)
    return room


@transaction.atomic
def remove_member(*, actor: User, room_id: uuid.UUID | str, username: str, client: ClientInfo) -> Room:
    room = _owned_room(actor, room_id, to="remove members")
    user = _user_named(username)
    if user.pk == actor.pk:
        raise ApiError(ErrorCode.FORBIDDEN, "Use 'Leave room' to leave your own room.", field="username")
    _end_stay(selectors.membership_of(user, room.id))
    # Whoever was removed may still hold the invite link: a new one keeps them out.
    room.invite_token = secrets.token_urlsafe(32)
    room.save(update_fields=["invite_token"])
    _record_membership(AuditEvent.Action.MEMBER_REMOVED, room, actor, user, client)
    _announce_removed(room, user)
    return room


@transaction.atomic
def leave_room(*, user: User, room_id: uuid.UUID | str, client: ClientInfo) -> None:
    room = _locked_room(room_id)
    _end_stay(selectors.membership_of(user, room.id))
    if room.owner_id == user.pk:
        # The longest-standing member inherits the room.
        heir = selectors.active_memberships().filter(room=room).order_by("joined_at", "id").first()
        room.owner_id = heir.user_id if heir else None
        room.save(update_fields=["owner"])
    record_event(AuditEvent.Action.MEMBER_LEFT, client=client, user=user, detail={"room": str(room.id)})
    _announce_removed(room, user)


@transaction.atomic
def join_by_link(*, user: User, invite_token: str, client: ClientInfo) -> Room:
    room = (
        Room.objects.select_for_update().filter(invite_token=invite_token, policy=Room.Policy.LINK).first()
        if INVITE_TOKEN.fullmatch(invite_token)  # one the server made (a NUL in one is an error to Postgres)
        else None
    )
    if room is None:
        raise ApiError(ErrorCode.NOT_FOUND, "This invite link is not valid (any more).")
    if not selectors.active_memberships().filter(room=room, user=user).exists():
        _join(room, user)
        record_event(
            AuditEvent.Action.MEMBER_ADDED,
            client=client,
            user=user,
            detail={"room": str(room.id), "member": user.username, "via": "link"},
        )
        _announce_added(room, user)
    return room


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

    One counter round trip for the whole batch, on the event loop, so it holds no database thread (``chat.writer``).
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
    rooms = storing.lock_rooms({post.room_id for post in posts})
    results: dict[tuple[int, uuid.UUID], Posted | ApiError] = {}
    new: list[Envelope] = []
    members_changed: dict[uuid.UUID, ApiError] = {}  # one member list per room, however many sends missed it
    for post in posts:
        room_members = rooms[post.room_id].members if post.room_id in rooms else set()
        if post.sender.pk not in room_members:
            results[post.key] = ApiError(ErrorCode.NOT_MEMBER, "No such room, or you are not a member.")
        elif set(post.envelope.wrap_ids) != room_members:
            if post.room_id not in members_changed:
                members_changed[post.room_id] = ApiError(
                    ErrorCode.MEMBERS_CHANGED,
                    "The room's members changed: wrap the message for the current members and send it again.",
                    members=selectors.room_json(Room.objects.get(id=post.room_id))["members"],
                )
            results[post.key] = members_changed[post.room_id]
        else:
            new.append(_envelope(post))
    storing.insert_envelopes(new)
    newest = {room_id: room.newest for room_id, room in rooms.items()}
    for stored in sorted(new, key=lambda envelope: envelope.id):  # the room is locked: nothing else comes between
        results[(stored.sender_id, stored.client_id)] = Posted(stored, created=True, after=newest[stored.room_id])
        newest[stored.room_id] = stored.id
    return results


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
    }
    # Positional, in the model's own field order: Django's fast path (11 µs a model against 25 with keywords); the
    # id and server_time come with the insert.
    return Envelope(*[values.get(name) for name in _ENVELOPE_COLUMNS])


_ENVELOPE_COLUMNS = [field.attname for field in Envelope._meta.concrete_fields]


def purge_envelopes(*, older_than_days: int, dry_run: bool = False, batch_size: int = 5000) -> int:
    """Delete envelopes stored more than ``older_than_days`` ago, a batch per transaction.

    Batches keep locks short on a busy table; the audit event records what retention removed.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = Envelope.objects.filter(server_time__lt=cutoff)
    if dry_run:
        return old.count()
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(old.order_by("id").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            deleted += Envelope.objects.filter(id__in=ids).delete()[0]
    record_event(
        AuditEvent.Action.ENVELOPES_PURGED,
        client=ClientInfo(ip_address=None, user_agent="manage.py purge_envelopes"),
        detail={"deleted": deleted, "older_than_days": older_than_days, "cutoff": cutoff.isoformat()},
    )
    return deleted
