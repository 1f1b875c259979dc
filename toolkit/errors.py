"""Every error code a client can see, listed once, with its HTTP status.

HTTP answers carry ``{"error": {"code", "detail", "field"?}}``; WebSocket ``error`` frames carry the same codes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_BASE64 = "bad_base64"
    BAD_LENGTH = "bad_length"
    OUT_OF_RANGE = "out_of_range"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    INVALID_USERNAME = "invalid_username"
    USERNAME_TAKEN = "username_taken"
    BAD_SIGNATURE = "bad_signature"
    INVALID_CREDENTIALS = "invalid_credentials"
    RATE_LIMITED = "rate_limited"
    NOT_AUTHENTICATED = "not_authenticated"
    CSRF_FAILED = "csrf_failed"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    TOO_LARGE = "too_large"
    CONFLICT = "conflict"
    # Chat (WebSocket frames and room API)
    UNKNOWN_OP = "unknown_op"
    NOT_MEMBER = "not_member"
    FORBIDDEN = "forbidden"
    MEMBERS_CHANGED = "members_changed"
    ROOM_FULL = "room_full"
    # Consent caps (SECURITY.md, "Invitations")
    ROOM_LIMIT = "room_limit"
    INVITATION_LIMIT = "invitation_limit"
    # Rosters (docs/PROTOCOL.md, "Roster v1")
    BAD_ENTRY = "bad_entry"
    ROSTER_CONFLICT = "roster_conflict"
    ROSTER_CHANGED = "roster_changed"
    # A v3 envelope that does not take the next place in its sender's chain (docs/PROTOCOL.md, "Envelope v3")
    CHAIN_CHANGED = "chain_changed"
    UNAVAILABLE = "unavailable"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.USERNAME_TAKEN: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.CSRF_FAILED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.CONFLICT: 409,
    ErrorCode.NOT_MEMBER: 404,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.MEMBERS_CHANGED: 409,
    ErrorCode.ROOM_FULL: 409,
    ErrorCode.ROOM_LIMIT: 409,
    ErrorCode.INVITATION_LIMIT: 409,
    ErrorCode.BAD_ENTRY: 400,
    ErrorCode.ROSTER_CONFLICT: 409,
    ErrorCode.ROSTER_CHANGED: 409,
    ErrorCode.CHAIN_CHANGED: 409,
    ErrorCode.UNAVAILABLE: 503,
}


class ApiError(Exception):
    """A refusal the client is told about: a stable code, a sentence for people, the field at fault."""

    def __init__(self, code: ErrorCode, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.field = field
        self.extra = extra

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": str(self.code), "detail": self.detail, **self.extra}
        if self.field:
            body["field"] = self.field
        return body
