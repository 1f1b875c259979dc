"""Chat's reactions to other apps' events."""

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save
from django.http import HttpRequest

from accounts.models import User
from accounts.signals import keys_changed, password_changed
from chat import events
from chat.selectors import active_memberships


def announce_keys_changed(sender: Any, *, user: User, **kwargs: Any) -> None:
    """Every room the user is in hears of it after commit, so open pages re-check that user's keys; and every socket
    of the user ends, since the page's keys are the old ones."""
    events.send_on_commit(events.user_group(user.pk), {"type": "session.ended", "reason": "keys_reset"})
    # Rooms they are invited to hear of it too (their members wrap for them); a declined direct request does not.
    for room_id in active_memberships().filter(user=user, declined_at__isnull=True).values_list("room_id", flat=True):
        events.send_on_commit(
            events.room_group(room_id), {"type": "keys.changed", "room_id": str(room_id), "user": user.pk}
        )


# Sessions that end close their sockets (chat.consumers.ChatConsumer.session_ended), within the time an event takes
# to reach them; sessions are named by a digest of their key.


def end_logged_out_session(sender: Any, *, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    """The sockets of the session that logged out (other tabs of that browser) close; the user's others stay."""
    tag = events.session_tag(getattr(getattr(request, "session", None), "session_key", None))
    if user is not None and tag is not None:
        event = {"type": "session.ended", "reason": "logged_out", "session": tag}
        events.send_on_commit(events.user_group(user.pk), event)


def end_replaced_session(sender: Any, *, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """A log-in in a browser whose session was another user's (or of an older password) flushes that session, with no
    log-out: its sockets close. The old session is the one the browser's cookie named; the same user signing in again
    keeps the key, and so its sockets."""
    before = events.session_tag(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    if before is not None and before != events.session_tag(getattr(request.session, "session_key", None)):
        event = {"type": "session.ended", "reason": "replaced", "session": before}
        events.send_on_commit(events.session_group(before), event)


def end_sessions_of_old_password(sender: Any, *, user: User, kept: tuple[str, str] | None, **kwargs: Any) -> None:
    """Every socket of the user closes, but those of the session that changed the password."""
    tags = [events.session_tag(key) for key in kept] if kept else None
    events.send_on_commit(
        events.user_group(user.pk), {"type": "session.ended", "reason": "password_changed", "kept": tags}
    )


def end_sessions_of_switched_off(sender: Any, *, instance: User, created: bool, **kwargs: Any) -> None:
    """An account switched off (``is_active`` false, saved by the admin or anything else): every socket closes."""
    update_fields = kwargs.get("update_fields")
    if created or instance.is_active or (update_fields is not None and "is_active" not in update_fields):
        return
    events.send_on_commit(events.user_group(instance.pk), {"type": "session.ended", "reason": "deactivated"})


def connect() -> None:
    keys_changed.connect(announce_keys_changed, dispatch_uid="chat.announce_keys_changed")
    user_logged_out.connect(end_logged_out_session, dispatch_uid="chat.end_logged_out_session")
    user_logged_in.connect(end_replaced_session, dispatch_uid="chat.end_replaced_session")
    password_changed.connect(end_sessions_of_old_password, dispatch_uid="chat.end_sessions_of_old_password")
    post_save.connect(end_sessions_of_switched_off, sender=User, dispatch_uid="chat.end_sessions_of_switched_off")
