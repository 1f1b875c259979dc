"""The WebSocket protocol's frames (docs/PROTOCOL.md), parsed and checked at the edge into typed values.

Only structure is checked here: lengths, types, limits. Who may do what is the services' business.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from securechat.errors import ApiError, ErrorCode
from securechat.validation import Fields, decode_base64, parse_json

ENVELOPE_VERSION = 1
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
OPS = ("send", "sync", "history", "typing")


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
    # Member id -> the wrap exactly as sent (base64), so it is stored and relayed unchanged.
    wraps: dict[int, str]


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


def page_limit(fields: Fields) -> int:
    if fields.get("limit") is None:
        return PAGE_DEFAULT
    return fields.integer("limit", minimum=1, maximum=PAGE_MAX)


def envelope(fields: Fields) -> EnvelopeIn:
    env = fields.object("envelope")
    raw = env.get("ciphertext")
    if isinstance(raw, str) and len(raw) > MAX_CIPHERTEXT_BASE64:
        raise ApiError(ErrorCode.TOO_LARGE, "The message is too long.", field="envelope.ciphertext")
    version = env.integer("v", minimum=ENVELOPE_VERSION, maximum=ENVELOPE_VERSION)
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
        wraps=_wraps(env),
    )


def _wraps(env: Fields) -> dict[int, str]:
    raw = env.object("wraps")
    items = raw.items()
    if not items or len(items) > MAX_MEMBERS:
        raise ApiError(ErrorCode.BAD_LENGTH, f"Between 1 and {MAX_MEMBERS} wraps.", field="envelope.wraps")
    wraps: dict[int, str] = {}
    for key, value in items:
        # ASCII digits only ("²" is a digit to str.isdigit, not to int), and at most 19 of them before int()
        # (which refuses more than 4 300): member ids are user ids, 1 to 2**63 - 1 like the sender's.
        if (
            not (key.isascii() and key.isdigit())
            or len(key) > 19
            or key != str(int(key))
            or not 1 <= int(key) <= MAX_USER_ID
        ):
            raise ApiError(ErrorCode.WRONG_TYPE, "Wrap keys are member ids.", field=f"envelope.wraps.{key[:20]}")
        if not isinstance(value, str) or len(value) != 56:
            raise ApiError(ErrorCode.BAD_LENGTH, "Each wrap is 40 bytes.", field=f"envelope.wraps.{key}")
        if len(decode_base64(value, field=f"envelope.wraps.{key}")) != WRAP_BYTES:
            raise ApiError(ErrorCode.BAD_LENGTH, "Each wrap is 40 bytes.", field=f"envelope.wraps.{key}")
        wraps[int(key)] = value
    return wraps


def ms_to_datetime(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def datetime_to_ms(value: datetime) -> int:
    """Exact: the sender's sent_at is part of the signed header and must come back unchanged."""
    return (value - EPOCH) // timedelta(milliseconds=1)


def error_frame(error: ApiError, ref: str | None = None) -> dict[str, Any]:
    frame = {"type": "error", **error.as_dict()}
    frame.setdefault("ref", ref)
    return frame
