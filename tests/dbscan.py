"""Look for secrets anywhere in the database: every table, every column, every usual spelling.

A secret can be stored raw (a binary column), as text (also JSON-escaped), base64 (standard or URL-safe, padded or
not, even as part of a longer base64 blob), hex in either case, or percent-encoded. Signed
session data is decoded first, since Django compresses it. Works on SQLite and Postgres through
Django's connection and introspection, so it sees tables no model mentions.
"""

from __future__ import annotations

import base64
import json
import math
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

Secret = bytes | str


@dataclass(frozen=True)
class Spelling:
    form: str
    needle: bytes
    ignore_case: bool = False


@dataclass(frozen=True)
class Finding:
    secret: str
    form: str
    table: str
    column: str
    row: int

    def __str__(self) -> str:
        return f"{self.secret} ({self.form}) in {self.table}.{self.column}, row {self.row}"


def _base64_inside(secret: bytes, alphabet: str) -> Iterator[tuple[str, bytes]]:
    """The characters that encode only ``secret``'s bits when it starts at byte offset 0, 1 or 2 of a blob."""
    encode = base64.b64encode if alphabet == "standard" else base64.urlsafe_b64encode
    for shift in range(3):
        encoded = encode(bytes(shift) + secret)
        start = math.ceil(8 * shift / 6)
        end = (8 * (shift + len(secret))) // 6
        if end - start >= 8:  # shorter fragments would match by chance
            yield f"base64 {alphabet}, inside a blob at offset {shift}", encoded[start:end]


def spellings(secret: Secret) -> list[Spelling]:
    """Every spelling of ``secret`` to look for; text secrets are also searched as their UTF-8 bytes."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    forms = [
        Spelling("raw bytes" if isinstance(secret, bytes) else "UTF-8 text", raw),
        Spelling("base64", base64.b64encode(raw)),
        Spelling("base64 without padding", base64.b64encode(raw).rstrip(b"=")),
        Spelling("base64 URL-safe", base64.urlsafe_b64encode(raw)),
        Spelling("base64 URL-safe without padding", base64.urlsafe_b64encode(raw).rstrip(b"=")),
        Spelling("hex", raw.hex().encode(), ignore_case=True),
        Spelling("percent-encoded", urllib.parse.quote(raw, safe="").encode()),
        Spelling("form-encoded", urllib.parse.quote_plus(raw, safe="").encode()),
    ]
    if isinstance(secret, str):
        for ensure_ascii in (True, False):  # inside a JSON string, "\u00fc"-escaped or not
            forms.append(Spelling("JSON string", json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1].encode("utf-8")))
    if isinstance(secret, bytes):
        try:
            forms.append(Spelling("UTF-8 text", raw.decode("utf-8").encode("utf-8")))
        except UnicodeDecodeError:
            pass
        # As text stored as Latin-1 / bytes shown as characters.
        forms.append(Spelling("Latin-1 text", raw.decode("latin-1").encode("utf-8")))
    for alphabet in ("standard", "URL-safe"):
        forms += [Spelling(form, needle) for form, needle in _base64_inside(raw, alphabet)]
    unique: dict[tuple[bytes, bool], Spelling] = {}
    for spelling in forms:
        unique.setdefault((spelling.needle, spelling.ignore_case), spelling)
    return list(unique.values())


def find_in(haystack: bytes | str, secrets: Mapping[str, Secret]) -> list[tuple[str, str]]:
    """``(secret name, form)`` for every secret found in ``haystack``, also after URL-decoding it."""
    data = haystack.encode("utf-8") if isinstance(haystack, str) else bytes(haystack)
    variants = [data]
    decoded = urllib.parse.unquote_to_bytes(data.replace(b"+", b" "))
    if decoded != data:
        variants.append(decoded)
    found = []
    for name, secret in secrets.items():
        for spelling in spellings(secret):
            if any(_contains(variant, spelling) for variant in variants):
                found.append((name, spelling.form))
                break
    return found


def _contains(haystack: bytes, spelling: Spelling) -> bool:
    if spelling.ignore_case:
        return spelling.needle.lower() in haystack.lower()
    return spelling.needle in haystack


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict | list):  # JSON columns on Postgres arrive decoded
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    return str(value).encode("utf-8")


def _decoded_session(value: Any) -> bytes | None:
    """Django's session data is signed and zlib-compressed: a secret inside would not show raw."""
    from django.contrib.sessions.backends.db import SessionStore

    if not isinstance(value, str):
        return None
    return json.dumps(SessionStore().decode(value), default=str).encode("utf-8")


def rows(using: str = DEFAULT_DB_ALIAS) -> Iterator[tuple[str, str, int, bytes]]:
    """``(table, column, row number, value as bytes)`` for every non-null cell of every table."""
    connection = connections[using]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (introspected name)
            columns = [column[0] for column in cursor.description]
            for number, row in enumerate(cursor.fetchall()):
                for column, value in zip(columns, row, strict=True):
                    data = _as_bytes(value)
                    if data is not None:
                        yield table, column, number, data
                    if table == "django_session" and column == "session_data":
                        decoded = _decoded_session(value)
                        if decoded is not None:
                            yield table, f"{column} (decoded)", number, decoded


def table_names(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    connection = connections[using]
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


def scan_database(secrets: Mapping[str, Secret], *, using: str = DEFAULT_DB_ALIAS) -> list[Finding]:
    """Every place any of ``secrets`` (name → value) appears in the database, in any spelling."""
    prepared = {name: spellings(secret) for name, secret in secrets.items()}
    findings = []
    for table, column, number, data in rows(using):
        lowered = data.lower()
        for name, forms in prepared.items():
            for spelling in forms:
                haystack = lowered if spelling.ignore_case else data
                needle = spelling.needle.lower() if spelling.ignore_case else spelling.needle
                if needle in haystack:
                    findings.append(Finding(name, spelling.form, table, column, number))
                    break
    return findings


def describe(findings: Iterable[Finding]) -> str:
    return "\n".join(str(finding) for finding in findings) or "nothing found"
