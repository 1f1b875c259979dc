"""The password's salt is the browser's, made from the username: the server cannot hand every account one salt and
test a password guess against all of them at once. Accounts from before move to it at their next log-in.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Request, expect

from accounts.models import Identity
from accounts.selectors import own_identity_json, username_salt
from tests import reference_crypto as ref
from tests.browser.accounts import log_in, log_in_fails, log_out
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    PASSWORD,
    People,
    message,
    open_room,
    rewritten_answer,
    send_message,
    share_room,
)
from toolkit.validation import encode_base64

pytestmark = pytest.mark.usefixtures("transactional_db")

FIXED_SALT = encode_base64(bytes(16))


def fixed_salt(body: dict) -> None:
    """The server's pre-login answer with one salt for everybody."""
    body["kdf"]["salt"] = FIXED_SALT


def as_from_before_the_username_salt(username: str) -> None:
    """The account as it was before: a random salt, the auth key and the account key's wrap derived from it (the
    same password; what the browser did then, replayed with the reference implementation)."""
    identity = Identity.objects.select_related("user").get(user__username=username)
    secrets = ref.account_secrets(PASSWORD, own_identity_json(identity))
    salt = os.urandom(16)
    master = ref.master_key(PASSWORD, salt, identity.kdf_iterations)
    iv = os.urandom(12)
    wrapped = ref.seal(ref.wrap_key(master), iv, secrets.account_key, ref.aad_account_key_by_password(username))
    identity.kdf_salt, identity.account_key_password_iv, identity.account_key_password_ciphertext = salt, iv, wrapped
    identity.save()
    identity.user.set_password(encode_base64(ref.auth_key(master)))
    identity.user.save()


def test_every_account_is_made_on_the_salt_of_its_username(people: People) -> None:
    alice = people.sign_up("alice")
    assert bytes(Identity.objects.get(user__username=alice.username).kdf_salt) == username_salt(alice.username)


def test_a_salt_of_the_servers_choosing_is_refused_where_the_account_is_known(people: People) -> None:
    alice = people.sign_up("alice")
    page = alice.page
    log_out(page)
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if request.url.endswith("/api/accounts/login") else None)
    page.route("**/api/accounts/prelogin", rewritten_answer(fixed_salt))
    error = log_in_fails(page, alice.base_url, alice.username, PASSWORD)
    assert "salt of its own choosing" in error
    assert not sent, "nothing derived from the password was sent"


def test_an_account_from_before_moves_to_the_username_salt_at_its_next_log_in_and_keeps_its_history(
    people: People,
) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    share_room(alice, bob, "Before")
    send_message(alice, "written before the move")
    as_from_before_the_username_salt(alice.username)
    assert bytes(Identity.objects.get(user__username=alice.username).kdf_salt) != username_salt(alice.username)

    laptop = people._person(alice.username)
    log_in(laptop.page, laptop.base_url, alice.username, PASSWORD)
    assert bytes(Identity.objects.get(user__username=alice.username).kdf_salt) == username_salt(alice.username)
    laptop.page.goto(f"{laptop.base_url}/rooms/")
    open_room(laptop, "Before")
    expect(message(laptop.page, "written before the move")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    # The same password on the new salt, from yet another browser.
    phone = people._person(alice.username)
    log_in(phone.page, phone.base_url, alice.username, PASSWORD)
