"""What accounts tell the rest of the project, without knowing who listens."""

from django.dispatch import Signal

# Sent inside the transaction that replaced a user's identity keys; argument: user.
keys_changed = Signal()
