"""A name that reads like a taken one cannot be taken: impersonation by a look-alike username is refused at sign-up."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent, User
from accounts.tests.factories import api_client, post, signup_body
from accounts.usernames import lookalike_keys


@pytest.mark.parametrize(
    ("taken", "lookalike"),
    [
        ("alice", "aIice"),  # capital i for l
        ("alice", "ALICE"),
        ("otto", "0tto"),  # zero for O, and OTTO is otto
        ("bob", "b0b"),
        ("mary", "rnary"),  # r n for m
        ("dave_1", "dave_l"),
    ],
)
def test_signing_up_with_a_lookalike_of_a_taken_name_is_refused_and_writes_nothing(
    db: None, taken: str, lookalike: str
) -> None:
    assert post(api_client(), "/api/accounts/signup", signup_body(taken)).status_code == 201
    users, events = User.objects.count(), AuditEvent.objects.count()

    refused = post(api_client(), "/api/accounts/signup", signup_body(lookalike))

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "username_taken"
    assert (User.objects.count(), AuditEvent.objects.count()) == (users, events)


@pytest.mark.parametrize(
    ("one", "other"), [("alice", "aiice"), ("AIICE", "ALICE"), ("mary", "nary"), ("carol", "carl")]
)
def test_names_that_only_share_letters_are_both_free(db: None, one: str, other: str) -> None:
    assert not lookalike_keys(one) & lookalike_keys(other)
    assert post(api_client(), "/api/accounts/signup", signup_body(one)).status_code == 201
    assert post(api_client(), "/api/accounts/signup", signup_body(other)).status_code == 201


def test_an_account_made_another_way_also_holds_its_name(db: None) -> None:
    User.objects.create_superuser("operator", password="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("0perator")
    refused = post(api_client(), "/api/accounts/signup", signup_body("0PERATOR"))
    assert refused.json()["error"]["code"] == "username_taken"
