"""Chat: rooms, who is in them, and the encrypted envelopes. No field can hold a plaintext message."""

import secrets
import uuid

from django.conf import settings
from django.db import models

from chat.protocol import WRAP_BYTES


class Room(models.Model):
    class Kind(models.TextChoices):
        GROUP = "group", "group"
        DIRECT = "direct", "direct"

    class Policy(models.TextChoices):
        INVITE = "invite", "invite only"
        LINK = "link", "anyone with the link"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=80, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.GROUP)
    policy = models.CharField(max_length=8, choices=Policy.choices, default=Policy.INVITE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_rooms"
    )
    invite_token = models.CharField(max_length=43, unique=True, default=secrets.token_urlsafe, editable=False)
    # "<smaller user id>:<larger user id>" for a direct conversation: one per pair.
    direct_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or f"direct {self.direct_key}"


class Membership(models.Model):
    """A stay in a room. Leaving ends it (``left_at``); rejoining starts a new one."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)
    # The last envelope id in the room when this stay began: nothing before it was wrapped for this member.
    joined_after = models.BigIntegerField(default=0)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room", "user"], condition=models.Q(left_at__isnull=True), name="chat_membership_one_active"
            )
        ]
        indexes = [models.Index(fields=["user", "left_at"], name="chat_membership_user_active")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id}"


class Envelope(models.Model):
    """One encrypted, signed message (docs/PROTOCOL.md). The server stores it as it came."""

    id = models.BigAutoField(primary_key=True)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="envelopes")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="envelopes")
    client_id = models.UUIDField()
    version = models.PositiveSmallIntegerField()
    client_time = models.DateTimeField()
    server_time = models.DateTimeField(auto_now_add=True, db_index=True)
    eph_pub = models.BinaryField(max_length=32)
    iv = models.BinaryField(max_length=12)
    ciphertext = models.BinaryField()
    signature = models.BinaryField(max_length=64)
    # [<member id>, …], strictly ascending: the members the content key was wrapped for.
    wrap_ids = models.JSONField()
    # Their AES-KW wraps of the content key, WRAP_BYTES each, concatenated in the order of wrap_ids.
    wraps = models.BinaryField()
    # Ciphertext bytes, kept so listings need not load the blob.
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sender", "client_id"], name="chat_envelope_idempotent")]
        indexes = [
            models.Index(fields=["room", "id"], name="chat_envelope_room_id"),
            models.Index(fields=["sender", "id"], name="chat_envelope_sender_id"),
        ]

    def __str__(self) -> str:
        return f"envelope {self.id}"

    def wraps_by_member(self) -> dict[int, bytes]:
        """Each member's wrap, cut from the concatenation."""
        wraps = bytes(self.wraps)
        return {
            member: wraps[index * WRAP_BYTES : (index + 1) * WRAP_BYTES] for index, member in enumerate(self.wrap_ids)
        }
