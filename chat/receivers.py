"""Chat's reactions to other apps' events."""

from typing import Any

from accounts.models import User
from accounts.signals import keys_changed
from chat import events
from chat.selectors import active_memberships


def announce_keys_changed(sender: Any, *, user: User, **kwargs: Any) -> None:
    """Every room the user is in hears of it after commit, so open pages re-check that user's keys; and every socket
    of the user ends, since the page's keys are the old ones."""
    events.send_on_commit(events.user_group(user.pk), {"type": "session.ended", "reason": "keys_reset"})
    for room_id in active_memberships().filter(user=user).values_list("room_id", flat=True):
        events.send_on_commit(
            events.room_group(room_id), {"type": "keys.changed", "room_id": str(room_id), "user": user.pk}
        )


def connect() -> None:
    keys_changed.connect(announce_keys_changed, dispatch_uid="chat.announce_keys_changed")
