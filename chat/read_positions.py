"""Read positions: how far each member has read in each room, kept for all their tabs and browsers.

An envelope id, never content (SECURITY.md, "Read positions"). It only moves forward, and never past the room's
newest envelope, so a stale tab cannot mark messages unread again, nor a client mark read what does not exist yet.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from accounts.models import User
from chat import events, selectors
from chat.models import Envelope, Membership


@transaction.atomic
def mark_read(user: User, room_id: uuid.UUID, up_to: int) -> int:
    """Move the user's read position in the room forward to ``up_to`` (at most the newest envelope there). Returns the
    position now kept; when it moved, the user's sockets are told once the change commits."""
    membership = selectors.membership_of(user, room_id)
    newest = Envelope.objects.filter(room_id=room_id).order_by("-id").values_list("id", flat=True).first() or 0
    wanted = min(up_to, newest)
    if Membership.objects.filter(pk=membership.pk, read_up_to__lt=wanted).update(read_up_to=wanted):
        kept = wanted
        event = {"type": "read.moved", "room": str(room_id), "up_to": max(kept, membership.joined_after)}
        events.send_on_commit(events.user_group(user.pk), event)
    else:
        kept = Membership.objects.filter(pk=membership.pk).values_list("read_up_to", flat=True).get()
    return max(kept, membership.joined_after)
