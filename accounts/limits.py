"""Every limit on the accounts' endpoints, with its numbers (SECURITY.md, "Other users and outsiders", lists them).

Two kinds, both counted in the shared cache (Redis when set), so every worker agrees:

- guards on a secret (``toolkit.throttle.Guard``): failed proofs of the password or the recovery key, counted per
  account and address, per address, and per account, so that a stranger's failures refuse the stranger, not the
  owner;
- requests per address on the endpoints that cost the server a password hash or answer about any name (sign-up,
  pre-login and log-in, recovery), from settings: enough for a household or an office behind one address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

from accounts.audit import ClientInfo
from toolkit import throttle
from toolkit.throttle import Guard, Limit

MINUTE, HOUR = 60, 60 * 60

# The password: log-in, password change, key reset with the password (and, as "admin:<name>", the staff console).
PASSWORD = Guard(
    pair=Limit("login-pair", 5, 15 * MINUTE, "Too many failed log-in attempts for this account from your address."),
    address=Limit("login-addr", 30, 15 * MINUTE, "Too many failed log-in attempts from your address."),
    account=Limit(
        "login-account",
        20,
        HOUR,
        "This account has had many failed log-ins from elsewhere: from an address it has not signed in from, one try "
        "at a time.",
    ),
    guarded_attempts=1,
)

# The recovery key: recovery and key reset with the recovery key. Requests per address are limited apart (below).
RECOVERY_KEY = Guard(
    pair=Limit("recover-pair", 5, HOUR, "Too many failed recovery attempts for this account from your address."),
    address=None,
    account=Limit(
        "recover-account",
        20,
        HOUR,
        "This account has had many failed recovery attempts from elsewhere: from an address it has not signed in "
        "from, one try at a time.",
    ),
    guarded_attempts=1,
)


def signup_per_address() -> Limit:
    return Limit("signup-addr", settings.SIGNUP_PER_ADDRESS_PER_HOUR, HOUR, "Too many sign-ups from your address.")


def login_per_address() -> Limit:
    """Pre-login and log-in requests together (a browser's log-in is one of each)."""
    return Limit(
        "prelogin-addr", settings.PRELOGIN_PER_ADDRESS_PER_MINUTE, MINUTE, "Too many log-in attempts from your address."
    )


def recovery_per_address() -> Limit:
    """Recovery's two steps (begin, finish) count alike: each checks the recovery key."""
    return Limit(
        "recover-addr", settings.RECOVERY_PER_ADDRESS_PER_HOUR, HOUR, "Too many recovery attempts from your address."
    )


def address_of(client: ClientInfo) -> str:
    """The client's address as the limits count it (``accounts.audit.client_info`` decides what it is): an IPv6
    address by its network (``IPV6_LIMIT_PREFIX``, a /64: one home or phone holds a whole one and picks addresses
    in it at will), an IPv4 address as it is."""
    if not client.ip_address:
        return "unknown"
    try:
        address = ipaddress.ip_address(client.ip_address)
    except ValueError:
        return client.ip_address
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{settings.IPV6_LIMIT_PREFIX}", strict=False))
    return str(address)


def per_address(limit: Limit, client: ClientInfo) -> None:
    """Count one request from the client's address; raise ``rate_limited`` over ``limit``."""
    throttle.check_and_hit(limit, address_of(client))
