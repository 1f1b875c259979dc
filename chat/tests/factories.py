"""Users with identities, signed-in sockets, and envelopes of the real shape (random bytes: the server cannot tell)."""

from __future__ import annotations

import base64
import os
import time
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.test import Client
from django.utils import timezone

from accounts.audit import ClientInfo
from accounts.models import User
from accounts.schemas import new_account
from accounts.services import register
from accounts.tests.factories import identity_keys, signup_body
from chat.models import Envelope, Membership, Room
from toolkit.validation import Fields

LOCAL = ClientInfo(ip_address="127.0.0.1", user_agent="tests")


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def make_user(username: str) -> User:
    """A registered user whose keys are ``identity_keys(username)``: tests can sign as them."""
    return register(account=new_account(Fields(signup_body(username))), client=LOCAL)


def private_keys(user: User) -> tuple[Ed25519PrivateKey, X25519PrivateKey]:
    """The user's current signing and agreement private keys (reads their key version)."""
    return identity_keys(user.username, user.identity.key_version)


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


# What a browser on the test server's page sends with a socket: the server's Host and the page's origin.
PAGE_HEADERS = [(b"host", b"testserver"), (b"origin", b"http://testserver")]


async def connect(
    user: User | None, origin: str = "http://testserver", path: str = "/ws/chat/"
) -> WebsocketCommunicator:
    from securechat.asgi import application  # imported late: it builds the middleware from settings

    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def head_of(room: Room) -> tuple[int, str] | None:
    """The roster head a v2 envelope to ``room`` names, as the instance holds it (None: a room from before rosters)."""
    return None if room.roster_seq is None else (room.roster_seq, b64(bytes(room.roster_head)))


def envelope(
    room: Any,
    sender: int,
    members: list[int],
    client_id: str | None = None,
    blocks: int = 1,
    head: tuple[int, str] | None = None,
    chain: int | None = None,
) -> dict[str, Any]:
    """An envelope to ``room`` (a Room, or an id); v2 naming ``head`` (by default a Room's own head) if there is one.
    With ``chain`` (the sender's place in their chain in the room) it is v3, as browsers send now."""
    if isinstance(room, Room):
        room, head = room.id, head or head_of(room)
    header: dict[str, Any] = {
        "v": 1 if head is None else 2,
        "room": str(room),
        "sender": sender,
        "client_id": client_id or str(uuid.uuid4()),
        "sent_at": int(time.time() * 1000),
    }
    if chain is not None:
        header |= {"v": 3, "key_version": 1, "roster_seq": None, "roster_hash": None}
    if head is not None:
        header["roster_seq"], header["roster_hash"] = head
    if chain is not None:
        prev = None if chain == 1 else b64(os.urandom(32))
        header |= {"chain_seq": chain, "chain_prev": prev, "key_commit": b64(os.urandom(32))}
    return {
        **header,
        "eph_pub": b64(os.urandom(32)),
        "iv": b64(os.urandom(12)),
        "ciphertext": b64(os.urandom(256 * blocks + 16)),
        "wrap_ids": sorted(members),
        "wraps": b64(os.urandom(40 * len(members))),
        "signature": b64(os.urandom(64)),
    }


def store_envelopes(room: Room, sender: User, count: int, *, ciphertext_bytes: int = 272) -> list[Envelope]:
    """``count`` v1 envelopes from ``sender`` stored straight in ``room``, wrapped for its members (random bytes)."""
    members = sorted(room.memberships.values_list("user_id", flat=True))
    return Envelope.objects.bulk_create(
        Envelope(
            room=room,
            sender=sender,
            client_id=uuid.uuid4(),
            version=1,
            client_time=timezone.now(),
            eph_pub=os.urandom(32),
            iv=os.urandom(12),
            ciphertext=os.urandom(ciphertext_bytes),
            signature=os.urandom(64),
            wrap_ids=members,
            wraps=os.urandom(40 * len(members)),
            size=ciphertext_bytes,
        )
        for _ in range(count)
    )


def send_frame(room: Any, env: dict[str, Any], ref: str | None = None) -> dict[str, Any]:
    return {"op": "send", "room": str(room), "envelope": env, "ref": ref}


def bulk_rooms(owner: User, members: list[User], count: int, *, prefix: str = "Room") -> list[Room]:
    """``count`` group rooms of ``owner`` with ``members`` (the owner among them or not), made in two statements: rooms
    from before rosters, named ``<prefix> 0001`` on: what ``room_json`` reads, none of what a roster adds. Their
    memberships are made in room order, so a user's pages list them in that order."""
    rooms = Room.objects.bulk_create(
        Room(owner=owner, kind=Room.Kind.GROUP, legacy_name=f"{prefix} {index:04d}") for index in range(1, count + 1)
    )
    Membership.objects.bulk_create(
        Membership(room=room, user=member, role=Membership.Role.ADMIN if member == owner else Membership.Role.MEMBER)
        for room in rooms
        for member in members
    )
    return rooms
