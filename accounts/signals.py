"""What accounts tell the rest of the project, without knowing who listens."""

from django.dispatch import Signal

# Sent inside the transaction that replaced a user's identity keys; argument: user.
keys_changed = Signal()
# Sent once a user's password changed, which ends their other sessions; arguments: user, and kept: the session that
# made the change and stays signed in, as its keys before and after (Django gives it a new one), or None.
password_changed = Signal()
