"""Chat: rooms, who is in them, and the encrypted envelopes. No field can hold a plaintext message."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from chat.protocol import WRAP_BYTES


class Room(models.Model):
    class Kind(models.TextChoices):
        GROUP = "group", "group"
        DIRECT = "direct", "direct"

    class Policy(models.TextChoices):
        INVITE = "invite", "invite only"
        LINK = "link", "anyone with the link"

    # The browser picks a room's id (its roster's first entry names it).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # A room from before rosters keeps the name it was given in clear until its roster is signed; then it is
    # emptied, and a room made with a roster never has one (its name travels sealed in the roster's meta).
    legacy_name = models.CharField(max_length=80, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.GROUP)
    # The server's view, kept by the roster: "link" exactly when an invite link is open.
    policy = models.CharField(max_length=8, choices=Policy.choices, default=Policy.INVITE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_rooms"
    )
    # A room from before rosters: its old invite link, cleared when the room gets a roster.
    invite_token = models.CharField(max_length=43, unique=True, null=True, blank=True, default=None, editable=False)
    # "<smaller user id>:<larger user id>" for a direct conversation: one per pair.
    direct_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    # The roster's head: the newest entry's seq and hash (null: a room from before rosters).
    roster_seq = models.BigIntegerField(null=True, blank=True)
    roster_head = models.BinaryField(max_length=32, null=True, blank=True)
    # The open invite link's Ed25519 public key (null: no link open); the join page finds the room by it.
    link_pub = models.BinaryField(max_length=32, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} room {self.id}"


class Membership(models.Model):
    """A stay in a room. Leaving ends it (``left_at``); rejoining starts a new one."""

    class Role(models.TextChoices):
        ADMIN = "admin", "admin"
        MEMBER = "member", "member"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)
    # The last envelope id in the room when this stay began: nothing before it was wrapped for this member.
    joined_after = models.BigIntegerField(default=0)
    # As the roster's `role` and `owner` entries set it; the owner is Room.owner.
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    left_at = models.DateTimeField(null=True, blank=True)
    # Consent (SECURITY.md, "Invitations"): null while the stay is an invitation (someone added them to a group, or
    # a stranger opened a direct conversation) they have not accepted. A pending member is in the signed roster, so
    # messages are wrapped for them, but gets none of the room until they accept: no listing, no messages, no
    # presence or typing either way. Rows made without saying (joins, imports, tests) are accepted.
    accepted_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # A direct request its invitee declined: kept (a direct room's roster never changes after its create, so she stays
    # on it), never listed again, and the pair's direct room stays taken so the requester cannot ask again.
    declined_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations_sent"
    )
    # The id of the last envelope the member has read here, in any of their tabs or browsers (SECURITY.md, "Read
    # positions"): an id, never content. It only moves forward.
    read_up_to = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room", "user"], condition=models.Q(left_at__isnull=True), name="chat_membership_one_active"
            )
        ]
        indexes = [
            models.Index(fields=["user", "left_at"], name="chat_membership_user_active"),
            models.Index(
                fields=["user"],
                condition=models.Q(left_at__isnull=True, accepted_at__isnull=True),
                name="chat_membership_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id}"

    @property
    def pending(self) -> bool:
        return self.accepted_at is None


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
    # v2: the roster head the envelope was wrapped for (signed in its header); null for v1.
    roster_seq = models.BigIntegerField(null=True, blank=True)
    roster_hash = models.BinaryField(max_length=32, null=True, blank=True)
    # v3 (signed in its header; null before): the sender's key version (a safe integer, as the browser reads it),
    # their place in their chain of envelopes in the room (counter from 1; hash of the previous one, null for the
    # first) and the commitment to the content key.
    key_version = models.BigIntegerField(null=True, blank=True)
    chain_seq = models.BigIntegerField(null=True, blank=True)
    chain_prev = models.BinaryField(max_length=32, null=True, blank=True)
    key_commit = models.BinaryField(max_length=32, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "client_id"], name="chat_envelope_idempotent"),
            # One envelope per place in a sender's chain: two tabs of one sender cannot both take the same place.
            models.UniqueConstraint(
                fields=["room", "sender", "chain_seq"],
                condition=models.Q(chain_seq__isnull=False),
                name="chat_envelope_chain_place",
            ),
        ]
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


class RosterEntry(models.Model):
    """One signed change of a room's members (docs/PROTOCOL.md, "Roster v1"), stored as it came.

    ``body`` is the signed record; the other columns are read from it (or are the server's routing facts) so the
    server can check and list entries without parsing it again.
    """

    class Op(models.TextChoices):
        CREATE = "create", "create"
        ADD = "add", "add"
        REMOVE = "remove", "remove"
        LEAVE = "leave", "leave"
        JOIN = "join", "join"
        LINK = "link", "link"
        ROLE = "role", "role"
        OWNER = "owner", "owner"
        RENAME = "rename", "rename"

    id = models.BigAutoField(primary_key=True)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="roster_entries")
    seq = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)
    body = models.TextField()
    signature = models.BinaryField(max_length=64)
    # The invite link key's signature, on a `join` only (empty otherwise).
    link_signature = models.BinaryField(max_length=64, blank=True, default=b"")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="roster_entries")
    op = models.CharField(max_length=8, choices=Op.choices)
    # The room's newest envelope id when the entry was stored (0: none): where the change falls among the messages.
    after = models.BigIntegerField(default=0)
    server_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "roster entries"
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="chat_rosterentry_room_seq")]

    def __str__(self) -> str:
        return f"roster entry {self.seq} of {self.room_id}"
