"""Accounts: users, the public keys and wrapped secrets the server keeps, and the audit log.

Nothing here can reveal a password, a private key or a message: the server holds an Argon2 hash of the
browser-derived auth key, public keys, and blobs sealed under keys that never leave the browser.
"""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower

from toolkit import hashing


class CaseInsensitiveUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> "User":
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A SecureChat user. The password Django hashes is the browser-derived auth key."""

    objects = CaseInsensitiveUserManager()

    # Hashed in the hashing pool (toolkit/hashing.py) on every request that hashes: the API, the staff console's
    # log-in, and Django's own check for a name that has no account.
    def set_password(self, raw_password: str | None) -> None:
        self.password = hashing.make(raw_password)
        self._password = raw_password

    def check_password(self, raw_password: str) -> bool:
        verified = hashing.verify(raw_password, self.password)
        if verified.stale:  # as Django does: store it again with today's hasher settings (not a password change)
            self.password = hashing.make(raw_password)
            self.save(update_fields=["password"])
        return verified.ok

    class Meta:
        constraints = [
            # "Alice" and "alice" are one account.
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]


class UsernameKey(models.Model):
    """A key under which a username is unique (``accounts/usernames.py``): names that read alike share a key, so the
    second of them cannot be taken."""

    key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="username_keys")

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class Identity(models.Model):
    """A user's public keys and the wrapped private material only the browser can open."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="identity")
    key_version = models.PositiveIntegerField(default=1)
    signing_public_key = models.BinaryField(max_length=32)
    agreement_public_key = models.BinaryField(max_length=32)
    agreement_signature = models.BinaryField(max_length=64)

    kdf_algorithm = models.CharField(max_length=32, default="PBKDF2-SHA256")
    kdf_salt = models.BinaryField(max_length=16)
    kdf_iterations = models.PositiveIntegerField()

    # Ed25519 + X25519 private keys, AES-GCM under the account key.
    key_bundle_iv = models.BinaryField(max_length=12)
    key_bundle_ciphertext = models.BinaryField(max_length=4112)
    # The account key, AES-GCM under the password's wrap key and under the recovery key.
    account_key_password_iv = models.BinaryField(max_length=12)
    account_key_password_ciphertext = models.BinaryField(max_length=48)
    account_key_recovery_iv = models.BinaryField(max_length=12)
    account_key_recovery_ciphertext = models.BinaryField(max_length=48)
    # Argon2 hash of the auth value derived from the recovery key.
    recovery_auth_hash = models.CharField(max_length=256)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.user.username} v{self.key_version}"


class TrustStore(models.Model):
    """The user's pinned keys and verifications, sealed in the browser under the account key.

    The server keeps the blob and a version for safe concurrent updates; it cannot read or alter it
    unnoticed (AES-GCM with the owner's name as associated data).
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="trust_store")
    version = models.PositiveIntegerField(default=0)
    iv = models.BinaryField(max_length=12)
    ciphertext = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"trust store of {self.user_id} v{self.version}"


class KeyEvent(models.Model):
    """Every identity a user has had, so a key change can be shown and audited."""

    class Kind(models.TextChoices):
        CREATED = "created", "created"
        RESET = "reset", "reset"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="key_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key_version = models.PositiveIntegerField()
    signing_public_key = models.BinaryField(max_length=32)
    agreement_public_key = models.BinaryField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user_id", "key_version"]
        constraints = [models.UniqueConstraint(fields=["user", "key_version"], name="accounts_keyevent_version_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} v{self.key_version} {self.kind}"


class AuditEvent(models.Model):
    """Security events: who, what, when, from where. Never content."""

    class Action(models.TextChoices):
        SIGNUP = "signup", "sign-up"
        LOGIN_OK = "login_ok", "log-in"
        LOGIN_FAILED = "login_failed", "log-in failed"
        LOGOUT = "logout", "log-out"
        PASSWORD_CHANGE = "password_change", "password change"
        RECOVERY = "recovery", "recovery"
        RECOVERY_FAILED = "recovery_failed", "recovery failed"
        KEY_CHANGE = "key_change", "key change"
        KEY_RESET = "key_reset", "key reset"
        KEY_RESET_FAILED = "key_reset_failed", "key reset refused"
        ROOM_CREATED = "room_created", "room created"
        MEMBER_ADDED = "member_added", "member added"
        MEMBER_REMOVED = "member_removed", "member removed"
        MEMBER_LEFT = "member_left", "member left"
        # Consent: someone added to a group, or asked for a direct conversation, answers.
        INVITATION_ACCEPTED = "invitation_accepted", "invitation accepted"
        INVITATION_DECLINED = "invitation_declined", "invitation declined"
        # A signed roster entry that changes the invite link, a role, the owner or the room's (sealed) name.
        ROOM_CHANGED = "room_changed", "room changed"
        ENVELOPES_PURGED = "envelopes_purged", "envelopes purged"

    action = models.CharField(max_length=32, choices=Action.choices)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    # As typed, so failed attempts against unknown names are visible too.
    username = models.CharField(max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["action", "created_at"], name="accounts_audit_action_time")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.username}"
