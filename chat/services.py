"""Writes: rooms, their signed rosters and memberships. Each change commits, then tells open sockets.

Envelopes take their own path (``chat.sending``); retention is ``chat.retention``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from accounts import introductions
from accounts.audit import ClientInfo, record_event
from accounts.keys import ed25519_verifies
from accounts.models import AuditEvent, Identity, User
from chat import events, selectors
from chat.models import Envelope, Membership, Room, RosterEntry
from chat.protocol import MAX_MEMBERS
from chat.roster import ONE_MEMBER_OPS, EntryIn, Member
from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import encode_base64

# secrets.token_urlsafe(32), as Room.invite_token makes them.
INVITE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def _locked_room(room_id: uuid.UUID | str) -> Room:
    """The room row, locked: membership changes and sends to one room happen one at a time."""
    room = Room.objects.select_for_update().filter(id=room_id).first()
    if room is None:
        raise ApiError(ErrorCode.NOT_MEMBER, "No such room, or you are not a member.")
    return room


def _newest_envelope(room: Room) -> int:
    return Envelope.objects.filter(room=room).aggregate(last=Max("id"))["last"] or 0


def _join(room: Room, user_id: int, *, members: int, invited_by: int | None = None) -> Membership:
    """Start a stay for ``user_id`` in a room of ``members`` members; nothing sent before it was wrapped for them.
    With ``invited_by``, the stay is an invitation until they accept it."""
    if members >= MAX_MEMBERS:
        raise ApiError(ErrorCode.ROOM_FULL, f"A room has at most {MAX_MEMBERS} members.")
    if invited_by is None:
        _lock_users(user_id)
        _check_room_cap(user_id)
    else:
        _lock_users(user_id, invited_by)
        _check_may_invite(invited_by, {user_id})
    return Membership.objects.create(
        room=room,
        user_id=user_id,
        joined_after=_newest_envelope(room),
        accepted_at=None if invited_by is not None else timezone.now(),
        invited_by_id=invited_by,
    )


def _announce_members_changed(room: Room) -> None:
    events.send_on_commit(events.room_group(room.id), {"type": "room.updated", "room_id": str(room.id)})


def _announce_added(room: Room, user_id: int, *, pending: bool = False) -> None:
    """An invitation is told to the invitee's sockets as one (they do not join the room); a stay, as a room."""
    kind = "invitation.added" if pending else "room.added"
    events.send_on_commit(events.user_group(user_id), {"type": kind, "room_id": str(room.id)})
    _announce_members_changed(room)


def _announce_removed(room: Room, user_id: int, *, pending: bool = False) -> None:
    kind = "invitation.removed" if pending else "room.removed"
    events.send_on_commit(events.user_group(user_id), {"type": kind, "room_id": str(room.id)})
    _announce_members_changed(room)


# --- consent (SECURITY.md, "Invitations") --------------------------------------------------------------------------


def _lock_users(*user_ids: int) -> None:
    """Lock these accounts' rows, in id order (a room's row is always locked first): their caps are counted and
    changed one transaction at a time, so requests in parallel cannot each see room for one more."""
    list(User.objects.select_for_update().filter(pk__in=set(user_ids)).order_by("pk").values_list("pk", flat=True))


def _check_room_cap(user_id: int) -> None:
    """No one is in more than ROOMS_PER_USER_MAX rooms: what they accept, create or join. The caller holds the lock
    on the account (``_lock_users``)."""
    if selectors.accepted_memberships().filter(user_id=user_id).count() >= settings.ROOMS_PER_USER_MAX:
        raise ApiError(
            ErrorCode.ROOM_LIMIT,
            f"An account can be in at most {settings.ROOMS_PER_USER_MAX} rooms: leave one first.",
        )


# After a decline, its inviter may not invite that person again for this long.
DECLINE_QUIET = timedelta(days=30)
# Invitations from one account waiting for one person's answer at once.
INVITATIONS_PER_PAIR = 3


def _check_may_invite(inviter_id: int, invitee_ids: set[int]) -> None:
    """Invitations wait for an answer in bounded numbers: per invitee (so nobody's list grows without end), per
    inviter (so filling someone's list takes many accounts) and per pair; and whoever declined one is not asked
    again by its inviter for a while. The caller holds the locks on every account involved (``_lock_users``)."""
    pending = selectors.pending_memberships()
    if pending.filter(invited_by_id=inviter_id).count() + len(invitee_ids) > settings.INVITATIONS_OUTSTANDING_MAX:
        raise ApiError(
            ErrorCode.INVITATION_LIMIT,
            f"You can have at most {settings.INVITATIONS_OUTSTANDING_MAX} invitations waiting for an answer: wait"
            " for answers, or take some back.",
        )
    # Each invitee's waiting invitations, and how many of them are this inviter's: one query for all of them.
    waiting = (
        pending.filter(user_id__in=invitee_ids)
        .order_by()
        .values("user_id")
        .annotate(total=Count("id"), mine=Count("id", filter=Q(invited_by_id=inviter_id)))
    )
    for row in waiting:
        if row["total"] >= settings.PENDING_INVITATIONS_MAX:
            raise ApiError(
                ErrorCode.INVITATION_LIMIT,
                "They have too many invitations waiting for an answer: try again once they have answered some.",
            )
        if row["mine"] >= INVITATIONS_PER_PAIR:
            raise ApiError(ErrorCode.INVITATION_LIMIT, "They have not answered your invitations yet.")
    declined = Membership.objects.filter(
        user_id__in=invitee_ids, invited_by_id=inviter_id, declined_at__gt=timezone.now() - DECLINE_QUIET
    )
    if declined.exists():
        raise ApiError(ErrorCode.INVITATION_LIMIT, "They declined an invitation from you lately.")


@transaction.atomic
def accept_invitation(
    *, user: User, room_id: uuid.UUID | str, client: ClientInfo, seen: tuple[int, bytes] | None = None
) -> None:
    """Accept an invitation (or a request, or one declined before): the room is the user's like any other from now
    on. ``seen``: the roster head (seq, hash) the invitee was shown; if the room changed since (someone added,
    removed, renamed), ``roster_changed`` with the head, and nothing is accepted: they look again first. Accepting
    one already accepted changes nothing."""
    room = _locked_room(room_id)
    stay = selectors.membership_of(user, room.id, pending_too=True)
    if not stay.pending:
        return
    if seen is not None and room.roster_seq is not None and seen != (room.roster_seq, bytes(room.roster_head)):
        raise ApiError(
            ErrorCode.ROSTER_CHANGED,
            "The room changed since you saw the invitation: look at it again before you accept.",
            head=selectors.roster_head_json(room),
        )
    _lock_users(user.pk)
    _check_room_cap(user.pk)
    stay.accepted_at, stay.declined_at = timezone.now(), None
    stay.save(update_fields=["accepted_at", "declined_at"])
    record_event(AuditEvent.Action.INVITATION_ACCEPTED, client=client, user=user, detail={"room": str(room.id)})
    _announce_added(room, user.pk)


@transaction.atomic
def decline_request(*, user: User, room_id: uuid.UUID | str, client: ClientInfo) -> None:
    """Decline a direct conversation someone asked for. Its roster never changes after its create, so the invitee
    stays on it, declined: never listed again, and the pair's direct room stays taken (the requester cannot ask
    again; the invitee can still accept it later). A group invitation is declined with a signed ``leave``."""
    room = _locked_room(room_id)
    stay = selectors.membership_of(user, room.id, pending_too=True)
    if room.kind != Room.Kind.DIRECT or not stay.pending:
        _forbidden("Only a direct conversation you have not accepted is declined this way; leave a room instead.")
    if stay.declined_at is None:
        stay.declined_at = timezone.now()
        stay.save(update_fields=["declined_at"])
        record_event(AuditEvent.Action.INVITATION_DECLINED, client=client, user=user, detail={"room": str(room.id)})
        events.send_on_commit(events.user_group(user.pk), {"type": "invitation.removed", "room_id": str(room.id)})


def _end_stay(membership: Membership) -> None:
    membership.left_at = timezone.now()
    membership.save(update_fields=["left_at", "declined_at"])


# --- rooms from before rosters -----------------------------------------------------------------------------------


def _refuse_if_rostered(room: Room) -> None:
    if room.roster_seq is not None:
        raise ApiError(ErrorCode.FORBIDDEN, "This room has a signed roster: leave or join it with a roster entry.")


@transaction.atomic
def leave_room(*, user: User, room_id: uuid.UUID | str, client: ClientInfo) -> None:
    """Leave a room from before rosters (a room with a roster is left with a signed ``leave`` entry)."""
    room = _locked_room(room_id)
    membership = selectors.membership_of(user, room.id)
    _refuse_if_rostered(room)
    _end_stay(membership)
    if room.owner_id == user.pk:
        # The longest-standing member inherits the room.
        heir = selectors.accepted_memberships().filter(room=room).order_by("joined_at", "id").first()
        room.owner_id = heir.user_id if heir else None
        room.save(update_fields=["owner"])
    record_event(AuditEvent.Action.MEMBER_LEFT, client=client, user=user, detail={"room": str(room.id)})
    _announce_removed(room, user.pk)


@transaction.atomic
def join_by_link(*, user: User, invite_token: str, client: ClientInfo) -> Room:
    """Join a room from before rosters by its old invite link; the token is cleared when the room gets a roster."""
    room = (
        Room.objects.select_for_update()
        .filter(invite_token=invite_token, policy=Room.Policy.LINK, roster_seq__isnull=True)
        .first()
        if INVITE_TOKEN.fullmatch(invite_token)  # one the server made (a NUL in one is an error to Postgres)
        else None
    )
    if room is None:
        raise ApiError(ErrorCode.NOT_FOUND, "This invite link is not valid (any more).")
    members = selectors.active_memberships().filter(room=room)
    if not members.filter(user=user).exists():
        _join(room, user.pk, members=members.count())
        record_event(
            AuditEvent.Action.MEMBER_ADDED,
            client=client,
            user=user,
            detail={"room": str(room.id), "member": user.username, "via": "link"},
        )
        _announce_added(room, user.pk)
    return room


# --- signed rosters (docs/PROTOCOL.md, "Roster v1") ----------------------------------------------------------------


@dataclass(frozen=True)
class Appended:
    """A roster entry stored as its room's new head."""

    room: Room
    entry: RosterEntry

    def answer(self) -> dict[str, Any]:
        """The new head, and where it falls among the messages (its maker's browser places its line by it)."""
        entry = self.entry
        return {"room": str(self.room.id), "seq": entry.seq, "hash": encode_base64(entry.hash), "after": entry.after}


@dataclass
class _Roster:
    """A locked room as the server's own tables hold it: the state an entry is checked against."""

    room: Room
    stays: dict[int, Membership]  # the current members' stays, by user id

    @property
    def link(self) -> bytes | None:
        return None if self.room.link_pub is None else bytes(self.room.link_pub)

    def role(self, user_id: int) -> str:
        return self.stays[user_id].role

    def accepted(self, user_id: int) -> bool:
        return user_id in self.stays and not self.stays[user_id].pending

    def may_manage(self, user_id: int) -> bool:
        """The owner or an admin: they add, remove, rename and change the link."""
        return user_id == self.room.owner_id or self.role(user_id) == Membership.Role.ADMIN


def append_entry(*, actor: User, room_id: uuid.UUID, entry: EntryIn, client: ClientInfo) -> Appended:
    """Store a signed roster entry as the room's new head, and change the room as it says.

    The one way a room's members change. The entry must follow the head (``roster_conflict`` otherwise), be signed
    by the request's user under their current key (and a join by the open invite link's key too), and be one its
    actor may make by the server's own tables (the rules of docs/PROTOCOL.md, "What each change may do"). Checked
    and applied with the room locked, so two changes to one room are serialised and the second is refused.
    """
    if entry.actor != actor.pk:
        raise ApiError(ErrorCode.FORBIDDEN, "The entry's actor must be you.", field="entry.body.actor")
    try:
        with transaction.atomic():
            appended = _append(actor, room_id, entry, client)
    except IntegrityError:  # an invite link key another room opened at the same moment
        raise ApiError(ErrorCode.CONFLICT, "This invite link key is in use; make a new link.") from None
    return appended


def _check_addressed(entry: EntryIn, room_id: uuid.UUID) -> None:
    if entry.room != room_id:
        raise ApiError(ErrorCode.FORBIDDEN, "The entry names another room.", field="entry.body.room")


def _append(actor: User, room_id: uuid.UUID, entry: EntryIn, client: ClientInfo) -> Appended:
    room = Room.objects.select_for_update().filter(id=room_id).first()
    if entry.op == "create":
        _check_addressed(entry, room_id)
        if room is None:
            return _create(actor, entry, client)
    elif room is None:
        raise ApiError(ErrorCode.NOT_MEMBER, "No such room, or you are not a member.")
    roster = _Roster(room, {m.user_id: m for m in selectors.active_memberships().filter(room=room)})
    if entry.op == "create":
        if room.roster_seq is not None or actor.pk not in roster.stays:
            raise ApiError(ErrorCode.CONFLICT, "This room exists already.", room=str(room.id))
        return _adopt(roster, actor, entry, client)
    # A room one may not see answers like one that does not exist, whatever the entry says.
    _check_visible(roster, actor, entry)
    _check_addressed(entry, room_id)
    if actor.pk in roster.stays and roster.stays[actor.pk].pending and entry.op != "leave":
        _forbidden("Accept the invitation first: until then you can only decline it (leave).")
    if room.kind == Room.Kind.DIRECT:
        raise ApiError(ErrorCode.FORBIDDEN, "A direct room is its two people: no entry may follow its create.")
    if room.roster_seq is None or entry.seq != room.roster_seq + 1 or entry.prev != bytes(room.roster_head):
        raise ApiError(
            ErrorCode.ROSTER_CONFLICT,
            "The entry does not follow the room's roster: read it again and make the change on its head.",
            head=selectors.roster_head_json(room),
        )
    _check_signatures(actor, entry, link=roster.link)
    CHECKS[entry.op](roster, entry)
    after = _member_ids_after(roster, entry)
    link = _link_after(roster, entry)
    # The last member to leave seals the name for themselves: there is nobody else.
    _check_meta(entry, after or {entry.actor}, link)
    return _apply(roster, actor, entry, link, client)


def _check_visible(roster: _Roster, actor: User, entry: EntryIn) -> None:
    """Members see a room; a stranger holding its open invite link sees it to join. Anyone else: no such room."""
    if actor.pk in roster.stays:
        return
    if entry.op != "join" or roster.link is None or entry.link != roster.link:
        raise ApiError(ErrorCode.NOT_MEMBER, "No such room, or you are not a member.")


def _check_signatures(actor: User, entry: EntryIn, *, link: bytes | None) -> None:
    identity = Identity.objects.filter(user=actor).first()
    if identity is None or entry.actor_key != identity.key_version:
        raise ApiError(
            ErrorCode.BAD_SIGNATURE, "The entry must be signed with your current key.", field="entry.body.actor_key"
        )
    if not ed25519_verifies(identity.signing_public_key, entry.signature, entry.signed_bytes):
        raise ApiError(
            ErrorCode.BAD_SIGNATURE, "The signature does not verify under your key.", field="entry.signature"
        )
    if entry.op == "join" and (link is None or not ed25519_verifies(link, entry.link_signature, entry.signed_bytes)):
        raise ApiError(
            ErrorCode.BAD_SIGNATURE,
            "The link signature does not verify under the room's invite link.",
            field="entry.link_signature",
        )


def _check_current_keys(actor_id: int, members: tuple[Member, ...]) -> None:
    """Each member is an account with keys, named at its current key version (as the actor's browser wrapped for),
    and one the actor may name: someone they share (or shared) a room with, or looked up by name lately
    (``accounts.introductions``). Anyone else is answered like an id no account has, whatever their key version:
    a room is no directory."""
    ids = [m.id for m in members]
    known = selectors.visible_user_ids(actor_id, ids) | introductions.introduced(actor_id, ids)
    current = dict(
        Identity.objects.filter(user_id__in=known, user__is_active=True).values_list("user_id", "key_version")
    )
    for index, member in enumerate(members):
        if member.id not in current:
            raise ApiError(ErrorCode.NOT_FOUND, "No such user.", field=f"entry.body.members.{index}")
        if member.key_version != current[member.id]:
            raise ApiError(
                ErrorCode.BAD_ENTRY,
                f"User {member.id}'s keys changed: their current key version is {current[member.id]}.",
                field=f"entry.body.members.{index}",
            )


def _forbidden(detail: str) -> NoReturn:
    raise ApiError(ErrorCode.FORBIDDEN, detail)


def _check_add(roster: _Roster, entry: EntryIn) -> None:
    if not roster.may_manage(entry.actor):
        _forbidden("Only the room's owner or an admin can add members.")
    if entry.member.id in roster.stays:
        raise ApiError(ErrorCode.FORBIDDEN, "They are a member already.", field="entry.body.members")
    _check_current_keys(entry.actor, entry.members)


def _check_remove(roster: _Roster, entry: EntryIn) -> None:
    target = entry.member.id
    if target not in roster.stays:
        raise ApiError(ErrorCode.FORBIDDEN, "They are not a member.", field="entry.body.members")
    if target in (roster.room.owner_id, entry.actor):
        _forbidden("Nobody removes the owner or themselves (the owner hands the room on; others leave).")
    if entry.actor != roster.room.owner_id and not (
        roster.role(entry.actor) == Membership.Role.ADMIN and roster.role(target) != Membership.Role.ADMIN
    ):
        _forbidden("Only the owner, or an admin for a member who is not an admin, can remove a member.")
    # The removed member could read the open invite link: the removal replaces it.
    if (entry.link == b"" or entry.link == roster.link) if roster.link is not None else entry.link != b"":
        raise ApiError(
            ErrorCode.BAD_ENTRY,
            "A removal replaces the room's open invite link with a new key, and names none when no link is open.",
            field="entry.body.link",
        )
    _check_link_free(entry.link, roster.room)


def _check_leave(roster: _Roster, entry: EntryIn) -> None:
    if entry.member.id != entry.actor:
        _forbidden("A leave entry is made by the member who leaves.")
    if entry.actor == roster.room.owner_id and len(roster.stays) > 1:
        _forbidden("The owner leaves only as the last member: hand the room on first.")


def _check_join(roster: _Roster, entry: EntryIn) -> None:
    if entry.member.id != entry.actor:
        _forbidden("A join entry is made by the person who joins.")
    if entry.actor in roster.stays:
        _forbidden("You are a member already.")
    _check_current_keys(entry.actor, entry.members)


def _check_link(roster: _Roster, entry: EntryIn) -> None:
    if not roster.may_manage(entry.actor):
        _forbidden("Only the room's owner or an admin can open, change or close the invite link.")
    _check_link_free(entry.link, roster.room)


def _check_role(roster: _Roster, entry: EntryIn) -> None:
    if entry.actor != roster.room.owner_id:
        _forbidden("Only the room's owner can change a member's role.")
    if not roster.accepted(entry.member.id) or entry.member.id == roster.room.owner_id:
        raise ApiError(
            ErrorCode.FORBIDDEN,
            "The owner gives roles to members other than themselves, once they have accepted.",
            field="entry.body.members",
        )


def _check_owner(roster: _Roster, entry: EntryIn) -> None:
    if entry.actor != roster.room.owner_id:
        _forbidden("Only the room's owner can hand it on.")
    if not roster.accepted(entry.member.id) or entry.member.id == entry.actor:
        raise ApiError(
            ErrorCode.FORBIDDEN, "The room goes to another member who has accepted.", field="entry.body.members"
        )


def _check_rename(roster: _Roster, entry: EntryIn) -> None:
    if not roster.may_manage(entry.actor):
        _forbidden("Only the room's owner or an admin can rename the room.")


def _check_reseal(roster: _Roster, entry: EntryIn) -> None:
    """Any member may seal the name again (for a member's new keys): it changes nothing else."""


# Who may make each change after a room's create, by the server's tables (docs/PROTOCOL.md, "What each change may do").
CHECKS: dict[str, Callable[[_Roster, EntryIn], None]] = {
    "add": _check_add,
    "remove": _check_remove,
    "leave": _check_leave,
    "join": _check_join,
    "link": _check_link,
    "role": _check_role,
    "owner": _check_owner,
    "rename": _check_rename,
    "reseal": _check_reseal,
}


def _member_ids_after(roster: _Roster, entry: EntryIn) -> set[int]:
    members = set(roster.stays)
    if entry.op in ("add", "join"):
        if len(members) >= MAX_MEMBERS:
            raise ApiError(ErrorCode.ROOM_FULL, f"A room has at most {MAX_MEMBERS} members.")
        members.add(entry.member.id)
    elif entry.op in ("remove", "leave"):
        members.discard(entry.member.id)
    return members


def _link_after(roster: _Roster, entry: EntryIn) -> bytes | None:
    if entry.op == "link" or (entry.op == "remove" and roster.link is not None):
        return entry.link or None
    return roster.link


def _check_meta(entry: EntryIn, members: set[int], link: bytes | None) -> None:
    """The sealed name must be readable by exactly the members after the entry, and by the link if one is open."""
    if entry.meta.wrap_ids != tuple(sorted(members)):
        raise ApiError(
            ErrorCode.BAD_ENTRY,
            "The meta must be sealed for exactly the members after this entry.",
            field="entry.body.meta.wrap_ids",
        )
    if bool(entry.meta.link_wrap) != (link is not None):
        raise ApiError(
            ErrorCode.BAD_ENTRY,
            "The meta carries a link wrap exactly when an invite link is open after this entry.",
            field="entry.body.meta.link_wrap",
        )


def _create(actor: User, entry: EntryIn, client: ClientInfo) -> Appended:
    """A new room: its first members, its owner (a group's creator) and maybe an open link."""
    _check_signatures(actor, entry, link=None)
    _check_current_keys(actor.pk, entry.members)
    direct_key = None
    if entry.kind == Room.Kind.DIRECT:
        low, high = sorted(entry.member_ids)
        direct_key = f"{low}:{high}"
        _check_no_direct_room(direct_key)
    # Everyone else it names is invited, to a group or a direct conversation alike (sharing a room is no consent:
    # anyone can share one by its open link).
    invited = entry.member_ids - {actor.pk}
    _lock_users(actor.pk, *invited)
    _check_room_cap(actor.pk)
    _check_may_invite(actor.pk, invited)
    _check_link_free(entry.link)
    link = entry.link or None
    _check_meta(entry, entry.member_ids, link)
    room = Room(
        id=entry.room,
        kind=entry.kind,
        owner_id=actor.pk if entry.kind == Room.Kind.GROUP else None,
        direct_key=direct_key,
    )
    try:
        with transaction.atomic():
            room.save(force_insert=True)
    except IntegrityError:  # made at the same moment by another create (this id, or these two people)
        _check_no_direct_room(direct_key)
        raise ApiError(ErrorCode.CONFLICT, "This room exists already.", room=str(room.id)) from None
    Membership.objects.bulk_create(
        Membership(
            room=room,
            user_id=member.id,
            accepted_at=None if member.id in invited else timezone.now(),
            invited_by_id=actor.pk if member.id in invited else None,
        )
        for member in entry.members
    )
    for member in entry.members:
        _announce_added(room, member.id, pending=member.id in invited)
    return _store_head(room, actor, entry, link, client=client)


def _check_no_direct_room(direct_key: str | None) -> None:
    existing = Room.objects.filter(direct_key=direct_key).values_list("id", flat=True).first() if direct_key else None
    if existing is not None:
        raise ApiError(ErrorCode.CONFLICT, "You two have a direct room already.", room=str(existing))


def _check_link_free(link: bytes, room: Room | None = None) -> None:
    """Each open invite link belongs to one room: the join page finds the room by its key."""
    others = Room.objects.filter(link_pub=link)
    if link and (others.exclude(id=room.id) if room else others).exists():
        raise ApiError(ErrorCode.CONFLICT, "This invite link key is in use; make a new link.", field="entry.body.link")


def _adopt(roster: _Roster, actor: User, entry: EntryIn, client: ClientInfo) -> Appended:
    """A room from before rosters gets its roster: a create by its owner (or either person of a direct room) naming
    exactly its members at their current keys. Its name, known to the server until now, is forgotten."""
    room = roster.room
    _check_signatures(actor, entry, link=None)
    if room.kind == Room.Kind.GROUP and actor.pk != room.owner_id:
        _forbidden("Only the room's owner can sign its roster.")
    if entry.kind != room.kind:
        raise ApiError(ErrorCode.BAD_ENTRY, f"This room is a {room.kind} room.", field="entry.body.kind")
    if entry.member_ids != set(roster.stays):
        raise ApiError(
            ErrorCode.BAD_ENTRY, "A room's first entry names exactly its current members.", field="entry.body.members"
        )
    _check_current_keys(actor.pk, entry.members)
    _check_link_free(entry.link, room)
    link = entry.link or None
    _check_meta(entry, entry.member_ids, link)
    room.legacy_name = ""
    room.invite_token = None
    _announce_members_changed(room)
    return _store_head(room, actor, entry, link, client=client, adopted=True)


def _apply(roster: _Roster, actor: User, entry: EntryIn, link: bytes | None, client: ClientInfo) -> Appended:
    """Change the room as the checked entry says, and store the entry as its head."""
    room = roster.room
    member = entry.member.id if entry.op in ONE_MEMBER_OPS else None
    if entry.op in ("add", "join"):
        # An add is an invitation; a join by the open link is the joiner's own choice.
        invited_by = actor.pk if entry.op == "add" else None
        _join(room, entry.member.id, members=len(roster.stays), invited_by=invited_by)
        _announce_added(room, entry.member.id, pending=invited_by is not None)
    elif entry.op in ("remove", "leave"):
        stay = roster.stays[entry.member.id]
        if entry.op == "leave" and stay.pending:  # an invitation declined: its inviter does not ask again soon
            stay.declined_at = timezone.now()
        _end_stay(stay)
        _announce_removed(room, entry.member.id, pending=stay.pending)
        if entry.member.id == room.owner_id:  # the owner leaves only as the last member: nobody owns it now
            room.owner_id = None
    elif entry.op == "role":
        _set_role(roster.stays[entry.member.id], entry.role)
    elif entry.op == "owner":
        _set_role(roster.stays[actor.pk], Membership.Role.ADMIN)  # the former owner stays, as an admin
        room.owner_id = entry.member.id
        _announce_members_changed(room)
    elif entry.op == "link":
        _announce_members_changed(room)  # the room's policy follows the link
    return _store_head(room, actor, entry, link, client=client, member=member, previous_link=roster.link)


def _set_role(membership: Membership, role: str) -> None:
    membership.role = role
    membership.save(update_fields=["role"])


def _store_head(
    room: Room,
    actor: User,
    entry: EntryIn,
    link: bytes | None,
    *,
    client: ClientInfo,
    member: int | None = None,
    previous_link: bytes | None = None,
    adopted: bool = False,
) -> Appended:
    """The entry becomes the room's head; then its members' sockets get it (after commit), the new head first."""
    room.link_pub = link
    room.policy = Room.Policy.LINK if link is not None else Room.Policy.INVITE
    room.roster_seq, room.roster_head = entry.seq, entry.hash
    room.save()
    stored = RosterEntry.objects.create(
        room=room,
        seq=entry.seq,
        hash=entry.hash,
        body=entry.body,
        signature=entry.signature,
        link_signature=entry.link_signature,
        actor=actor,
        op=entry.op,
        after=_newest_envelope(room),
    )
    action, detail = _audit(entry, member=member, previous_link=previous_link, adopted=adopted)
    record_event(action, client=client, user=actor, detail={"room": str(room.id), "seq": entry.seq, **detail})
    frame = {"type": "roster.entries", "room": str(room.id), "entries": [selectors.entry_json(stored)]}
    events.send_on_commit(events.room_group(room.id), frame)
    # Those invited are in no room group: their invitation is told again, so what they accept is what they saw.
    waiting = selectors.pending_memberships().filter(room=room)
    if entry.op in ("add", "create"):  # whom this entry invites is told once, by ``_announce_added``
        waiting = waiting.exclude(user_id__in=entry.member_ids)
    for invitee in waiting.values_list("user_id", flat=True):
        events.send_on_commit(events.user_group(invitee), {"type": "invitation.added", "room_id": str(room.id)})
    return Appended(room, stored)


def _audit(
    entry: EntryIn, *, member: int | None, previous_link: bytes | None, adopted: bool
) -> tuple[AuditEvent.Action, dict[str, Any]]:
    """What the security log keeps of an entry: ids, usernames and counts, never the room's (sealed) name."""
    username = User.objects.filter(pk=member).values_list("username", flat=True).first() if member else None
    if entry.op == "create":
        detail: dict[str, Any] = {"kind": entry.kind, "members": len(entry.members)}
        return AuditEvent.Action.ROOM_CREATED, {**detail, "adopted": True} if adopted else detail
    if entry.op == "add":
        return AuditEvent.Action.MEMBER_ADDED, {"member": username}
    if entry.op == "join":
        return AuditEvent.Action.MEMBER_ADDED, {"member": username, "via": "link"}
    if entry.op == "remove":
        return AuditEvent.Action.MEMBER_REMOVED, {"member": username}
    if entry.op == "leave":
        return AuditEvent.Action.MEMBER_LEFT, {}
    if entry.op == "link":
        change = "closed" if not entry.link else "opened" if previous_link is None else "rotated"
        return AuditEvent.Action.ROOM_CHANGED, {"op": "link", "link": change}
    if entry.op == "role":
        return AuditEvent.Action.ROOM_CHANGED, {"op": "role", "member": username, "role": entry.role}
    if entry.op == "owner":
        return AuditEvent.Action.ROOM_CHANGED, {"op": "owner", "member": username}
    return AuditEvent.Action.ROOM_CHANGED, {"op": entry.op}
