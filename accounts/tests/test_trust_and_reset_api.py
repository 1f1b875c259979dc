"""Sealed pins kept for their owner only, updated without lost writes; and the identity reset."""

import os

import pytest
from django.test import Client

from accounts.models import AuditEvent, Identity, KeyEvent, TrustStore
from accounts.tests.factories import api_client, b64, post, reset_body, sealed, signup_body

TRUST = "/api/accounts/trust"
ALICE_AUTH_KEY = os.urandom(32)
ALICE_RECOVERY_AUTH = os.urandom(32)


def put(client: Client, body: dict) -> object:
    token = client.cookies["csrftoken"].value
    return client.put(TRUST, body, content_type="application/json", headers={"X-CSRFToken": token})


@pytest.fixture
def alice(browser_client: Client) -> Client:
    body = signup_body("alice", with_auth_key=ALICE_AUTH_KEY, recovery_auth=b64(ALICE_RECOVERY_AUTH))
    assert post(browser_client, "/api/accounts/signup", body).status_code == 201
    return browser_client


def test_a_new_user_has_an_empty_trust_store(alice: Client) -> None:
    assert alice.get(TRUST).json() == {"version": 0, "sealed": None}


def test_the_owner_saves_and_reads_back_the_sealed_pins(alice: Client) -> None:
    blob = sealed(500)
    response = put(alice, {"version": 0, "sealed": blob})
    assert response.status_code == 200
    assert response.json() == {"version": 1, "sealed": blob}
    assert alice.get(TRUST).json() == {"version": 1, "sealed": blob}


def test_a_write_based_on_a_stale_version_is_refused_so_no_pin_is_lost(alice: Client) -> None:
    first, second = sealed(100), sealed(120)
    put(alice, {"version": 0, "sealed": first})
    stale = put(alice, {"version": 0, "sealed": second})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert stale.json()["error"]["version"] == 1
    assert alice.get(TRUST).json()["sealed"] == first


def test_nobody_else_can_read_or_write_my_trust_store(alice: Client) -> None:
    put(alice, {"version": 0, "sealed": sealed(100)})
    bob = api_client()
    post(bob, "/api/accounts/signup", signup_body("bob"))
    assert bob.get(TRUST).json() == {"version": 0, "sealed": None}
    assert Client().get(TRUST).status_code == 401


def test_a_malformed_trust_store_is_refused(alice: Client) -> None:
    assert put(alice, {"version": 0, "sealed": {"iv": b64(bytes(11)), "ciphertext": b64(bytes(40))}}).status_code == 400
    assert put(alice, {"version": -1, "sealed": sealed(10)}).status_code == 400
    assert not TrustStore.objects.filter(version__gt=0).exists()


def test_a_reset_replaces_every_key_bumps_the_version_keeps_the_resealed_pins_and_is_audited(alice: Client) -> None:
    put(alice, {"version": 0, "sealed": sealed(100)})
    before = Identity.objects.get()
    new_key = os.urandom(32)
    body = {**reset_body("alice", ALICE_AUTH_KEY), "auth_key": b64(new_key)}
    response = post(alice, "/api/accounts/reset", body)
    assert response.status_code == 200
    after = Identity.objects.get()
    assert after.key_version == before.key_version + 1
    assert bytes(after.signing_public_key) != bytes(before.signing_public_key)
    assert response.json()["user"]["signing_public_key"] == body["signing_public_key"]
    assert list(KeyEvent.objects.values_list("kind", "key_version")) == [("created", 1), ("reset", 2)]
    assert AuditEvent.objects.filter(action="key_reset").count() == 1
    # The pins, sealed again by the browser under the new account key, replace the old blob in the same write.
    assert alice.get(TRUST).json() == {"version": 2, "sealed": body["trust_store"]}
    assert alice.get("/api/accounts/me").status_code == 200
    login = post(api_client(), "/api/accounts/login", {"username": "alice", "auth_key": b64(new_key)})
    assert login.status_code == 200


def test_a_reset_with_the_recovery_key_instead_of_the_password(alice: Client) -> None:
    body = {**reset_body("alice", ALICE_AUTH_KEY), "current_recovery_auth": b64(ALICE_RECOVERY_AUTH)}
    del body["current_auth_key"]
    assert post(alice, "/api/accounts/reset", body).status_code == 200
    assert Identity.objects.get().key_version == 2


def test_a_stolen_session_alone_cannot_reset_the_keys(alice: Client) -> None:
    """The attack: a session cookie and nothing else. Without proof, or with a wrong one, nothing changes."""
    put(alice, {"version": 0, "sealed": sealed(100)})
    no_proof = reset_body("alice", ALICE_AUTH_KEY)
    del no_proof["current_auth_key"]
    refused = post(alice, "/api/accounts/reset", no_proof)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "missing_field")
    assert refused.json()["error"]["field"] == "current_auth_key"
    wrong = post(alice, "/api/accounts/reset", reset_body("alice", os.urandom(32)))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "invalid_credentials")
    wrong_recovery = {**no_proof, "current_recovery_auth": b64(os.urandom(32))}
    assert post(alice, "/api/accounts/reset", wrong_recovery).json()["error"]["code"] == "invalid_credentials"
    assert Identity.objects.get().key_version == 1
    assert TrustStore.objects.get().version == 1
    assert AuditEvent.objects.filter(action="key_reset_failed").count() == 1
    assert AuditEvent.objects.filter(action="recovery_failed").count() == 1
    login = post(api_client(), "/api/accounts/login", {"username": "alice", "auth_key": b64(ALICE_AUTH_KEY)})
    assert login.status_code == 200, "the password still works"


def test_a_reset_needs_a_signed_in_user_and_valid_keys(alice: Client) -> None:
    assert post(api_client(), "/api/accounts/reset", reset_body("alice", ALICE_AUTH_KEY)).status_code == 401
    bad = {**reset_body("alice", ALICE_AUTH_KEY), "agreement_signature": b64(bytes(64))}
    assert post(alice, "/api/accounts/reset", bad).json()["error"]["code"] == "bad_signature"
    no_store = reset_body("alice", ALICE_AUTH_KEY)
    del no_store["trust_store"]
    assert post(alice, "/api/accounts/reset", no_store).json()["error"]["field"] == "trust_store"
    assert Identity.objects.get().key_version == 1


def test_a_trust_store_sealed_for_keys_older_than_a_reset_is_refused(alice: Client) -> None:
    assert put(alice, {"version": 0, "sealed": sealed(100), "key_version": 1}).status_code == 200
    post(alice, "/api/accounts/reset", reset_body("alice", ALICE_AUTH_KEY))
    stale = put(alice, {"version": 2, "sealed": sealed(100), "key_version": 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    assert put(alice, {"version": 2, "sealed": sealed(100), "key_version": 2}).status_code == 200
