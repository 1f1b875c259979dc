"""Reading untrusted JSON: typed fields with exact byte lengths, or an ApiError naming the field."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from typing import Any

from toolkit.errors import ApiError, ErrorCode

AES_GCM_IV_BYTES = 12
AES_GCM_TAG_BYTES = 16


def decode_base64(value: str, *, field: str) -> bytes:
    """Standard base64 with padding, strictly: no whitespace, no stray characters."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ApiError(ErrorCode.BAD_BASE64, "This is not valid base64.", field=field) from None


def parse_json(text: str | bytes, *, what: str) -> Any:
    """``json.loads``, with every way it can fail as ``invalid_json``: nesting deeper than the parser's
    recursion limit included (a 64 KiB body of "[" raised RecursionError, a 500)."""
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(ErrorCode.INVALID_JSON, f"{what} is not valid JSON.") from None


def is_storable_text(value: str) -> bool:
    """Text every database stores and every encoder writes: no NUL (Postgres refuses it) and no unpaired
    surrogate (JSON's "\\ud800" escapes allow one; it has no UTF-8 form)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_base64(value: bytes) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


@dataclass(frozen=True)
class Sealed:
    """AES-GCM output: a 12-byte IV and the ciphertext with its 16-byte tag."""

    iv: bytes
    ciphertext: bytes

    def as_json(self) -> dict[str, str]:
        return {"iv": encode_base64(self.iv), "ciphertext": encode_base64(self.ciphertext)}


class Fields:
    """Typed access to one JSON object; every failure names the field's dotted path."""

    def __init__(self, data: Any, *, path: str = "") -> None:
        if not isinstance(data, dict):
            raise ApiError(ErrorCode.WRONG_TYPE, "Expected a JSON object.", field=path or None)
        self._data = data
        self._path = path

    def get(self, name: str) -> Any:
        return self._data.get(name)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._data.items())

    def _name(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def path_of(self, name: str) -> str:
        """The dotted path of field ``name``, as refusals name it."""
        return self._name(name)

    def _value(self, name: str, kind: type, kind_name: str) -> Any:
        if name not in self._data or self._data[name] is None:
            raise ApiError(ErrorCode.MISSING_FIELD, "This field is required.", field=self._name(name))
        value = self._data[name]
        if isinstance(value, bool) or not isinstance(value, kind):  # bool is an int in Python
            raise ApiError(ErrorCode.WRONG_TYPE, f"Expected {kind_name}.", field=self._name(name))
        return value

    def string(self, name: str, *, max_length: int) -> str:
        value: str = self._value(name, str, "a string")
        if len(value) > max_length:
            raise ApiError(ErrorCode.BAD_LENGTH, f"At most {max_length} characters.", field=self._name(name))
        if not is_storable_text(value):
            raise ApiError(
                ErrorCode.WRONG_TYPE,
                "Expected text without NUL characters or unpaired surrogates.",
                field=self._name(name),
            )
        return value

    def integer(self, name: str, *, minimum: int, maximum: int) -> int:
        value: int = self._value(name, int, "an integer")
        if not minimum <= value <= maximum:
            raise ApiError(ErrorCode.OUT_OF_RANGE, f"Must be between {minimum} and {maximum}.", field=self._name(name))
        return value

    def bytes(self, name: str, *, length: int | None = None, min_length: int = 0, max_length: int = 0) -> bytes:
        """Base64 bytes of exactly ``length``, or between ``min_length`` and ``max_length``."""
        limit = length if length is not None else max_length
        # Reject oversized text before decoding it.
        text = self.string(name, max_length=4 * ((limit + 2) // 3))
        value = decode_base64(text, field=self._name(name))
        if length is not None and len(value) != length:
            raise ApiError(ErrorCode.BAD_LENGTH, f"Expected {length} bytes, got {len(value)}.", field=self._name(name))
        if length is None and not min_length <= len(value) <= max_length:
            raise ApiError(
                ErrorCode.BAD_LENGTH,
                f"Expected {min_length} to {max_length} bytes, got {len(value)}.",
                field=self._name(name),
            )
        return value

    def uuid(self, name: str) -> uuid.UUID:
        """Only the canonical form (lower case, dashes), so it reads back byte for byte."""
        value = self.string(name, max_length=64)
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            parsed = None
        if parsed is None or str(parsed) != value:
            raise ApiError(ErrorCode.WRONG_TYPE, "Expected a lower-case UUID.", field=self._name(name))
        return parsed

    def array(self, name: str) -> list[Any]:
        return self._value(name, list, "an array")

    def object(self, name: str) -> Fields:
        return Fields(self._value(name, dict, "an object"), path=self._name(name))

    def sealed(self, name: str, *, plaintext_length: int | None = None, max_plaintext: int = 0) -> Sealed:
        """An AES-GCM blob; the ciphertext is the plaintext length plus the tag."""
        blob = self.object(name)
        iv = blob.bytes("iv", length=AES_GCM_IV_BYTES)
        if plaintext_length is not None:
            ciphertext = blob.bytes("ciphertext", length=plaintext_length + AES_GCM_TAG_BYTES)
        else:
            ciphertext = blob.bytes(
                "ciphertext", min_length=AES_GCM_TAG_BYTES + 1, max_length=max_plaintext + AES_GCM_TAG_BYTES
            )
        return Sealed(iv=iv, ciphertext=ciphertext)
