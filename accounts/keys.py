"""Checks on public key material the browser uploads (the server never holds a private key)."""

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# Must match static/js/crypto/labels.js.
AGREEMENT_KEY_LABEL = b"securechat/agreement-key/v1|"
FINGERPRINT_LABEL = b"securechat/fingerprint/v1|"


def ed25519_verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s Ed25519 signature over ``message`` (False for a key that is not
    one)."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def agreement_key_is_signed(*, signing_public_key: bytes, agreement_public_key: bytes, signature: bytes) -> bool:
    """True when ``signature`` is the signing key's Ed25519 signature over the agreement key."""
    return ed25519_verifies(signing_public_key, signature, AGREEMENT_KEY_LABEL + agreement_public_key)


def fingerprint(signing_public_key: bytes) -> str:
    """First 16 bytes of SHA-256 over the labelled key, as 8 groups of 4 hex digits."""
    digest = hashlib.sha256(FINGERPRINT_LABEL + bytes(signing_public_key)).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))
