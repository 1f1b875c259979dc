"""Roster v1 (docs/PROTOCOL.md, "Roster v1") re-done with the `cryptography` package.

A second, independent implementation of the browser's roster (static/js/crypto/roster.js builds and checks entries,
static/js/roster/chain.js applies them): shared vectors pin the two together, and the server's tests use it to make
the entries a browser would send and to check the chains the server serves. Every random input is a parameter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from tests.reference_crypto import RAW_PUBLIC, b64, to_b64
from tests.reference_envelope import PAD_BLOCK, TAG_BYTES, WRAP_BYTES, kek, pad, unpad

# Mirror static/js/crypto/labels.js.
LABEL_ROSTER = b"securechat/roster/v1|"
AAD_ROOM_META = "securechat/room-meta/v1|"
INFO_ROOM_META_WRAP = "securechat/room-meta-wrap/v1|"
INFO_LINK_KEY = b"securechat/link-key/v1"
INFO_LINK_WRAP = "securechat/link-wrap/v1|"

VERSION = 1
# A meta is sealed over the body's other keys (docs/PROTOCOL.md, "Meta"): all of them but itself, the last.
UNSEALED_KEYS = ("v", "room", "seq", "prev", "at", "actor", "actor_key", "op", "kind", "members", "role", "link")
BODY_KEYS = (*UNSEALED_KEYS, "meta")
META_KEYS = ("eph_pub", "iv", "ciphertext", "wrap_ids", "wraps", "link_wrap")
WIRE_KEYS = ("body", "signature", "link_signature")
SERVED_KEYS = ("after", "server_time")
META_PLAIN_KEYS = ("name", "topic", "link")
OPS = ("create", "add", "remove", "leave", "join", "link", "role", "owner", "rename", "reseal")
ONE_MEMBER_OPS = ("add", "remove", "leave", "join", "role", "owner")
KINDS = ("group", "direct")
ROLES = ("admin", "member")
MAX_MEMBERS = 256
MAX_BODY = 32 * 1024
MAX_META_PADDED = 2048
MAX_NAME = 80
MAX_TOPIC = 300
MAX_AT = 253_402_300_799_999
SAFE = 2**53
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class RosterError(ValueError):
    """Why a browser refuses an entry (and with it the chain from there on)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# --- bytes: body, signed bytes, hash ---------------------------------------------------------------------------


def canonical_body(body: Mapping[str, Any]) -> str:
    """The body's one spelling: exactly BODY_KEYS (and META_KEYS inside meta) in order, no spaces."""
    ordered = {**_unsealed(body), "meta": {key: body["meta"][key] for key in META_KEYS}}
    return json.dumps(ordered, separators=(",", ":"))


def unsealed_text(body: Mapping[str, Any]) -> str:
    """The canonical body without its ``meta`` (one in ``body`` is left out): what the meta is sealed over."""
    return json.dumps(_unsealed(body), separators=(",", ":"))


def _unsealed(body: Mapping[str, Any]) -> dict[str, Any]:
    ordered = {key: body[key] for key in UNSEALED_KEYS}
    ordered["members"] = [list(pair) for pair in body["members"]]
    return ordered


def signed_bytes(body: str) -> bytes:
    return LABEL_ROSTER + body.encode("utf-8")


def entry_hash(body: str) -> bytes:
    return hashlib.sha256(signed_bytes(body)).digest()


def sign(
    body: Mapping[str, Any] | str, signing_key: Ed25519PrivateKey, link_key: Ed25519PrivateKey | None = None
) -> dict:
    """The wire entry: the canonical body, the actor's signature and, for a join, the link key's."""
    text = body if isinstance(body, str) else canonical_body(body)
    data = signed_bytes(text)
    link_signature = to_b64(link_key.sign(data)) if link_key is not None else ""
    return {"body": text, "signature": to_b64(signing_key.sign(data)), "link_signature": link_signature}


def verifies(public_key: Ed25519PublicKey, signature: str, body: str) -> bool:
    try:
        public_key.verify(b64(signature), signed_bytes(body))
    except (InvalidSignature, ValueError):
        return False
    return True


# --- invite links -----------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_signing_key(secret: bytes) -> Ed25519PrivateKey:
    """The link key: an Ed25519 key whose seed is HKDF-SHA256(secret, salt = "", info = "securechat/link-key/v1")."""
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=INFO_LINK_KEY).derive(secret)
    return Ed25519PrivateKey.from_private_bytes(seed)


def link_public_key(secret: bytes) -> bytes:
    return link_signing_key(secret).public_key().public_bytes(*RAW_PUBLIC)


def link_url(host: str, secret: bytes) -> str:
    """The link as people share it: the secret in the fragment, which browsers never send."""
    return f"https://{host}/join/#{b64url(secret)}"


def link_address(secret: bytes) -> str:
    """Where the server serves the room's chain to the link's holder: ``GET /api/links/<this>``."""
    return b64url(link_public_key(secret))


def link_wrap_key(secret: bytes, room: str, seq: int) -> bytes:
    info = f"{INFO_LINK_WRAP}{room}|{seq}".encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=info).derive(secret)


# --- meta: the room's name, sealed for its members -------------------------------------------------------------


def meta_aad(body: Mapping[str, Any], wrap_ids: Sequence[int]) -> bytes:
    """The meta's AES-GCM associated data: the label, the entry's canonical body without ``meta``, and the ids it is
    sealed for, ascending: ``securechat/room-meta/v1|{"v":1,…,"link":"…"}|3,11``. The body is ASCII."""
    ids = ",".join(str(member) for member in wrap_ids)
    return f"{AAD_ROOM_META}{unsealed_text(body)}|{ids}".encode("ascii")


def meta_wrap_info(room: str, seq: int, member_id: int) -> bytes:
    return f"{INFO_ROOM_META_WRAP}{room}|{seq}|{member_id}".encode("ascii")


def meta_plaintext(name: str, topic: str = "", link: str = "") -> bytes:
    """``{"name","topic","link"}`` as JSON.stringify writes it (no spaces, non-ASCII as UTF-8), padded."""
    text = json.dumps({"name": name, "topic": topic, "link": link}, ensure_ascii=False, separators=(",", ":"))
    padded = pad(text.encode("utf-8"))
    if len(padded) > MAX_META_PADDED:
        raise ValueError("the name, topic and link take more than 2 048 bytes padded")
    return padded


def seal_meta(
    body: Mapping[str, Any],
    *,
    name: str,
    topic: str = "",
    link_secret: bytes | None = None,
    members: Mapping[int, X25519PublicKey],
    ephemeral_key: X25519PrivateKey,
    content_key: bytes,
    iv: bytes,
) -> dict[str, Any]:
    """The meta of the entry ``body`` (complete but for its meta), for the members after it (and for the link's
    holder while a link is open)."""
    room, seq, ids = body["room"], body["seq"], sorted(members)
    link = b64url(link_secret) if link_secret is not None else ""
    ciphertext = AESGCM(content_key).encrypt(iv, meta_plaintext(name, topic, link), meta_aad(body, ids))
    eph_pub = ephemeral_key.public_key().public_bytes(*RAW_PUBLIC)
    wraps = [
        aes_key_wrap(kek(ephemeral_key.exchange(public), eph_pub, meta_wrap_info(room, seq, member)), content_key)
        for member, public in sorted(members.items())
    ]
    link_wrap = aes_key_wrap(link_wrap_key(link_secret, room, seq), content_key) if link_secret is not None else b""
    return {
        "eph_pub": to_b64(eph_pub),
        "iv": to_b64(iv),
        "ciphertext": to_b64(ciphertext),
        "wrap_ids": ids,
        "wraps": to_b64(b"".join(wraps)),
        "link_wrap": to_b64(link_wrap) if link_wrap else "",
    }


def _meta_plain(padded: bytes, kind: str | None = None) -> dict[str, str]:
    try:
        plain = json.loads(unpad(padded).decode("utf-8"))
    except ValueError as error:
        raise RosterError("malformed", "meta plaintext") from error
    if not isinstance(plain, dict) or not all(isinstance(plain.get(key), str) for key in META_PLAIN_KEYS):
        raise RosterError("malformed", "meta plaintext is not {name, topic, link}")
    if len(plain["topic"]) > MAX_TOPIC or (kind is not None and _bad_name(plain["name"], kind)):
        raise RosterError("malformed", "name or topic")
    return {key: plain[key] for key in META_PLAIN_KEYS}


def _bad_name(name: str, kind: str) -> bool:
    # JavaScript counts a name's characters in UTF-16 code units.
    units = len(name.encode("utf-16-le")) // 2
    return not 1 <= units <= MAX_NAME if kind == "group" else name != ""


def open_meta(
    body: Mapping[str, Any], *, my_id: int, agreement_key: X25519PrivateKey, kind: str | None = None
) -> dict[str, str]:
    """The name, topic and link secret (base64url) of the entry ``body`` as a member reads them."""
    room, seq, meta = body["room"], body["seq"], body["meta"]
    ids = list(meta["wrap_ids"])
    if my_id not in ids:
        raise RosterError("no_wrap")
    index = ids.index(my_id)
    wrap = b64(meta["wraps"])[index * WRAP_BYTES : (index + 1) * WRAP_BYTES]
    eph_pub = b64(meta["eph_pub"])
    try:
        shared = agreement_key.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        content_key = aes_key_unwrap(kek(shared, eph_pub, meta_wrap_info(room, seq, my_id)), wrap)
        padded = AESGCM(content_key).decrypt(b64(meta["iv"]), b64(meta["ciphertext"]), meta_aad(body, ids))
    except (InvalidUnwrap, InvalidTag, ValueError) as error:
        raise RosterError("decrypt_failed") from error
    return _meta_plain(padded, kind)


def open_meta_with_link(body: Mapping[str, Any], *, link_secret: bytes, kind: str | None = None) -> dict[str, str]:
    """The name and topic of the entry ``body`` as the holder of an invite link reads them before joining."""
    room, seq, meta = body["room"], body["seq"], body["meta"]
    if not meta["link_wrap"]:
        raise RosterError("no_wrap", "no link is open")
    try:
        content_key = aes_key_unwrap(link_wrap_key(link_secret, room, seq), b64(meta["link_wrap"]))
        aad = meta_aad(body, meta["wrap_ids"])
        padded = AESGCM(content_key).decrypt(b64(meta["iv"]), b64(meta["ciphertext"]), aad)
    except (InvalidUnwrap, InvalidTag, ValueError) as error:
        raise RosterError("decrypt_failed") from error
    return _meta_plain(padded, kind)


# --- bodies, one builder per op ---------------------------------------------------------------------------------


def body(
    *,
    room: str,
    seq: int,
    prev: str,
    at: int,
    actor: int,
    actor_key: int,
    op: str,
    meta: Mapping[str, Any] | None = None,
    kind: str = "",
    members: Sequence[tuple[int, int]] = (),
    role: str = "",
    link: str = "",
) -> dict[str, Any]:
    """A body in the canonical key order; members are sorted by id. Without ``meta``, the body a meta is then sealed
    over (``with_meta``)."""
    unsealed = {
        "v": VERSION,
        "room": room,
        "seq": seq,
        "prev": prev,
        "at": at,
        "actor": actor,
        "actor_key": actor_key,
        "op": op,
        "kind": kind,
        "members": [[member, version] for member, version in sorted(members)],
        "role": role,
        "link": link,
    }
    return unsealed if meta is None else {**unsealed, "meta": dict(meta)}


def with_meta(unsealed: Mapping[str, Any], **sealing: Any) -> dict[str, Any]:
    """The body with its meta sealed over the rest of it, as a browser makes it: ``sealing`` as for ``seal_meta``."""
    return {**unsealed, "meta": seal_meta(unsealed, **sealing)}


def create_body(
    *,
    room: str,
    at: int,
    actor: int,
    actor_key: int,
    kind: str,
    members: Sequence[tuple[int, int]],
    meta: Mapping[str, Any] | None = None,
    link: str = "",
) -> dict[str, Any]:
    """A room's first entry: its kind, first members (the actor among them) and maybe an open link."""
    head = {"room": room, "seq": 0, "prev": "", "at": at, "actor": actor, "actor_key": actor_key}
    return body(**head, op="create", kind=kind, members=members, link=link, meta=meta)


def member_body(
    op: str,
    *,
    room: str,
    seq: int,
    prev: str,
    at: int,
    actor: int,
    actor_key: int,
    member: tuple[int, int],
    meta: Mapping[str, Any] | None = None,
    role: str = "",
    link: str = "",
) -> dict[str, Any]:
    """add, remove, leave, join (with the link key), role (with the role) or owner: one member concerned."""
    if op not in ONE_MEMBER_OPS:
        raise ValueError(f"{op} does not concern one member")
    head = {"room": room, "seq": seq, "prev": prev, "at": at, "actor": actor, "actor_key": actor_key}
    return body(**head, op=op, members=[member], role=role, link=link, meta=meta)


def link_body(
    *, room: str, seq: int, prev: str, at: int, actor: int, actor_key: int, link: str, meta: Mapping | None = None
) -> dict:
    """Opens the invite link (``link`` its key), rotates it (a new key) or closes it (``""``)."""
    return body(room=room, seq=seq, prev=prev, at=at, actor=actor, actor_key=actor_key, op="link", link=link, meta=meta)


def rename_body(
    *, room: str, seq: int, prev: str, at: int, actor: int, actor_key: int, meta: Mapping | None = None
) -> dict:
    return body(room=room, seq=seq, prev=prev, at=at, actor=actor, actor_key=actor_key, op="rename", meta=meta)


# --- checking an entry's form, as the browser does --------------------------------------------------------------


def _fail(detail: str) -> RosterError:
    return RosterError("malformed", detail)


def _blob(value: Any, name: str, length: int | None = None, *, empty: bool = False) -> bytes:
    if empty and value == "":
        return b""
    if not isinstance(value, str):
        raise _fail(f"{name} is not a string")
    try:
        data = b64(value)
    except ValueError as error:
        raise _fail(f"{name} is not base64") from error
    if to_b64(data) != value or (length is not None and len(data) != length) or not data:
        raise _fail(name)
    return data


def _int(value: Any, low: int, high: int = SAFE - 1) -> bool:
    return type(value) is int and low <= value <= high


def parse_body(text: str) -> dict[str, Any]:
    """The body's fields if it is in its one canonical form and each field has its documented shape."""
    if not isinstance(text, str) or len(text.encode("utf-8")) > MAX_BODY or not text.isascii():
        raise _fail("body")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise _fail("body is not JSON") from error
    if not isinstance(data, dict) or tuple(data) != BODY_KEYS:
        raise _fail("body keys")
    meta = data["meta"]
    if not isinstance(meta, dict) or tuple(meta) != META_KEYS:
        raise _fail("meta keys")
    if json.dumps(data, separators=(",", ":")) != text:
        raise _fail("body is not canonical")
    op, kind = data["op"], data["kind"]
    if data["v"] != VERSION or type(data["v"]) is not int or op not in OPS:
        raise _fail("v or op")
    if not isinstance(data["room"], str) or not UUID.fullmatch(data["room"]):
        raise _fail("room")
    if not _int(data["seq"], 0) or (op == "create") != (data["seq"] == 0):
        raise _fail("seq")
    if data["seq"] == 0:
        if data["prev"] != "":
            raise _fail("prev")
    else:
        _blob(data["prev"], "prev", 32)
    if not _int(data["at"], 0, MAX_AT) or not _int(data["actor"], 1) or not _int(data["actor_key"], 1, 2**31 - 1):
        raise _fail("at, actor or actor_key")
    if kind not in (KINDS if op == "create" else ("",)):
        raise _fail("kind")
    if data["role"] not in (ROLES if op == "role" else ("",)):
        raise _fail("role")
    members = data["members"]
    if not isinstance(members, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and _int(pair[0], 1) and _int(pair[1], 1, 2**31 - 1)
        for pair in members
    ):
        raise _fail("members")
    if any(a[0] >= b[0] for a, b in pairwise(members)):
        raise _fail("members are not in ascending order")
    expected = 1 if op in ONE_MEMBER_OPS else 0 if op in ("link", "rename", "reseal") else None
    if expected is not None and len(members) != expected:
        raise _fail("members count")
    if op == "create" and (
        not 1 <= len(members) <= MAX_MEMBERS
        or data["actor"] not in [pair[0] for pair in members]
        or (kind == "direct" and len(members) != 2)
    ):
        raise _fail("create members")
    link = data["link"]
    _blob(link, "link", 32, empty=True)
    if (op == "join" and link == "") or (op not in ("join", "link", "create", "remove") and link != ""):
        raise _fail("link")
    if op == "create" and kind == "direct" and link != "":
        raise _fail("a direct room has no link")
    _parse_meta(meta)
    return data


def _parse_meta(meta: Mapping[str, Any]) -> None:
    _blob(meta["eph_pub"], "meta.eph_pub", 32)
    _blob(meta["iv"], "meta.iv", 12)
    ciphertext = _blob(meta["ciphertext"], "meta.ciphertext")
    blocks, rest = divmod(len(ciphertext) - TAG_BYTES, PAD_BLOCK)
    if rest or not 1 <= blocks <= MAX_META_PADDED // PAD_BLOCK:
        raise _fail("meta.ciphertext length")
    ids = meta["wrap_ids"]
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_MEMBERS or not all(_int(i, 1) for i in ids):
        raise _fail("meta.wrap_ids")
    if any(a >= b for a, b in pairwise(ids)):
        raise _fail("meta.wrap_ids are not in ascending order")
    _blob(meta["wraps"], "meta.wraps", WRAP_BYTES * len(ids))
    _blob(meta["link_wrap"], "meta.link_wrap", WRAP_BYTES, empty=True)


def parse_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A wire or served entry's body fields; the signatures' form is checked too (not whether they verify)."""
    unknown = set(entry) - set(WIRE_KEYS) - set(SERVED_KEYS)
    if unknown or set(WIRE_KEYS) - set(entry):
        raise _fail("entry keys")
    data = parse_body(entry["body"])
    _blob(entry["signature"], "signature", 64)
    _blob(entry["link_signature"], "link_signature", 64, empty=True)
    if (data["op"] == "join") != (entry["link_signature"] != ""):
        raise _fail("link_signature")
    return data


# --- a chain, applied to a state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    key_version: int
    role: str = "member"


@dataclass(frozen=True)
class State:
    """What a verified chain says of its room, up to and including its head."""

    room: str
    seq: int
    head: bytes  # the hash of entry ``seq``
    kind: str
    members: dict[int, Member] = field(default_factory=dict)
    owner: int | None = None
    link: str = ""  # the open invite link's public key (base64), or ""

    @property
    def head_b64(self) -> str:
        return to_b64(self.head)

    def may_manage(self, user_id: int) -> bool:
        return user_id == self.owner or self.members[user_id].role == "admin"


# The signing key of (user id, key version), from the pinned keys and the key history; None if unknown.
KeyLookup = Callable[[int, int], Ed25519PublicKey | None]


def apply(state: State | None, entry: Mapping[str, Any], keys: KeyLookup) -> State:
    """The state after ``entry``; raises RosterError at the first rule it breaks (docs/PROTOCOL.md's table)."""
    data = parse_entry(entry)
    text = entry["body"]
    if state is None:
        if data["op"] != "create":
            raise RosterError("bad_chain", "a chain starts with its create")
    elif data["room"] != state.room or data["seq"] != state.seq + 1 or b64(data["prev"]) != state.head:
        raise RosterError("bad_chain", "the entry does not follow the head")
    public = keys(data["actor"], data["actor_key"])
    if public is None or not verifies(public, entry["signature"], text):
        raise RosterError("bad_signature")
    after = _rules(state, data, entry)
    _check_sealed_for(data["meta"], after, data["actor"])
    return replace(after, seq=data["seq"], head=entry_hash(text))


def _rules(state: State | None, data: dict[str, Any], entry: Mapping[str, Any]) -> State:
    op, actor = data["op"], data["actor"]
    pairs = {member: version for member, version in data["members"]}
    if op == "create":
        group = data["kind"] == "group"
        return State(
            room=data["room"],
            seq=0,
            head=b"",
            kind=data["kind"],
            members={member: Member(version) for member, version in pairs.items()},
            owner=actor if group else None,
            link=data["link"],
        )
    assert state is not None
    if state.kind == "direct":
        raise RosterError("forbidden", "no entry may follow a direct room's create")
    members = dict(state.members)
    [(target, version)] = pairs.items() if op in ONE_MEMBER_OPS else [(None, None)]
    if op == "join":
        if not state.link or data["link"] != state.link or target != actor or actor in members:
            raise RosterError("forbidden", "a join needs the open link, by someone not in the room")
        if not verifies(Ed25519PublicKey.from_public_bytes(b64(state.link)), entry["link_signature"], entry["body"]):
            raise RosterError("bad_signature", "link signature")
        if len(members) >= MAX_MEMBERS:
            raise RosterError("forbidden", "room full")
        members[actor] = Member(version)
        return replace(state, members=members)
    if actor not in members:
        raise RosterError("forbidden", "the actor is not a member")
    if op == "add":
        if not state.may_manage(actor) or target in members or len(members) >= MAX_MEMBERS:
            raise RosterError("forbidden", "add")
        members[target] = Member(version)
    elif op == "remove":
        admin_removes_member = members[actor].role == "admin" and target in members and members[target].role != "admin"
        if (
            target not in members
            or target in (state.owner, actor)
            or not (actor == state.owner or admin_removes_member)
        ):
            raise RosterError("forbidden", "remove")
        if (not data["link"] or data["link"] == state.link) if state.link else data["link"] != "":
            raise RosterError("forbidden", "a removal replaces the open invite link")
        del members[target]
        return replace(state, members=members, link=data["link"])
    elif op == "leave":
        if target != actor or (actor == state.owner and len(members) > 1):
            raise RosterError("forbidden", "leave")
        del members[actor]
        if actor == state.owner:
            return replace(state, members=members, owner=None)
    elif op == "link":
        if not state.may_manage(actor):
            raise RosterError("forbidden", "link")
        return replace(state, link=data["link"])
    elif op == "role":
        if actor != state.owner or target not in members or target == state.owner:
            raise RosterError("forbidden", "role")
        members[target] = replace(members[target], role=data["role"])
    elif op == "owner":
        if actor != state.owner or target not in members or target == actor:
            raise RosterError("forbidden", "owner")
        members[actor] = replace(members[actor], role="admin")
        return replace(state, members=members, owner=target)
    elif op == "rename" and not state.may_manage(actor):
        raise RosterError("forbidden", "rename")
    return replace(state, members=members)


def _check_sealed_for(meta: Mapping[str, Any], state: State, actor: int) -> None:
    # The last member to leave seals it for themselves: a meta is sealed for someone.
    if list(meta["wrap_ids"]) != (sorted(state.members) or [actor]):
        raise RosterError("wrong_members", "the meta is not sealed for exactly the members after the entry")
    if (meta["link_wrap"] != "") != (state.link != ""):
        raise RosterError("wrong_members", "a link wrap exactly when a link is open")


def verify_chain(entries: Sequence[Mapping[str, Any]], keys: KeyLookup, state: State | None = None) -> State:
    """Apply ``entries`` in order (from ``state``, or from the create): the state at the last one."""
    for entry in entries:
        state = apply(state, entry, keys)
    if state is None:
        raise RosterError("bad_chain", "no entries")
    return state
