"""Signed rosters as the members' browsers make them (tests/reference_roster.py), appended through the real service.

``Chain`` is one room's roster as its members' browsers know it: it builds, signs and seals the next entry with the
test users' keys (``accounts.tests.factories.identity_keys``), sends it to ``services.append_entry`` and, once the
server took it, applies it to its own state with the reference rules, so every entry a test stores is also one a
browser would accept. Synchronous (it reads keys from the database): async tests call it through
``database_sync_to_async``.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from accounts import introductions
from accounts.models import Identity, KeyEvent, User
from accounts.tests.factories import identity_keys
from chat import roster, services
from chat.models import Room
from chat.tests.factories import LOCAL
from tests import reference_roster as ref
from tests.reference_crypto import to_b64
from toolkit.validation import Fields

KEEP: Any = object()  # the link as it is


def current_version(user: User | int) -> int:
    return Identity.objects.get(user=user).key_version


def key_lookup(user_id: int, key_version: int) -> Ed25519PublicKey | None:
    """Signing keys from the key history, as a browser fetches them (``GET /api/key-history``)."""
    key = KeyEvent.objects.filter(user_id=user_id, key_version=key_version).values_list("signing_public_key").first()
    return Ed25519PublicKey.from_public_bytes(bytes(key[0])) if key else None


def agreement_keys(user_ids: set[int]) -> dict[int, X25519PublicKey]:
    rows = Identity.objects.filter(user_id__in=user_ids).values_list("user_id", "agreement_public_key")
    return {user_id: X25519PublicKey.from_public_bytes(bytes(key)) for user_id, key in rows}


def new_link() -> bytes:
    return os.urandom(32)


@dataclass
class Chain:
    """One room's roster as its members' browsers keep it."""

    room_id: uuid.UUID = field(default_factory=uuid.uuid4)
    name: str = "Plans"
    topic: str = ""
    link_secret: bytes | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    state: ref.State | None = None

    @property
    def head(self) -> tuple[int, str]:
        """(seq, base64 hash) of the newest entry: what a v2 envelope names."""
        assert self.state is not None, "no entry yet"
        return self.state.seq, self.state.head_b64

    def room(self) -> Room:
        return Room.objects.get(id=self.room_id)

    # --- making entries ---

    def body(
        self,
        actor: User,
        op: str,
        *,
        member: User | None = None,
        members: tuple[User, ...] = (),
        kind: str = "group",
        role: str = "",
        link_secret: Any = KEEP,
        name: str | None = None,
        seq: int | None = None,
        prev: str | None = None,
        sealed_for: set[int] | None = None,
    ) -> dict[str, Any]:
        """The next entry's body as an honest browser makes it; ``seq``, ``prev`` and ``sealed_for`` override."""
        creating = op == "create"
        secret = self.link_secret if link_secret is KEEP else link_secret
        if creating:
            pairs = [(user.pk, current_version(user)) for user in members]
            after = {user.pk for user in members}
        else:
            assert self.state is not None
            pairs = [(member.pk, self._version_of(member))] if member is not None else []
            after = set(self.state.members)
            if op in ("add", "join"):
                after.add(member.pk)
            elif op in ("remove", "leave"):
                after.discard(member.pk)
        if op == "join":  # signed with the open link's key, and the link stays open
            secret = self.link_secret
        seq = (0 if creating else self.state.seq + 1) if seq is None else seq
        prev = ("" if creating else self.state.head_b64) if prev is None else prev
        names_link = secret is not None and op in ("create", "link", "join", "remove")
        unsealed = ref.body(
            room=str(self.room_id),
            seq=seq,
            prev=prev,
            at=int(time.time() * 1000),
            actor=actor.pk,
            actor_key=current_version(actor),
            op=op,
            kind=kind if creating else "",
            members=pairs,
            role=role,
            link=to_b64(ref.link_public_key(secret)) if names_link else "",
        )
        return ref.with_meta(
            unsealed,
            name=(name or self.name) if kind == "group" else "",
            topic=self.topic,
            link_secret=secret,
            # The last member to leave seals it for themselves.
            members=agreement_keys((after or {actor.pk}) if sealed_for is None else sealed_for),
            ephemeral_key=X25519PrivateKey.generate(),
            content_key=os.urandom(32),
            iv=os.urandom(12),
        )

    def _version_of(self, user: User) -> int:
        """The key version the actor's browser holds for ``user``: the chain's, else the one it just fetched."""
        assert self.state is not None
        known = self.state.members.get(user.pk)
        return known.key_version if known is not None else current_version(user)

    def sign(self, actor: User, body: dict[str, Any], *, key_version: int | None = None) -> dict[str, Any]:
        """Signed with the actor's current key (or the one of ``key_version``), and the open link's for a join."""
        signing, _ = identity_keys(actor.username, key_version or current_version(actor))
        link_key = ref.link_signing_key(self.link_secret) if body["op"] == "join" and self.link_secret else None
        return ref.sign(body, signing, link_key)

    def entry(self, actor: User, op: str, **options: Any) -> dict[str, Any]:
        return self.sign(actor, self.body(actor, op, **options))

    # --- sending them ---

    def submit(self, actor: User, wire: dict[str, Any], **then: Any) -> services.Appended:
        """Send a wire entry through the real service; taken, it becomes this chain's head."""
        entry = roster.entry(Fields({"entry": wire}))
        appended = services.append_entry(actor=actor, room_id=self.room_id, entry=entry, client=LOCAL)
        self.accept(wire, **then)
        return appended

    def append(self, actor: User, op: str, *, accepted: bool = True, **options: Any) -> services.Appended:
        """Make, sign and send the next entry; the chain takes on the link and name it set. Whoever an add or a create
        names, the actor looked up by name first, as a browser does (``accounts.introductions``), and then accepted
        the invitation, unless ``accepted`` is false."""
        named = [options["member"]] if options.get("member") else list(options.get("members", ()))
        if op in ("add", "create"):
            for user in named:
                introductions.introduce(actor.pk, user.pk)
        then = {key: options[key] for key in ("link_secret", "name") if key in options}
        appended = self.submit(actor, self.entry(actor, op, **options), **then)
        if accepted and op in ("add", "create"):
            for user in named:
                services.accept_invitation(user=user, room_id=self.room_id, client=LOCAL)
        return appended

    def accept(self, wire: dict[str, Any], *, link_secret: Any = KEEP, name: str | None = None) -> None:
        """A stored entry, applied to the state by the reference rules (a browser would refuse one that breaks them)."""
        self.state = ref.apply(self.state, wire, key_lookup)
        self.entries.append(wire)
        if link_secret is not KEEP:
            self.link_secret = link_secret
        self.name = name or self.name


def make_room(
    owner: User,
    *others: User,
    name: str = "Plans",
    link: bool = False,
    kind: str = "group",
    accepted: bool = True,
) -> tuple[Room, Chain]:
    """A room made as browsers make one: the owner's create, then one signed add per other member (a direct room:
    one create naming both); each invitation accepted, unless ``accepted`` is false."""
    chain = Chain(name=name)
    secret = new_link() if link else None
    if kind == "direct":
        chain.append(owner, "create", members=(owner, *others), kind="direct", accepted=accepted)
    else:
        chain.append(owner, "create", members=(owner,), link_secret=secret)
        for other in others:
            chain.append(owner, "add", member=other, accepted=accepted)
    return chain.room(), chain
