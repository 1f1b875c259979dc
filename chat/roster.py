"""Roster entries (docs/PROTOCOL.md, "Roster v1") parsed and checked at the edge into typed values.

Only form is checked here: the body is canonical JSON, every field of its documented shape, each op with the fields
it may carry. Whether an entry follows the room's head, who may make it and what it changes are the services'.
A body that breaks a rule is ``bad_entry``, naming the field (``entry.body.members.0``); the wire object's own
signatures are checked like any other field of a frame.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from chat.protocol import (
    GCM_TAG_BYTES,
    MAX_MEMBERS,
    MAX_ROSTER_SEQ,
    MAX_SENT_AT_MS,
    MAX_USER_ID,
    PAD_BLOCK,
    ROSTER_HASH_BYTES,
    WRAP_BYTES,
)
from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import Fields, encode_base64

LABEL = b"securechat/roster/v1|"
VERSION = 1
BODY_KEYS = ("v", "room", "seq", "prev", "at", "actor", "actor_key", "op", "kind", "members", "role", "link", "meta")
META_KEYS = ("eph_pub", "iv", "ciphertext", "wrap_ids", "wraps", "link_wrap")
ENTRY_KEYS = ("body", "signature", "link_signature")
OPS = ("create", "add", "remove", "leave", "join", "link", "role", "owner", "rename", "reseal")
# The ops that concern exactly one member, and those that concern none.
ONE_MEMBER_OPS = frozenset({"add", "remove", "leave", "join", "role", "owner"})
NO_MEMBER_OPS = frozenset({"link", "rename", "reseal"})
KINDS = ("group", "direct")
ROLES = ("admin", "member")
MAX_BODY = 32 * 1024
KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_KEY_VERSION = 2**31 - 1
# The sealed name, topic and link: 1 to 8 blocks of 256 bytes padded (2 048 at most), and the GCM tag.
MAX_META_BLOCKS = 8


@dataclass(frozen=True)
class Member:
    id: int
    key_version: int


@dataclass(frozen=True)
class Meta:
    """The room's name, topic and link secret, sealed for the members after the entry; the server sees its shape."""

    eph_pub: bytes
    iv: bytes
    ciphertext: bytes
    wrap_ids: tuple[int, ...]
    wraps: bytes
    link_wrap: bytes  # b"": no invite link is open after the entry


@dataclass(frozen=True)
class EntryIn:
    body: str  # as received: the signed record, stored and served byte for byte
    signature: bytes
    link_signature: bytes  # b"" unless a join
    hash: bytes
    room: uuid.UUID
    seq: int
    prev: bytes  # b"" at seq 0
    at: int
    actor: int
    actor_key: int
    op: str
    kind: str  # "" unless a create
    members: tuple[Member, ...]
    role: str  # "" unless a role change
    link: bytes  # the invite link's public key, or b""
    meta: Meta

    @property
    def signed_bytes(self) -> bytes:
        return signed_bytes(self.body)

    @property
    def member(self) -> Member:
        """The one member an add, remove, leave, join, role or owner entry concerns."""
        return self.members[0]

    @property
    def member_ids(self) -> set[int]:
        return {member.id for member in self.members}


def signed_bytes(body: str) -> bytes:
    return LABEL + body.encode("ascii")


def entry_hash(body: str) -> bytes:
    return hashlib.sha256(signed_bytes(body)).digest()


def entry(fields: Fields) -> EntryIn:
    """The frame's or request's ``entry``, checked for form."""
    wire = fields.object("entry")
    for key, _ in wire.items():
        if key not in ENTRY_KEYS:
            _bad(f"entry.{key[:64]}", "An entry carries only its body, signature and link_signature.")
    raw = wire.get("body")
    if isinstance(raw, str) and len(raw) > MAX_BODY:
        raise ApiError(ErrorCode.TOO_LARGE, f"An entry's body is at most {MAX_BODY} bytes.", field="entry.body")
    body = wire.string("body", max_length=MAX_BODY)
    signature = wire.bytes("signature", length=SIGNATURE_BYTES)
    link_signature = b"" if wire.get("link_signature") == "" else wire.bytes("link_signature", length=SIGNATURE_BYTES)
    parsed = _body(body)
    if (parsed["op"] == "join") != bool(link_signature):
        _bad("entry.link_signature", "A join, and only a join, carries the invite link's signature.")
    return EntryIn(body=body, signature=signature, link_signature=link_signature, hash=entry_hash(body), **parsed)


def _bad(field: str, detail: str) -> NoReturn:
    raise ApiError(ErrorCode.BAD_ENTRY, detail, field=field)


@contextlib.contextmanager
def _as_bad_entry() -> Iterator[None]:
    """The validation helpers' refusals, as ``bad_entry``: inside a body every wrong form is one."""
    try:
        yield
    except ApiError as error:
        raise ApiError(ErrorCode.BAD_ENTRY, error.detail, field=error.field) from None


def _exact_keys(data: Any, keys: tuple[str, ...], path: str) -> Fields:
    """An object with exactly ``keys``, in that order (the canonical form has no other spelling)."""
    if not isinstance(data, dict):
        _bad(path, "Expected a JSON object.")
    for key in data:
        if key not in keys:
            _bad(f"{path}.{key[:64]}", "This key has no place here.")
    for key in keys:
        if key not in data:
            _bad(f"{path}.{key}", "This key is missing.")
    if tuple(data) != keys:
        _bad(path, f"The keys must come in this order: {', '.join(keys)}.")
    return Fields(data, path=path)


def _body(text: str) -> dict[str, Any]:
    path = "entry.body"
    if not text.isascii():
        _bad(path, "A body is ASCII: every value is an integer or an ASCII string.")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        _bad(path, "The body is not valid JSON.")
    body = _exact_keys(data, BODY_KEYS, path)
    with _as_bad_entry():
        parsed = _fields(body)
    # Re-encoded, the parsed body must be the very bytes that were signed: no spaces, no escapes, no other order.
    if json.dumps(data, separators=(",", ":")) != text:
        _bad(path, "The body is not in its canonical form (keys in order, no spaces).")
    return parsed


def _fields(body: Fields) -> dict[str, Any]:
    body.integer("v", minimum=VERSION, maximum=VERSION)
    seq = body.integer("seq", minimum=0, maximum=MAX_ROSTER_SEQ)
    op = body.string("op", max_length=16)
    if op not in OPS:
        _bad("entry.body.op", f"op is one of: {', '.join(OPS)}.")
    if (op == "create") != (seq == 0):
        _bad("entry.body.seq", "A room's first entry, at seq 0, is its create, and only that one.")
    actor = body.integer("actor", minimum=1, maximum=MAX_USER_ID)
    kind = body.string("kind", max_length=16)
    members = _members(body, op, actor, kind)
    role = body.string("role", max_length=16)
    if role not in (ROLES if op == "role" else ("",)):
        _bad("entry.body.role", "A role entry names 'admin' or 'member'; any other entry ''.")
    link = _optional_blob(body, "link", KEY_BYTES)
    if (op == "join" and not link) or (op not in ("join", "link", "create", "remove") and link):
        _bad(
            "entry.body.link",
            "Only a join, a link entry, a create or a removal names an invite link key (a join must).",
        )
    if op == "create" and kind == "direct" and link:
        _bad("entry.body.link", "A direct room has no invite link.")
    prev = _optional_blob(body, "prev", ROSTER_HASH_BYTES)
    if bool(prev) != (seq > 0):
        _bad("entry.body.prev", "prev is '' at seq 0 and the previous entry's hash after it.")
    return {
        "room": body.uuid("room"),
        "seq": seq,
        "prev": prev,
        "at": body.integer("at", minimum=0, maximum=MAX_SENT_AT_MS),
        "actor": actor,
        "actor_key": body.integer("actor_key", minimum=1, maximum=MAX_KEY_VERSION),
        "op": op,
        "kind": kind,
        "members": members,
        "role": role,
        "link": link,
        "meta": _meta(body),
    }


def _members(body: Fields, op: str, actor: int, kind: str) -> tuple[Member, ...]:
    if kind not in (KINDS if op == "create" else ("",)):
        _bad("entry.body.kind", "A create names 'group' or 'direct'; any other entry ''.")
    items = body.array("members")
    members: list[Member] = []
    for index, item in enumerate(items):
        if not isinstance(item, list) or len(item) != 2:
            _bad(f"entry.body.members.{index}", "A member is [user id, key version].")
        pair = Fields({"id": item[0], "key_version": item[1]}, path=f"entry.body.members.{index}")
        member = Member(
            id=pair.integer("id", minimum=1, maximum=MAX_USER_ID),
            key_version=pair.integer("key_version", minimum=1, maximum=MAX_KEY_VERSION),
        )
        if members and member.id <= members[-1].id:
            _bad(f"entry.body.members.{index}", "Members are in strictly ascending order of id.")
        members.append(member)
    count = 1 if op in ONE_MEMBER_OPS else 0 if op in NO_MEMBER_OPS else None
    if count is not None and len(members) != count:
        _bad("entry.body.members", f"A {op} entry names {'exactly one member' if count else 'no member'}.")
    if op == "create":
        if not 1 <= len(members) <= MAX_MEMBERS or actor not in {m.id for m in members}:
            _bad("entry.body.members", f"A create names 1 to {MAX_MEMBERS} first members, the actor among them.")
        if kind == "direct" and len(members) != 2:
            _bad("entry.body.members", "A direct room is exactly two people.")
    return tuple(members)


def _meta(body: Fields) -> Meta:
    meta = _exact_keys(body.get("meta"), META_KEYS, "entry.body.meta")
    ciphertext = _blob(meta, "ciphertext", None)
    blocks, rest = divmod(len(ciphertext) - GCM_TAG_BYTES, PAD_BLOCK)
    if rest or not 1 <= blocks <= MAX_META_BLOCKS:
        _bad("entry.body.meta.ciphertext", f"The sealed meta is 1 to {MAX_META_BLOCKS} blocks of 256 bytes and a tag.")
    ids = meta.array("wrap_ids")
    if not 1 <= len(ids) <= MAX_MEMBERS:
        _bad("entry.body.meta.wrap_ids", f"1 to {MAX_MEMBERS} wrap ids: a meta is sealed for someone.")
    for index, member in enumerate(ids):
        if type(member) is not int or not (ids[index - 1] if index else 0) < member <= MAX_USER_ID:
            _bad(f"entry.body.meta.wrap_ids.{index}", "Wrap ids are member ids, in strictly ascending order.")
    wraps = _blob(meta, "wraps", WRAP_BYTES * len(ids))
    return Meta(
        eph_pub=_blob(meta, "eph_pub", KEY_BYTES),
        iv=_blob(meta, "iv", 12),
        ciphertext=ciphertext,
        wrap_ids=tuple(ids),
        wraps=wraps,
        link_wrap=_optional_blob(meta, "link_wrap", WRAP_BYTES),
    )


def _blob(fields: Fields, name: str, length: int | None) -> bytes:
    """Canonical standard base64 of ``length`` bytes (any length up to a body's when None)."""
    if length is None:
        value = fields.bytes(name, min_length=1, max_length=MAX_BODY)
    else:
        value = fields.bytes(name, length=length)
    if encode_base64(value) != fields.get(name):  # unused bits set: another spelling of the same bytes
        _bad(fields.path_of(name), "Expected canonical base64.")
    return value


def _optional_blob(fields: Fields, name: str, length: int) -> bytes:
    """``""`` (nothing), or canonical base64 of exactly ``length`` bytes."""
    if fields.get(name) == "":
        return b""
    return _blob(fields, name, length)


def link_key(text: str) -> bytes | None:
    """An invite link's public key from its address (base64url, no padding), or None if it cannot be one."""
    if len(text) != 43 or not text.isascii():
        return None
    try:
        key = base64.urlsafe_b64decode(text + "=")
    except ValueError:
        return None
    if base64.urlsafe_b64encode(key).decode("ascii").rstrip("=") != text:
        return None
    return key


def seen_head(fields: Fields) -> tuple[int, bytes] | None:
    """``roster``: a head ``{seq, hash}`` someone was shown (to accept an invitation as it was), or absent."""
    if fields.get("roster") is None:
        return None
    head = Fields(fields.get("roster"), path=fields.path_of("roster"))
    return head.integer("seq", minimum=0, maximum=MAX_ROSTER_SEQ), head.bytes("hash", length=32)
