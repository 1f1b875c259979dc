"""The WebSocket protocol's frames (docs/PROTOCOL.md): incoming ones parsed and checked at the edge into typed
values, and every outgoing one built here (lists of envelopes cut to what one frame may carry).

Only structure is checked here: lengths, types, limits. Who may do what is the services' business.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import Fields, parse_json

# v1: a room from before rosters; v2: a room with a roster, naming the head it was wrapped for; v3 (what browsers send
# now): v2, or v1 with a null head, plus the sender's key version, their chain link in the room and a key commitment.
ENVELOPE_VERSIONS = (1, 2, 3)
ROSTER_HEAD_VERSION = 2
CHAINED_VERSION = 3
HASH_BYTES = 32
ROSTER_HASH_BYTES = 32
# Safe integers for the browser, which reads roster seqs, key versions and chain seqs as JavaScript numbers.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_ROSTER_SEQ = MAX_SAFE_INTEGER
PAD_BLOCK = 256
GCM_TAG_BYTES = 16
# 16 000 characters of text as UTF-8 JSON, padded: 96 KiB is ample.
MAX_PADDED_PAYLOAD = 96 * 1024
MAX_CIPHERTEXT_BASE64 = 4 * -(-(MAX_PADDED_PAYLOAD + GCM_TAG_BYTES) // 3)
MAX_MEMBERS = 256
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_SENT_AT_MS = 253_402_300_799_999  # the last millisecond of year 9999
WRAP_BYTES = 40
MAX_USER_ID = 2**63 - 1
PAGE_DEFAULT = 50
PAGE_MAX = 100
# Rooms per page of the user's list (`ready`, then `rooms`): fewer when they would not fit one frame.
ROOMS_PAGE = 100
OPS = ("send", "sync", "history", "typing", "roster", "append", "rooms", "invitations", "read")
# What an outgoing frame's fields besides its envelopes may take, within the WebSocket message limit.
FRAME_HEADROOM = 4096


@dataclass(frozen=True)
class Frame:
    op: str
    ref: str | None
    fields: Fields


@dataclass(frozen=True)
class EnvelopeIn:
    version: int
    room: uuid.UUID
    sender: int
    client_id: uuid.UUID
    sent_at: datetime
    eph_pub: bytes
    iv: bytes
    ciphertext: bytes
    signature: bytes
    # The members' ids, strictly ascending, and their AES-KW wraps of the content key (WRAP_BYTES each),
    # concatenated in that order: stored and relayed as they came.
    wrap_ids: tuple[int, ...]
    wraps: bytes
    # v2 and v3: the roster head (seq and hash) the sender wrapped for, in the signed header (v3: None in a room
    # from before rosters).
    roster_seq: int | None = None
    roster_hash: bytes | None = None
    # v3 only: the sender's key version, their place in their chain of envelopes in the room (a counter from 1, and
    # the SHA-256 of the previous one's signed bytes, None for the first) and the content key's commitment.
    key_version: int | None = None
    chain_seq: int | None = None
    chain_prev: bytes | None = None
    key_commit: bytes | None = None


def parse_frame(text: str) -> Frame:
    data = parse_json(text, what="The frame")
    fields = Fields(data)
    ref = data.get("ref")
    if ref is not None and (not isinstance(ref, str) or len(ref) > 64):
        raise ApiError(ErrorCode.WRONG_TYPE, "ref must be a string of at most 64 characters.", field="ref")
    op = data.get("op")
    if op not in OPS:
        raise ApiError(ErrorCode.UNKNOWN_OP, f"op must be one of: {', '.join(OPS)}.", field="op", ref=ref)
    return Frame(op=op, ref=ref, fields=fields)


def room_id(fields: Fields) -> uuid.UUID:
    return fields.uuid("room")


def envelope_id(fields: Fields, name: str, *, optional: bool = False) -> int | None:
    if optional and fields.get(name) is None:
        return None
    return fields.integer(name, minimum=0, maximum=2**63 - 1)


def roster_from(fields: Fields, *, optional: bool = False) -> int:
    """The first roster seq a page asks for (0: the whole chain)."""
    if optional and fields.get("from") is None:
        return 0
    return fields.integer("from", minimum=0, maximum=MAX_ROSTER_SEQ)


def rooms_cursor(fields: Fields) -> int:
    """Where a page of the user's rooms starts: the ``after`` the previous page (``ready`` or ``rooms``) gave."""
    return fields.integer("after", minimum=0, maximum=MAX_USER_ID)


def page_limit(fields: Fields) -> int:
    if fields.get("limit") is None:
        return PAGE_DEFAULT
    return fields.integer("limit", minimum=1, maximum=PAGE_MAX)


def envelope(fields: Fields) -> EnvelopeIn:
    env = fields.object("envelope")
    raw = env.get("ciphertext")
    if isinstance(raw, str) and len(raw) > MAX_CIPHERTEXT_BASE64:
        raise ApiError(ErrorCode.TOO_LARGE, "The message is too long.", field="envelope.ciphertext")
    version = env.integer("v", minimum=ENVELOPE_VERSIONS[0], maximum=ENVELOPE_VERSIONS[-1])
    ciphertext = env.bytes(
        "ciphertext", min_length=PAD_BLOCK + GCM_TAG_BYTES, max_length=MAX_PADDED_PAYLOAD + GCM_TAG_BYTES
    )
    if (len(ciphertext) - GCM_TAG_BYTES) % PAD_BLOCK:
        raise ApiError(ErrorCode.BAD_LENGTH, "The payload is not padded to 256 bytes.", field="envelope.ciphertext")
    sent_at_ms = env.integer("sent_at", minimum=0, maximum=MAX_SENT_AT_MS)
    return EnvelopeIn(
        version=version,
        room=room_id(env),
        sender=env.integer("sender", minimum=1, maximum=MAX_USER_ID),
        client_id=env.uuid("client_id"),
        sent_at=ms_to_datetime(sent_at_ms),
        eph_pub=env.bytes("eph_pub", length=32),
        iv=env.bytes("iv", length=12),
        ciphertext=ciphertext,
        signature=env.bytes("signature", length=64),
        wrap_ids=(ids := wrap_ids(env)),
        # One decode for all of them: WRAP_BYTES per id, exactly.
        wraps=env.bytes("wraps", length=WRAP_BYTES * len(ids)),
        **roster_head(env, version),
        **chained(env, version),
    )


def roster_head(env: Fields, version: int) -> dict[str, Any]:
    """A v2 envelope's roster head, and a v3 one's unless both are null; a v1 envelope carries none (its room has no
    roster)."""
    names = ("roster_seq", "roster_hash")
    if version == ROSTER_HEAD_VERSION or (version == CHAINED_VERSION and any(env.get(n) is not None for n in names)):
        return {
            "roster_seq": env.integer("roster_seq", minimum=0, maximum=MAX_ROSTER_SEQ),
            "roster_hash": env.bytes("roster_hash", length=ROSTER_HASH_BYTES),
        }
    for name in names if version != CHAINED_VERSION else ():
        if env.get(name) is not None:
            raise ApiError(ErrorCode.WRONG_TYPE, "A v1 envelope names no roster head.", field=env.path_of(name))
    return {}


def chained(env: Fields, version: int) -> dict[str, Any]:
    """A v3 envelope's key version, chain link and key commitment; older versions carry none."""
    names = ("key_version", "chain_seq", "chain_prev", "key_commit")
    if version != CHAINED_VERSION:
        for name in names:
            if env.get(name) is not None:
                raise ApiError(ErrorCode.WRONG_TYPE, f"A v{version} envelope has no {name}.", field=env.path_of(name))
        return {}
    chain_seq = env.integer("chain_seq", minimum=1, maximum=MAX_SAFE_INTEGER)
    if chain_seq == 1 and env.get("chain_prev") is not None:
        raise ApiError(
            ErrorCode.WRONG_TYPE, "The first of a chain names no previous one.", field=env.path_of("chain_prev")
        )
    return {
        "key_version": env.integer("key_version", minimum=1, maximum=MAX_SAFE_INTEGER),
        "chain_seq": chain_seq,
        "chain_prev": None if chain_seq == 1 else env.bytes("chain_prev", length=HASH_BYTES),
        "key_commit": env.bytes("key_commit", length=HASH_BYTES),
    }


def wrap_ids(env: Fields) -> tuple[int, ...]:
    """1 to MAX_MEMBERS member ids (user ids, 1 to 2**63 - 1 like the sender's), strictly ascending: one spelling
    for each set of members, in the order the signature takes the wraps."""
    ids = env.array("wrap_ids")
    if not 1 <= len(ids) <= MAX_MEMBERS:
        raise ApiError(ErrorCode.BAD_LENGTH, f"Between 1 and {MAX_MEMBERS} wrap ids.", field="envelope.wrap_ids")
    previous = 0
    for index, member in enumerate(ids):
        # type() is int: not a bool (an int to isinstance) nor a float; json gives no other int subclass.
        if type(member) is not int or not previous < member <= MAX_USER_ID:
            raise ApiError(
                ErrorCode.WRONG_TYPE,
                "Wrap ids are member ids, in strictly ascending order.",
                field=f"envelope.wrap_ids.{index}",
            )
        previous = member
    return tuple(ids)


def ms_to_datetime(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def datetime_to_ms(value: datetime) -> int:
    """Exact: the sender's sent_at is part of the signed header and must come back unchanged."""
    return (value - EPOCH) // timedelta(milliseconds=1)


# --- outgoing frames ------------------------------------------------------------------------------------------------


def error_frame(error: ApiError, ref: str | None = None) -> dict[str, Any]:
    frame = {"type": "error", **error.as_dict()}
    frame.setdefault("ref", ref)
    return frame


def ready_frame(user_id: int, encoded: list[str], *, more: bool, after: int) -> str:
    """The socket is served: the user's id and the first page of their rooms (``rooms_page``); ``more`` says further
    pages follow, asked for with ``rooms`` from ``after``."""
    return frame_with_list({"type": "ready", "user": user_id, "more": more, "after": after}, "rooms", encoded)


def rooms_frame(ref: str | None, encoded: list[str], *, more: bool, after: int) -> str:
    """A further page of the user's rooms (``rooms``), from the cursor it was asked for to ``after``."""
    return frame_with_list({"type": "rooms", "ref": ref, "more": more, "after": after}, "rooms", encoded)


def ack_frame(client_id: uuid.UUID, envelope_id: int, room: uuid.UUID, ref: str | None) -> dict[str, Any]:
    """A send is stored (and only then): its id, under the sender's ``client_id``."""
    return {"type": "ack", "client_id": str(client_id), "id": envelope_id, "room": str(room), "ref": ref}


def appended_frame(answer: dict[str, Any], ref: str | None) -> dict[str, Any]:
    return {"type": "appended", **answer, "ref": ref}


def room_frame(event: str, room: dict[str, Any]) -> dict[str, Any]:
    """The user's list of rooms changed: ``added``, ``updated`` (with the room as ``room_json`` has it) or
    ``removed`` (with its id only)."""
    return {"type": "room", "event": event, "room": room}


def invitations_frame(ref: str | None, encoded: list[str], *, more: bool, after: int) -> str:
    """A page of the user's invitations waiting for an answer (``invitations``), from the cursor it was asked for to
    ``after``: pages like ``rooms``, so no number of them makes a frame daphne refuses to send."""
    return frame_with_list({"type": "invitations", "ref": ref, "more": more, "after": after}, "rooms", encoded)


def invitation_frame(event: str, room: dict[str, Any]) -> dict[str, Any]:
    """The user's invitations changed: ``added`` (the room as ``room_json`` has it, with ``invited_by``) or
    ``removed`` (its id only: taken back, declined, or accepted, when a ``room`` frame follows)."""
    return {"type": "invitation", "event": event, "room": room}


def roster_frame(room: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """New entries of a room's roster, as they are appended."""
    return {"type": "roster", "room": room, "entries": entries}


def read_frame(room: str, up_to: int, ref: str | None = None) -> dict[str, Any]:
    """The user has read the room up to the envelope ``up_to``: the answer to ``read``, and told to every socket of
    theirs whenever it moves."""
    return {"type": "read", "room": room, "up_to": up_to, "ref": ref}


def typing_frame(room: str, user_id: int) -> dict[str, Any]:
    return {"type": "typing", "room": room, "user": user_id}


def presence_frame(room: str, online: list[int]) -> dict[str, Any]:
    return {"type": "presence", "room": room, "online": online}


def keys_frame(user_id: int) -> dict[str, Any]:
    """A member's keys changed: read them again."""
    return {"type": "keys", "user": user_id}


def envelopes_frame(ref: str | None, room: uuid.UUID, encoded: list[str], *, more: bool, start: bool) -> str:
    """A page of history (``history``) or of what came after an id (``sync``), items already encoded."""
    fields = {"type": "envelopes", "ref": ref, "room": str(room), "more": more, "start": start}
    return frame_with_list(fields, "items", encoded)


def roster_page_frame(ref: str | None, room: uuid.UUID, encoded: list[str], *, more: bool) -> str:
    """A page of a room's roster entries from a seq (``roster``), entries already encoded."""
    fields = {"type": "roster", "ref": ref, "room": str(room), "more": more}
    return frame_with_list(fields, "entries", encoded)


# --- outgoing lists of envelopes ---------------------------------------------------------------------------------


def envelope_runs(encoded: list[str]) -> list[list[str]]:
    """JSON-encoded envelopes, in order, as consecutive runs that each fit one frame (at least one run).

    daphne enforces its WebSocket message limit on what it sends as well as on what it receives, and refuses a larger
    message. A run holds the limit less ``FRAME_HEADROOM``, room for the frame's own fields (type, ref, room, flags:
    a few hundred bytes); one envelope alone always fits (a send's limits keep it far below). JSON is ASCII here
    (``json.dumps`` escapes the rest): characters are bytes.
    """
    budget = settings.WEBSOCKET_MAX_MESSAGE_BYTES - FRAME_HEADROOM
    runs: list[list[str]] = [[]]
    size = 0
    for item in encoded:
        if runs[-1] and size + len(item) + 2 > budget:
            runs.append([])
            size = 0
        runs[-1].append(item)
        size += len(item) + 2
    return runs


def frame_with_list(fields: dict[str, Any], key: str, encoded: list[str]) -> str:
    """``fields`` as a JSON frame whose last member ``key`` is the list of already-encoded items."""
    return f'{json.dumps(fields)[:-1]}, "{key}": [{", ".join(encoded)}]}}'


def messages_frames(room: str, envelopes: list[str], *, after: list[int]) -> list[str]:
    """A commit's JSON-encoded envelopes for one room as ``messages`` frames, in order; ``after[i]`` is the id of the
    room's envelope just before ``envelopes[i]``, and each frame carries that of its first envelope."""
    frames, start = [], 0
    for run in envelope_runs(envelopes):
        frames.append(frame_with_list({"type": "messages", "room": room, "after": after[start]}, "envelopes", run))
        start += len(run)
    return frames


def rooms_page(stays: list[tuple[int, dict[str, Any]]], more: bool, after: int) -> tuple[list[str], bool, int]:
    """A page of the user's rooms, each with the id of the user's membership of it (ascending, all above
    ``after``), encoded and cut to one frame. Returns the rooms, whether more follow, and the cursor to ask from next:
    the membership id of the last room in the page (``after`` if none)."""
    encoded, more = page_that_fits([room for _, room in stays], more, keep_newest=False)
    return encoded, more, stays[len(encoded) - 1][0] if encoded else after


def page_that_fits(items: list[dict[str, Any]], more: bool, *, keep_newest: bool) -> tuple[list[str], bool]:
    """A page's envelopes (oldest first), encoded and cut to one frame: the newest of them (paging back) or the
    oldest (catching up). Returns them and whether more remain in that direction, counting what was cut."""
    encoded = [json.dumps(item) for item in items]
    run = envelope_runs(encoded[::-1])[0][::-1] if keep_newest else envelope_runs(encoded)[0]
    return run, more or len(run) < len(encoded)
