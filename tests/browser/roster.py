"""Driving the roster parts of the chat page (lines in the conversation, roles, invite links, warnings) by their
accessible names, and playing the malicious server against them: rows edited under the honest code."""

from __future__ import annotations

import base64
import re

from playwright.sync_api import Locator, Page, expect

from accounts.models import User
from chat.models import Envelope, Membership, Room, RosterEntry
from tests.browser.chat import CHAT_TIMEOUT_MS, PASSWORD, Person, members, transcript

NO_ONE_ADDED = "members no one added"


def timeline(page: Page) -> Locator:
    """Every message and roster line of the open conversation, in order."""
    return transcript(page).locator("article.message .text, .roster-line .line-text")


def lines(page: Page) -> Locator:
    return transcript(page).locator(".roster-line .line-text")


def expect_timeline(page: Page, expected: list[str]) -> None:
    expect(timeline(page)).to_have_text(expected, timeout=CHAT_TIMEOUT_MS)


def roster_warning(page: Page) -> Locator:
    """The open room's blocking warning about its member list."""
    return page.locator("#roster-warnings").get_by_role("alert")


def expect_blocked(page: Page) -> None:
    expect(roster_warning(page)).to_contain_text(NO_ONE_ADDED, timeout=CHAT_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()


def invite_link(page: Page) -> Locator:
    return members(page).get_by_label("Invite link")


def member_button(page: Page, name: str) -> Locator:
    return members(page).get_by_role("button", name=name, exact=True)


def join_by_link(person: Person, url: str, name: str) -> None:
    """Opens an invite link, checks the room it names, and joins."""
    page = person.page
    page.goto(url)
    expect(page.get_by_role("heading", name=f"Join {name}")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    page.get_by_role("button", name="Join room").click()
    expect(page).to_have_url(re.compile(r"/rooms/[0-9a-f-]{36}/$"), timeout=CHAT_TIMEOUT_MS)
    expect(page.get_by_role("heading", level=1)).to_have_text(name, timeout=CHAT_TIMEOUT_MS)


def write_before_rosters(room_id: str, sender: Person, readers: list[Person], text: str) -> None:
    """A message written before rosters: a genuine v1 envelope, sealed and signed with the sender's real keys
    (recomputed from their password, as their browser would), stored as the server stored such envelopes."""
    import os
    import time
    import uuid

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from accounts.models import Identity
    from accounts.selectors import own_identity_json
    from tests import reference_envelope
    from tests.reference_crypto import account_secrets

    identities = {i.user.username: i for i in Identity.objects.filter(user__username__in=[p.username for p in readers])}
    sender_identity = Identity.objects.get(user__username=sender.username)
    keys = account_secrets(PASSWORD, own_identity_json(sender_identity)).identity
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    envelope = reference_envelope.seal(
        room=room_id,
        sender=sender_identity.user_id,
        client_id=str(uuid.uuid4()),
        sent_at=int(time.time() * 1000),
        text=text,
        members={
            i.user_id: X25519PublicKey.from_public_bytes(bytes(i.agreement_public_key)) for i in identities.values()
        },
        signing_key=keys.signing_key,
        ephemeral_key=X25519PrivateKey.generate(),
        content_key=os.urandom(32),
        iv=os.urandom(12),
    )
    store_as_is(envelope)


def store_as_is(envelope: dict) -> int:
    """An envelope stored as it came, by the server's own hand (a malicious server stores what the honest code would
    refuse). Returns its id."""
    from chat.protocol import ms_to_datetime

    b = base64.b64decode
    roster = (
        {"roster_seq": envelope["roster_seq"], "roster_hash": b(envelope["roster_hash"])}
        if envelope.get("roster_seq") is not None
        else {}
    )
    if envelope["v"] == 3:
        prev = envelope["chain_prev"]
        roster |= {
            "key_version": envelope["key_version"],
            "chain_seq": envelope["chain_seq"],
            "chain_prev": None if prev is None else b(prev),
            "key_commit": b(envelope["key_commit"]),
        }
    return Envelope.objects.create(
        room_id=envelope["room"],
        sender_id=envelope["sender"],
        client_id=envelope["client_id"],
        version=envelope["v"],
        client_time=ms_to_datetime(envelope["sent_at"]),
        eph_pub=b(envelope["eph_pub"]),
        iv=b(envelope["iv"]),
        ciphertext=b(envelope["ciphertext"]),
        signature=b(envelope["signature"]),
        wrap_ids=envelope["wrap_ids"],
        wraps=b(envelope["wraps"]),
        size=len(b(envelope["ciphertext"])),
        **roster,
    ).pk


# --- the malicious server's hand ----------------------------------------------------------------------------------


def memberships(room: Room, users: list[User]) -> None:
    """Membership rows, as the server writes them (no roster entry)."""
    for user in users:
        Membership.objects.create(room=room, user=user)


def v1_signed_by(user: User, room_id: str, readers: list[User], text: str) -> int:
    """A v1 envelope for ``room_id`` signed by an account whose keys the server holds (one it registered itself),
    stored as the server stores envelopes. Returns its id."""
    import os
    import time
    import uuid

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    from accounts.models import Identity
    from accounts.tests.factories import identity_keys
    from tests import reference_envelope

    signing, _ = identity_keys(user.username, user.identity.key_version)
    identities = Identity.objects.filter(user__in=readers)
    keys = {i.user_id: X25519PublicKey.from_public_bytes(bytes(i.agreement_public_key)) for i in identities}
    envelope = reference_envelope.seal(
        room=room_id, sender=user.pk, client_id=str(uuid.uuid4()), sent_at=int(time.time() * 1000), text=text,
        members=keys, signing_key=signing, ephemeral_key=X25519PrivateKey.generate(), content_key=os.urandom(32),
        iv=os.urandom(12),
    )  # fmt: skip
    return store_as_is(envelope)


def insert_membership(room_id: str, user_id: int) -> None:
    """What a server that wants one more reader does: a membership row, no roster entry."""
    last = Envelope.objects.filter(room_id=room_id).order_by("-id").values_list("id", flat=True).first() or 0
    Membership.objects.create(room_id=room_id, user_id=user_id, joined_after=last)


def entries(room_id: str) -> list[RosterEntry]:
    return list(RosterEntry.objects.filter(room_id=room_id).order_by("seq"))


def set_head(room_id: str) -> None:
    """The room's head as the (edited) entries now say, as a server covering its tracks would keep it."""
    last = RosterEntry.objects.filter(room_id=room_id).order_by("-seq").first()
    Room.objects.filter(id=room_id).update(
        roster_seq=last.seq if last else None, roster_head=last.hash if last else None
    )
