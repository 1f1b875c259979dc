"""The key directory by name: public keys for signed-in users; wrapped private material for its owner only. (By id,
for people who share a room: chat/tests/test_key_directory.py.)"""

import pytest
from django.test import Client

from accounts.tests.factories import api_client, post, signup_body

PUBLIC_FIELDS = {
    "id",
    "username",
    "signing_public_key",
    "agreement_public_key",
    "agreement_signature",
    "key_version",
    "fingerprint",
}


@pytest.fixture
def bob(db: None) -> dict:
    body = signup_body("bob")
    assert post(api_client(), "/api/accounts/signup", body).status_code == 201
    return body


def test_a_signed_in_user_gets_another_users_public_keys_only(browser_client: Client, bob: dict) -> None:
    post(browser_client, "/api/accounts/signup", signup_body("alice"))
    response = browser_client.get("/api/keys/BOB")
    assert response.status_code == 200
    keys = response.json()
    assert set(keys) == PUBLIC_FIELDS
    assert keys["signing_public_key"] == bob["signing_public_key"]
    assert keys["agreement_signature"] == bob["agreement_signature"]
    assert keys["key_version"] == 1


def test_the_owner_also_gets_their_wrapped_private_material(browser_client: Client) -> None:
    body = signup_body("alice")
    post(browser_client, "/api/accounts/signup", body)
    keys = browser_client.get("/api/keys/alice").json()
    assert set(keys) == PUBLIC_FIELDS | {"kdf", "key_bundle", "account_key_by_password"}
    assert keys["key_bundle"] == body["key_bundle"]


def test_anonymous_users_cannot_read_the_directory(bob: dict) -> None:
    response = Client().get("/api/keys/bob")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_unknown_user_is_not_found(browser_client: Client) -> None:
    post(browser_client, "/api/accounts/signup", signup_body("alice"))
    assert browser_client.get("/api/keys/nobody").json()["error"]["code"] == "not_found"
