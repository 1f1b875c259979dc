"""Reads: rooms and members as each user may see them, and pages of envelopes and of roster entries."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from accounts.models import User
from chat.models import Envelope, Membership, Room, RosterEntry
from chat.protocol import (
    CHAINED_VERSION,
    PAGE_MAX,
    ROOMS_PAGE,
    ROSTER_HEAD_VERSION,
    datetime_to_ms,
    page_that_fits,
    rooms_page,
)
from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import encode_base64


def active_memberships() -> QuerySet[Membership]:
    """Current stays, invitations not yet answered included: who is on the room's roster."""
    return Membership.objects.filter(left_at__isnull=True)


def accepted_memberships() -> QuerySet[Membership]:
    """Current stays their member accepted: who has the room, its messages, presence and typing."""
    return active_memberships().filter(accepted_at__isnull=False)


def pending_memberships() -> QuerySet[Membership]:
    """Invitations waiting for an answer (a declined direct request waits for none)."""
    return active_memberships().filter(accepted_at__isnull=True, declined_at__isnull=True)


def membership_of(user: User | int, room_id: uuid.UUID | str, *, pending_too: bool = False) -> Membership:
    """The user's accepted stay in the room, or ``not_member``: the one door to a room's contents. With
    ``pending_too``, an invitation too (its roster, to show who invites to what, and to decline it)."""
    stays = active_memberships() if pending_too else accepted_memberships()
    membership = stays.filter(user=user, room_id=room_id).select_related("room").first()
    if membership is None:
        raise ApiError(ErrorCode.NOT_MEMBER, "No such room, or you are not a member.")
    return membership


def member_ids_by_room(room_ids: Iterable[uuid.UUID | str]) -> dict[str, set[int]]:
    """The accepted members of several rooms, in one query: whose presence each room hears."""
    found: dict[str, set[int]] = {str(room_id): set() for room_id in room_ids}
    for room_id, user_id in accepted_memberships().filter(room_id__in=list(found)).values_list("room_id", "user_id"):
        found[str(room_id)].add(user_id)
    return found


def rooms_with_members() -> QuerySet[Room]:
    members = active_memberships().select_related("user").order_by("joined_at", "id")
    return Room.objects.select_related("owner").prefetch_related(
        Prefetch("memberships", queryset=members, to_attr="active")
    )


def with_activity(rooms: QuerySet[Room]) -> QuerySet[Room]:
    """Rooms with their newest envelope's id and server time (``latest_id``, ``latest_at``; None in an empty room),
    each read by one step back along the (room, id) index: what orders a member's list and counts as unread."""
    newest = Envelope.objects.filter(room_id=OuterRef("pk")).order_by("-id")
    return rooms.annotate(
        latest_id=Subquery(newest.values("id")[:1]), latest_at=Subquery(newest.values("server_time")[:1])
    )


def rooms_for(user: User) -> list[dict[str, Any]]:
    stays = {m.room_id: m for m in accepted_memberships().filter(user=user)}
    rooms = with_activity(rooms_with_members()).filter(id__in=stays).order_by("created_at")
    return [room_json(room, stays[room.id]) for room in rooms]


def members_of_my_rooms(user: User) -> dict[str, set[int]]:
    """The accepted members of every room the user accepted, by room id, in one query of ids only: what a connecting
    socket joins and announces presence to, however many rooms there are (their details come in pages)."""
    mine = accepted_memberships().filter(user=user).values("room_id")
    found: dict[str, set[int]] = {}
    for room_id, user_id in accepted_memberships().filter(room_id__in=mine).values_list("room_id", "user_id"):
        found.setdefault(str(room_id), set()).add(user_id)
    return found


def my_rooms_page(user: User, after: int) -> tuple[list[str], bool, int]:
    """A page of the user's rooms, in the order they joined them (their membership ids, a cursor no change moves):
    up to ROOMS_PAGE after the membership ``after``, as ``room_json`` has them, encoded and cut to one frame.
    Returns (rooms, more, the cursor of the next page)."""
    return _stays_page(accepted_memberships().filter(user=user), after)


def my_invitations_page(user: User, after: int) -> tuple[list[str], bool, int]:
    """A page of the user's invitations waiting for an answer, as ``my_rooms_page`` pages rooms."""
    return _stays_page(pending_memberships().filter(user=user), after)


def _stays_page(stays_of_user: QuerySet[Membership], after: int) -> tuple[list[str], bool, int]:
    stays = list(stays_of_user.filter(id__gt=after).order_by("id")[: ROOMS_PAGE + 1])
    more = len(stays) > ROOMS_PAGE
    stays = stays[:ROOMS_PAGE]
    rooms = with_activity(rooms_with_members()).in_bulk([stay.room_id for stay in stays])
    return rooms_page([(stay.id, room_json(rooms[stay.room_id], stay)) for stay in stays], more, after)


def room_for(user: User, room_id: uuid.UUID | str) -> dict[str, Any]:
    membership = membership_of(user, room_id)
    return room_json(with_activity(rooms_with_members()).get(id=room_id), membership)


def room_if_member(user: User, room_id: uuid.UUID | str) -> dict[str, Any] | None:
    """The room as ``room_for`` gives it, or None if the user is not (or no longer) in it."""
    try:
        return room_for(user, room_id)
    except ApiError:
        return None


def invitations_for(user: User) -> list[dict[str, Any]]:
    """The user's invitations waiting for an answer, oldest first (at most PENDING_INVITATIONS_MAX of them)."""
    stays = {m.room_id: m for m in pending_memberships().filter(user=user)}
    rooms = rooms_with_members().filter(id__in=stays).order_by("created_at")
    return [room_json(room, stays[room.id]) for room in rooms]


def invitation_for(user: User, room_id: uuid.UUID | str) -> dict[str, Any] | None:
    membership = pending_memberships().filter(user=user, room_id=room_id).first()
    return None if membership is None else room_json(rooms_with_members().get(id=room_id), membership)


def room_json(room: Room, membership: Membership | None = None) -> dict[str, Any]:
    members = getattr(room, "active", None)
    if members is None:
        members = list(active_memberships().filter(room=room).select_related("user").order_by("joined_at", "id"))
    data = {
        "id": str(room.id),
        "kind": room.kind,
        "policy": room.policy,
        "owner": room.owner_id,
        # Everyone on the roster; those invited who have not accepted are marked (they get nothing of it yet).
        "members": [
            {"id": m.user_id, "username": m.user.username, **({"pending": True} if m.pending else {})} for m in members
        ],
    }
    if membership is not None:
        data["joined_after"] = membership.joined_after
        if membership.pending:
            data["invited_by"] = membership.invited_by_id
    # The server's word on the roster's head; only a room from before rosters still has a name the server knows.
    data["roster"] = roster_head_json(room)
    data["name"] = (room.legacy_name or None) if room.roster_seq is None else None
    if membership is not None and not membership.pending and hasattr(room, "latest_id"):
        data.update(activity_json(room, membership))
    return data


def activity_json(room: Room, membership: Membership) -> dict[str, Any]:
    """A member's place in a room (``with_activity``'s room): the id they read up to, the newest envelope's id and
    when the room was last active (its newest envelope, or the stay's start in an empty room), in ms. Ids and times
    only, which the server has anyway (SECURITY.md, "Read positions")."""
    latest = room.latest_id or 0
    active = room.latest_at if room.latest_at is not None and latest > membership.joined_after else membership.joined_at
    return {
        "read": min(max(membership.read_up_to, membership.joined_after), latest),
        "latest": latest,
        "active_at": datetime_to_ms(active),
    }


def roster_head_json(room: Room) -> dict[str, Any] | None:
    if room.roster_seq is None:
        return None
    return {"seq": room.roster_seq, "hash": encode_base64(room.roster_head)}


def entry_json(entry: RosterEntry) -> dict[str, Any]:
    """A roster entry as served: the signed wire object, and where it falls among the messages and when."""
    return {
        "body": entry.body,
        "signature": encode_base64(entry.signature),
        "link_signature": encode_base64(entry.link_signature),
        "after": entry.after,
        "server_time": entry.server_time.isoformat(),
    }


def roster_page(room_id: uuid.UUID | str, start: int) -> tuple[list[str], bool]:
    """Up to PAGE_MAX entries from seq ``start`` on, in order, JSON-encoded and cut to one frame. Returns (entries,
    more). Whoever asks has been let in already: a member, or the holder of the room's open invite link."""
    rows = list(RosterEntry.objects.filter(room_id=room_id, seq__gte=start).order_by("seq")[: PAGE_MAX + 1])
    return page_that_fits([entry_json(row) for row in rows[:PAGE_MAX]], len(rows) > PAGE_MAX, keep_newest=False)


def visible_user_ids(asker: User | int, user_ids: Iterable[int], *, link_pub: bytes | None = None) -> set[int]:
    """Of ``user_ids``, whose keys the asker may read by id: themselves, and everyone who is or was in a room they are
    or were in (their messages and roster entries are in what the asker can read); with an open invite link's key,
    also everyone who is or was in that room (the join page checks its roster before joining)."""
    wanted = set(user_ids)
    shared = Q(room_id__in=Membership.objects.filter(user=asker).values("room_id"))
    if link_pub is not None:
        shared |= Q(room__link_pub=link_pub)
    # Their stay counts if they took it, or while it waits for their answer (members wrap for them meanwhile); an
    # invitation declined (or taken back before an answer) opens nothing.
    theirs = Q(accepted_at__isnull=False) | Q(left_at__isnull=True, declined_at__isnull=True)
    found = set(Membership.objects.filter(shared, theirs, user_id__in=wanted).values_list("user_id", flat=True))
    return found | (wanted & {asker if isinstance(asker, int) else asker.pk})


def room_by_link(link_pub: bytes) -> Room | None:
    """The room whose open invite link has this public key."""
    return Room.objects.filter(link_pub=link_pub).first()


def envelope_json(envelope: Envelope) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": envelope.id,
        "server_time": envelope.server_time.isoformat(),
        "v": envelope.version,
        "room": str(envelope.room_id),
        "sender": envelope.sender_id,
        "client_id": str(envelope.client_id),
        "sent_at": datetime_to_ms(envelope.client_time),
    }
    if envelope.version == CHAINED_VERSION:  # the rest of the signed header, in its order
        data["key_version"] = envelope.key_version
    if envelope.version in (ROSTER_HEAD_VERSION, CHAINED_VERSION):
        data["roster_seq"] = envelope.roster_seq
        data["roster_hash"] = _base64_or_none(envelope.roster_hash)
    if envelope.version == CHAINED_VERSION:
        data["chain_seq"] = envelope.chain_seq
        data["chain_prev"] = _base64_or_none(envelope.chain_prev)
        data["key_commit"] = _base64_or_none(envelope.key_commit)
    data["eph_pub"] = encode_base64(envelope.eph_pub)
    data["iv"] = encode_base64(envelope.iv)
    data["ciphertext"] = encode_base64(envelope.ciphertext)
    data["wrap_ids"] = envelope.wrap_ids
    data["wraps"] = encode_base64(envelope.wraps)
    data["signature"] = encode_base64(envelope.signature)
    return data


def _base64_or_none(value: bytes | memoryview | None) -> str | None:
    """A nullable column as stored: a row that lacks a field (edited by hand) is relayed as it is, and refused by
    the readers' checks rather than breaking the page it is in."""
    return None if value is None else encode_base64(value)


def envelopes_after(membership: Membership, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Oldest first, after ``after``; never before the member's joining. Returns (items, more)."""
    floor = max(after, membership.joined_after)
    rows = list(Envelope.objects.filter(room_id=membership.room_id, id__gt=floor).order_by("id")[: limit + 1])
    return [envelope_json(e) for e in rows[:limit]], len(rows) > limit


def envelopes_before(membership: Membership, before: int | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """The ``limit`` envelopes before ``before`` (the latest when None), oldest first. Returns (items, more)."""
    rows = Envelope.objects.filter(room_id=membership.room_id, id__gt=membership.joined_after)
    if before is not None:
        rows = rows.filter(id__lt=before)
    page = list(rows.order_by("-id")[: limit + 1])
    more = len(page) > limit
    return [envelope_json(e) for e in reversed(page[:limit])], more
