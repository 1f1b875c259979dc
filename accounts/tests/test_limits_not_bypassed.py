"""The guards, the per-address limits and the look-alike check, aimed and bypassed as an attacker tried (each failed
on the code before its fix)."""

from __future__ import annotations

import ipaddress

import pytest
from django.conf import settings
from django.test import Client

from accounts import limits
from accounts.models import User
from accounts.tests.factories import api_client, post, signup_body
from accounts.tests.test_guards import HOME, PASSWORD, alice, log_in, refused, wrong  # noqa: F401  (fixture)

ATTACKER = "203.0.113.66"


def test_a_spelling_postgres_upper_cases_to_the_same_name_counts_against_the_same_account(alice: Client) -> None:  # noqa: F811
    """Log-in finds the account case-insensitively in the database (Postgres upper-cases a dotless i, U+0131, to
    ``I``), while the guard keys its counts on the name as typed: a name outside the pattern must not reach alice
    under counts of its own."""
    for _ in range(limits.PASSWORD.pair.attempts):
        assert not refused(log_in(ATTACKER, wrong()))
    assert refused(log_in(ATTACKER, PASSWORD))  # this address is done with alice...
    answer = log_in(ATTACKER, PASSWORD, username="al\u0131ce")  # ...nor with a spelling the database reads as hers
    assert answer.status_code in (400, 429), f"got {answer.status_code}: {answer.content[:120]!r}"
    assert answer.json()["error"]["code"] in ("invalid_username", "rate_limited")


def test_a_whole_ipv6_slash_64_is_one_address_for_the_per_address_limits(db: None) -> None:
    """Every home and phone with IPv6 gets a /64 (2^64 addresses) and picks new ones at will (privacy addresses):
    counting each /128 apart, one household signs up without limit (and guesses passwords, asks pre-logins, starts
    recoveries: every per-address count is keyed the same way)."""
    network = ipaddress.ip_network("2001:db8:1:2::/64")
    limit = settings.SIGNUP_PER_ADDRESS_PER_HOUR
    for index in range(limit):
        client = api_client(str(network[index + 1]))
        assert post(client, "/api/accounts/signup", signup_body(f"member{index}")).status_code == 201
    client = api_client(str(network[limit + 1]))
    answer = post(client, "/api/accounts/signup", signup_body("one-more"))
    assert answer.status_code == 429, f"sign-up {limit + 1} from one /64 got {answer.status_code}"
    assert not User.objects.filter(username="one-more").exists()


@pytest.mark.parametrize(
    ("taken", "lookalike"),
    [
        ("william", "vvilliam"),  # v v for w: the shipped confusables data has rn for m, not vv for w
        ("dave", "clave"),  # c l for d
        ("edward", "eclward"),
        ("wendy", "vvendy"),
    ],
)
def test_two_letter_lookalikes_other_than_rn_are_refused_too(db: None, taken: str, lookalike: str) -> None:
    """In the chat's sans-serif font ``vv`` reads as ``w`` and ``cl`` as ``d``, as ``rn`` reads as ``m``; only the
    last is in ``confusable_homoglyphs``' data, so the others are free beside the name they imitate."""
    assert post(api_client(), "/api/accounts/signup", signup_body(taken)).status_code == 201
    refused = post(api_client(), "/api/accounts/signup", signup_body(lookalike))
    assert refused.status_code == 409, f"{lookalike!r} was accepted beside {taken!r}"
