"""Envelopes v1 to v3 (docs/PROTOCOL.md) re-done with the `cryptography` package.

A second, independent implementation of static/js/crypto/envelope.js: tests/vectors/envelope-v1.json pins the
two together, and server or browser tests can use it to make valid envelopes and to open what the browser sent.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
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

# Mirror static/js/crypto/labels.js and envelope.js.
LABEL_ENVELOPE = b"securechat/envelope/v1|"
# v2: a room with a roster; the header names the roster head the sender wrapped for (the wraps' info is v1's).
LABEL_ENVELOPE_V2 = b"securechat/envelope/v2|"
# v3: v2 (roster head null in a room from before rosters) plus key version, chain link and key commitment.
LABEL_ENVELOPE_V3 = b"securechat/envelope/v3|"
INFO_KEY_COMMIT = b"securechat/key-commit/v1"
INFO_ENVELOPE_WRAP = "securechat/wrap/v1|"
ENVELOPE_VERSION = 1
ENVELOPE_VERSIONS = (1, 2, 3)
PAD_BLOCK = 256
TAG_BYTES = 16
WRAP_BYTES = 40
HEADER_FIELDS = ("v", "room", "sender", "client_id", "sent_at")
HEADER_FIELDS_V2 = (*HEADER_FIELDS, "roster_seq", "roster_hash")
HEADER_FIELDS_V3 = (*HEADER_FIELDS, "key_version", "roster_seq", "roster_hash", "chain_seq", "chain_prev", "key_commit")
BODY_FIELDS = ("eph_pub", "iv", "ciphertext", "wrap_ids", "wraps", "signature")
WIRE_FIELDS = (*HEADER_FIELDS, *BODY_FIELDS)
RELAY_FIELDS = ("id", "server_time")
MAX_MEMBERS = 256
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Mirror static/js/crypto/payload.js.
PAYLOAD_FIELDS = {
    "message": ("text",),
    "reply": ("text", "reply_to"),
    "edit": ("text", "target"),
    "delete": ("target",),
    "reaction": ("target", "emoji", "on"),
}
MAX_EMOJI_BYTES = 64
KIND_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
NOT_AN_EMOJI = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class EnvelopeError(ValueError):
    """Why an envelope must not be shown; ``reason`` is one of the browser's EnvelopeError reasons."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def header_fields(version: int) -> tuple[str, ...]:
    return {2: HEADER_FIELDS_V2, 3: HEADER_FIELDS_V3}.get(version, HEADER_FIELDS)


def canonical_header(header: Mapping[str, Any]) -> bytes:
    """``{"v":1,"room":"…","sender":…,"client_id":"…","sent_at":…}`` then the version's further fields (v2:
    ``roster_seq``, ``roster_hash``; v3: ``key_version``, ``roster_seq``, ``roster_hash``, ``chain_seq``,
    ``chain_prev``, ``key_commit``): these keys, this order, no spaces."""
    fields = header_fields(header["v"])
    return json.dumps({key: header[key] for key in fields}, separators=(",", ":")).encode("ascii")


def wrap_info(room: str, client_id: str, member_id: int) -> bytes:
    return f"{INFO_ENVELOPE_WRAP}{room}|{client_id}|{member_id}".encode("ascii")


def kek(shared_secret: bytes, eph_pub: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub, info=info).derive(shared_secret)


def key_commitment(content_key: bytes) -> bytes:
    """HKDF-SHA256(ikm = the content key, no salt, info = INFO_KEY_COMMIT), 32 bytes."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO_KEY_COMMIT).derive(content_key)


def pad(data: bytes) -> bytes:
    """ISO/IEC 7816-4: 0x80 then zeros up to the next multiple of 256 (a whole block if already a multiple)."""
    padded = data + b"\x80"
    return padded + b"\x00" * (-len(padded) % PAD_BLOCK)


def unpad(padded: bytes) -> bytes:
    """Strict: a non-zero multiple of 256 long, with 1 to 256 bytes of padding."""
    if not padded or len(padded) % PAD_BLOCK:
        raise ValueError("padded length must be a non-zero multiple of 256")
    stripped = padded.rstrip(b"\x00")
    if not stripped.endswith(b"\x80") or len(padded) - len(stripped) + 1 > PAD_BLOCK:
        raise ValueError("bad padding")
    return stripped[:-1]


def payload_bytes(text: str) -> bytes:
    """The JSON the browser writes (JSON.stringify): no spaces, non-ASCII characters as UTF-8."""
    return json.dumps({"text": text}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_payload(payload: Mapping[str, Any], *, sender: int, client_id: str) -> bytes:
    """payload.js's payloadBytes: ``{"text":…}`` for a message, else ``{"kind":…}`` then the kind's fields in order.

    Raises TypeError for an unknown kind or field, or a field not of its kind's form."""
    kind = payload.get("kind", "message")
    if kind not in PAYLOAD_FIELDS or set(payload) - {"kind", *PAYLOAD_FIELDS[kind]}:
        raise TypeError(f"not a {kind} payload: {sorted(payload)}")
    try:
        read = read_payload_object(dict(payload), sender=sender, client_id=client_id)
    except EnvelopeError as error:
        raise TypeError(str(error)) from None
    fields = read if kind != "message" else {"text": read["text"]}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_payload(data: bytes, *, sender: int, client_id: str) -> dict[str, Any]:
    """payload.js's readPayload of an unpadded payload, for the envelope of ``sender`` and ``client_id``.

    Agrees with the browser byte for byte: TextDecoder skips one leading byte-order mark, JSON.parse refuses NaN and
    Infinity, and a number such as ``11.0`` is the integer 11 there."""
    try:
        value = json.loads(data.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise EnvelopeError("malformed", "payload is not UTF-8 JSON") from error
    return read_payload_object(value, sender=sender, client_id=client_id)


def read_payload_object(value: Any, *, sender: int, client_id: str) -> dict[str, Any]:
    def fail(detail: str) -> EnvelopeError:
        return EnvelopeError("malformed", detail)

    def text() -> str:
        if not isinstance(value.get("text"), str):
            raise fail("text must be a string")
        return value["text"]

    def member_id(number: Any) -> int | None:
        if type(number) is float and number.is_integer():
            number = int(number)
        return number if type(number) is int and 1 <= number < 2**53 else None

    def ref(name: str, own: bool = False) -> dict[str, Any]:
        named = value.get(name)
        if not isinstance(named, dict):
            raise fail(f"{name} must be an object")
        ref_sender, ref_client_id = member_id(named.get("sender")), named.get("client_id")
        if ref_sender is None:
            raise fail(f"{name}.sender must be a positive safe integer")
        if not isinstance(ref_client_id, str) or not UUID.fullmatch(ref_client_id):
            raise fail(f"{name}.client_id must be a lower-case UUID")
        if (ref_sender, ref_client_id) == (sender, client_id):
            raise fail(f"{name} names its own envelope")
        if own and ref_sender != sender:
            raise fail("an edit or deletion may name only its sender's own message")
        return {"sender": ref_sender, "client_id": ref_client_id}

    def emoji() -> str:
        chosen = value.get("emoji")
        if not isinstance(chosen, str) or not chosen:
            raise fail("emoji must be a non-empty string")
        if NOT_AN_EMOJI.search(chosen):
            raise fail("emoji holds a control character or a lone surrogate")
        if len(chosen.encode("utf-8")) > MAX_EMOJI_BYTES:
            raise fail("emoji too long")
        return chosen

    if not isinstance(value, dict):
        raise fail("payload is not an object")
    kind = value.get("kind", "message")
    if not isinstance(kind, str) or not KIND_NAME.fullmatch(kind):
        raise fail("kind")
    if kind == "message":
        return {"kind": kind, "text": text()}
    if kind == "reply":
        return {"kind": kind, "text": text(), "reply_to": ref("reply_to")}
    if kind == "edit":
        return {"kind": kind, "text": text(), "target": ref("target", own=True)}
    if kind == "delete":
        return {"kind": kind, "target": ref("target", own=True)}
    if kind == "reaction":
        if type(value.get("on")) is not bool:
            raise fail("on must be true or false")
        return {"kind": kind, "target": ref("target"), "emoji": emoji(), "on": value["on"]}
    return {"kind": "unsupported", "name": kind}


@dataclass(frozen=True)
class Parsed:
    header: dict[str, Any]
    eph_pub: bytes
    iv: bytes
    ciphertext: bytes
    wraps: dict[int, bytes]  # ascending ids, as wrap_ids lists them
    signature: bytes


def parse(envelope: Mapping[str, Any]) -> Parsed:
    """The browser's strict shape check; raises EnvelopeError("malformed")."""

    def fail(detail: str) -> EnvelopeError:
        return EnvelopeError("malformed", detail)

    version = envelope.get("v")
    if type(version) is not int or version not in ENVELOPE_VERSIONS:
        raise fail("v")
    wire = (*header_fields(version), *BODY_FIELDS)
    unknown = set(envelope) - set(wire) - set(RELAY_FIELDS)
    missing = set(wire) - set(envelope)
    if unknown or missing:
        raise fail(f"unknown {sorted(unknown)}, missing {sorted(missing)}")

    def is_int(value: Any, minimum: int) -> bool:
        return type(value) is int and minimum <= value < 2**53

    header = {key: envelope[key] for key in header_fields(version)}
    for key in ("room", "client_id"):
        if not isinstance(header[key], str) or not UUID.fullmatch(header[key]):
            raise fail(key)
    if not is_int(header["sender"], 1) or not is_int(header["sent_at"], 0):
        raise fail("sender or sent_at")
    has_head = version == 2 or (version == 3 and (header["roster_seq"], header["roster_hash"]) != (None, None))
    if has_head and not is_int(header["roster_seq"], 0):
        raise fail("roster_seq")
    if version == 3:
        if not is_int(header["key_version"], 1) or not is_int(header["chain_seq"], 1):
            raise fail("key_version or chain_seq")
        if (header["chain_seq"] == 1) != (header["chain_prev"] is None):
            raise fail("chain_prev is null for chain_seq 1 only")

    def blob(value: Any, name: str, length: int | None = None) -> bytes:
        try:
            data = b64(value)
        except (TypeError, ValueError) as error:
            raise fail(f"{name} is not base64") from error
        if to_b64(data) != value or (length is not None and len(data) != length):
            raise fail(name)
        return data

    ciphertext = blob(envelope["ciphertext"], "ciphertext")
    if len(ciphertext) < PAD_BLOCK + TAG_BYTES or (len(ciphertext) - TAG_BYTES) % PAD_BLOCK:
        raise fail("ciphertext length")
    ids = envelope["wrap_ids"]
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_MEMBERS:
        raise fail("wrap_ids")
    if not all(is_int(member, 1) for member in ids) or any(a >= b for a, b in pairwise(ids)):
        raise fail("wrap_ids must be member ids, strictly ascending")
    if has_head:
        blob(header["roster_hash"], "roster_hash", 32)
    if version == 3:
        blob(header["key_commit"], "key_commit", 32)
        if header["chain_prev"] is not None:
            blob(header["chain_prev"], "chain_prev", 32)
    concatenated = blob(envelope["wraps"], "wraps", WRAP_BYTES * len(ids))
    wraps = {member: concatenated[i * WRAP_BYTES : (i + 1) * WRAP_BYTES] for i, member in enumerate(ids)}
    return Parsed(
        header=header,
        eph_pub=blob(envelope["eph_pub"], "eph_pub", 32),
        iv=blob(envelope["iv"], "iv", 12),
        ciphertext=ciphertext,
        wraps=wraps,
        signature=blob(envelope["signature"], "signature", 64),
    )


def signed_bytes(
    header: bytes,
    eph_pub: bytes,
    iv: bytes,
    ciphertext: bytes,
    wraps: Mapping[int, bytes],
    label: bytes = LABEL_ENVELOPE,
) -> bytes:
    """The signature input; ``label`` is the version's (LABEL_ENVELOPE_V2 for v2)."""
    parts = [label, struct.pack(">I", len(header)), header, eph_pub, iv]
    parts += [struct.pack(">I", len(ciphertext)), ciphertext]
    for member_id in sorted(wraps):
        parts += [struct.pack(">Q", member_id), wraps[member_id]]
    return b"".join(parts)


def label_of(version: int) -> bytes:
    return {2: LABEL_ENVELOPE_V2, 3: LABEL_ENVELOPE_V3}.get(version, LABEL_ENVELOPE)


def signature_input(envelope: Mapping[str, Any]) -> bytes:
    p = parse(envelope)
    return signed_bytes(canonical_header(p.header), p.eph_pub, p.iv, p.ciphertext, p.wraps, label_of(p.header["v"]))


def envelope_hash(envelope: Mapping[str, Any]) -> str:
    """What the next envelope of the sender's chain names as ``chain_prev``: base64 SHA-256 of the signature input."""
    return to_b64(hashlib.sha256(signature_input(envelope)).digest())


def verify(envelope: Mapping[str, Any], signing_public_key: Ed25519PublicKey) -> bool:
    try:
        signing_public_key.verify(parse(envelope).signature, signature_input(envelope))
    except (InvalidSignature, EnvelopeError):
        return False
    return True


def seal(
    *,
    room: str,
    sender: int,
    client_id: str,
    sent_at: int,
    text: str | None = None,
    payload: Mapping[str, Any] | None = None,
    members: Mapping[int, X25519PublicKey],
    signing_key: Ed25519PrivateKey,
    ephemeral_key: X25519PrivateKey,
    content_key: bytes,
    iv: bytes,
    roster_head: tuple[int, str] | None = None,
    key_version: int | None = None,
    chain: tuple[int, str | None] | None = None,
    wrapped_keys: Mapping[int, bytes] | None = None,
    ciphertext: bytes | None = None,
    payload_json: bytes | None = None,
) -> dict[str, Any]:
    """An envelope exactly as the browser makes it; every random input is a parameter. With ``key_version`` and
    ``chain`` ((seq, base64 hash of the one before or None)) it is v3 (``roster_head`` may be None: a room from before
    rosters); else with ``roster_head`` ((seq, base64 hash)) v2, for a room with a roster; else v1. It carries
    ``text`` (a plain message) or ``payload`` (any kind, as ``encode_payload`` takes it).

    For attack tests only: ``wrapped_keys`` wraps another key than ``content_key`` for the members it names,
    ``ciphertext`` replaces the encryption of the payload, and ``payload_json`` is encrypted in the payload's place.
    """
    if (text is None) == (payload is None):
        raise TypeError("give text or payload")
    header: dict[str, Any] = {"v": 1, "room": room, "sender": sender, "client_id": client_id, "sent_at": sent_at}
    if key_version is not None:
        assert chain is not None
        seq, hash_ = roster_head if roster_head is not None else (None, None)
        header = {**header, "v": 3, "key_version": key_version, "roster_seq": seq, "roster_hash": hash_}
        header |= {"chain_seq": chain[0], "chain_prev": chain[1], "key_commit": to_b64(key_commitment(content_key))}
    elif roster_head is not None:
        header = {**header, "v": 2, "roster_seq": roster_head[0], "roster_hash": roster_head[1]}
    header_bytes = canonical_header(header)
    plaintext = (
        payload_bytes(text) if text is not None else encode_payload(payload or {}, sender=sender, client_id=client_id)
    )
    if ciphertext is None:
        ciphertext = AESGCM(content_key).encrypt(
            iv, pad(plaintext if payload_json is None else payload_json), header_bytes
        )
    keys = {member_id: (wrapped_keys or {}).get(member_id, content_key) for member_id in members}
    eph_pub = ephemeral_key.public_key().public_bytes(*RAW_PUBLIC)
    wraps = {
        member_id: aes_key_wrap(
            kek(ephemeral_key.exchange(public), eph_pub, wrap_info(room, client_id, member_id)), keys[member_id]
        )
        for member_id, public in sorted(members.items())
    }
    signature = signing_key.sign(signed_bytes(header_bytes, eph_pub, iv, ciphertext, wraps, label_of(header["v"])))
    return {
        **header,
        "eph_pub": to_b64(eph_pub),
        "iv": to_b64(iv),
        "ciphertext": to_b64(ciphertext),
        "wrap_ids": list(wraps),
        "wraps": to_b64(b"".join(wraps.values())),
        "signature": to_b64(signature),
    }


def open_envelope(
    envelope: Mapping[str, Any],
    *,
    my_id: int,
    agreement_key: X25519PrivateKey,
    signing_public_key: Ed25519PublicKey,
    expected_room: str,
    expected_sender: int,
) -> str | None:
    """The text (of a message, reply or edit; else None), checked in the order of PROTOCOL.md "Opening one"; raises
    EnvelopeError with the browser's reason."""
    payload = open_payload(
        envelope,
        my_id=my_id,
        agreement_key=agreement_key,
        signing_public_key=signing_public_key,
        expected_room=expected_room,
        expected_sender=expected_sender,
    )
    return payload.get("text")


def open_payload(
    envelope: Mapping[str, Any],
    *,
    my_id: int,
    agreement_key: X25519PrivateKey,
    signing_public_key: Ed25519PublicKey,
    expected_room: str,
    expected_sender: int,
) -> dict[str, Any]:
    """The payload as openEnvelope's ``payload`` (``{"kind": "unsupported", "name": …}`` for a kind it does not
    know), checked in the order of PROTOCOL.md "Opening one"; raises EnvelopeError with the browser's reason."""
    p = parse(envelope)
    if p.header["room"] != expected_room:
        raise EnvelopeError("wrong_room")
    if p.header["sender"] != expected_sender:
        raise EnvelopeError("wrong_sender")
    header_bytes = canonical_header(p.header)
    label = label_of(p.header["v"])
    try:
        signing_public_key.verify(
            p.signature, signed_bytes(header_bytes, p.eph_pub, p.iv, p.ciphertext, p.wraps, label)
        )
    except InvalidSignature:
        raise EnvelopeError("bad_signature") from None
    if my_id not in p.wraps:
        raise EnvelopeError("no_wrap")
    info = wrap_info(p.header["room"], p.header["client_id"], my_id)
    try:
        shared = agreement_key.exchange(X25519PublicKey.from_public_bytes(p.eph_pub))
        content_key = aes_key_unwrap(kek(shared, p.eph_pub, info), p.wraps[my_id])
    except (InvalidUnwrap, ValueError) as error:
        raise EnvelopeError("decrypt_failed") from error
    if p.header["v"] == 3 and to_b64(key_commitment(content_key)) != p.header["key_commit"]:
        raise EnvelopeError("key_mismatch")
    try:
        padded = AESGCM(content_key).decrypt(p.iv, p.ciphertext, header_bytes)
    except (InvalidUnwrap, InvalidTag, ValueError) as error:
        raise EnvelopeError("decrypt_failed") from error
    try:
        unpadded = unpad(padded)
    except ValueError as error:
        raise EnvelopeError("malformed", "payload is not padded") from error
    return read_payload(unpadded, sender=p.header["sender"], client_id=p.header["client_id"])
