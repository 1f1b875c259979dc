"""Accounts in a real browser: sign-up, log-in, log-out, password change and recovery.

What each test proves is in its name; the security ones recompute the account's secrets in Python
(tests/reference_crypto.py) and look for them where the server could see them: every request the
page makes, and every cell of the database (tests/dbscan.py).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from playwright.sync_api import Page, Request, expect

from accounts import limits
from accounts.models import Identity, User
from tests import reference_crypto as ref
from tests.browser.accounts import (
    FLOW_TIMEOUT_MS,
    NewPage,
    agree_with_stored_key,
    api_get,
    expect_signed_in,
    fill_log_in_form,
    fill_sign_up_form,
    log_in,
    log_in_fails,
    log_out,
    own_fingerprint,
    sign_up,
    sign_with_stored_key,
    stored_keys,
    unique_username,
)
from tests.dbscan import describe, find_in, scan_database
from tests.servers import Server
from toolkit import throttle

# Spaces, symbols and a non-ASCII letter: any URL-, form- or JSON-encoding of it differs from the text.
PASSWORD = "Correct horse & battery/staple+ünd 42"
NEW_PASSWORD = "Another long passphrase: 7 green tulips!"
WRONG_LOGIN = "Wrong username or password."
SIGNUP_FIELDS = {
    "username",
    "kdf",
    "auth_key",
    "signing_public_key",
    "agreement_public_key",
    "agreement_signature",
    "key_bundle",
    "account_key_by_password",
    "account_key_by_recovery",
    "recovery_auth",
}

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(autouse=True)
def fresh_address_throttle() -> Iterator[None]:
    """Failed log-ins from 127.0.0.1 add up across tests (and runs, with Redis); start each test at zero."""
    for limit in (limits.PASSWORD.address, limits.login_per_address()):
        throttle.clear(limit, "127.0.0.1")
    yield


@pytest.fixture
def site_url(live_daphne: Server) -> str:
    return live_daphne.url


# Sets ``window.keyStoreWiped`` once a clear or delete in the key store has committed: the page wipes the keys
# asynchronously after it loaded, and IndexedDB has no change event of its own to wait for.
WIPES_SEEN = """
    window.keyStoreWiped = false;
    for (const name of ["clear", "delete"]) {
        const original = IDBObjectStore.prototype[name];
        IDBObjectStore.prototype[name] = function (...args) {
            const request = original.apply(this, args);
            if (this.name === "keys") {
                this.transaction.addEventListener("complete", () => { window.keyStoreWiped = true; });
            }
            return request;
        };
    }
"""


def json_body(request: Request) -> dict[str, Any]:
    return json.loads(request.post_data or "{}")


def api_requests(requests: list[Request], path: str) -> list[Request]:
    return [r for r in requests if r.url.endswith(path)]


# --- identity ----------------------------------------------------------------------------------


def test_signing_up_then_logging_in_from_a_fresh_browser_gives_the_same_identity(
    new_page: NewPage, site_url: str
) -> None:
    username = unique_username("alice")
    first = new_page()
    sign_up(first, site_url, username, PASSWORD)
    fingerprint = own_fingerprint(first, site_url)
    log_out(first)

    second = new_page()
    log_in(second, site_url, username, PASSWORD)
    assert own_fingerprint(second, site_url) == fingerprint

    # The private keys in this browser's IndexedDB are the other halves of the directory's public keys.
    directory = api_get(second, site_url, f"/api/keys/{username}")
    assert ref.fingerprint(ref.b64(directory["signing_public_key"])) == fingerprint
    challenge = secrets.token_bytes(32)
    signature = ref.b64(sign_with_stored_key(second, ref.to_b64(challenge)))
    Ed25519PublicKey.from_public_bytes(ref.b64(directory["signing_public_key"])).verify(signature, challenge)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(*ref.RAW_PUBLIC)
    shared = ref.b64(agree_with_stored_key(second, ref.to_b64(ephemeral_public)))
    assert shared == ephemeral.exchange(X25519PublicKey.from_public_bytes(ref.b64(directory["agreement_public_key"])))


def test_keys_are_stored_non_extractable_and_log_out_wipes_them(page: Page, site_url: str) -> None:
    username = unique_username("keys")
    sign_up(page, site_url, username, PASSWORD)
    stored = stored_keys(page)
    assert stored is not None
    assert stored["username"] == username
    assert stored["identity"]["fingerprint"] == own_fingerprint(page, site_url)
    assert set(stored["identity"]) == {
        "id",
        "username",
        "signing_public_key",
        "agreement_public_key",
        "agreement_signature",
        "key_version",
        "fingerprint",
    }
    assert stored["accountKey"] == {
        "type": "secret",
        "algorithm": "AES-GCM",
        "extractable": False,
        "usages": ["decrypt", "encrypt"],
    }
    assert stored["signingPrivateKey"] == {
        "type": "private",
        "algorithm": "Ed25519",
        "extractable": False,
        "usages": ["sign"],
    }
    assert stored["agreementPrivateKey"] == {
        "type": "private",
        "algorithm": "X25519",
        "extractable": False,
        "usages": ["deriveBits"],
    }

    log_out(page)
    assert stored_keys(page) is None
    # The session ended on the server too.
    assert page.request.get(f"{site_url}/api/accounts/me").status == 401


def test_a_page_served_signed_out_wipes_keys_left_behind(page: Page, site_url: str) -> None:
    sign_up(page, site_url, unique_username("left"), PASSWORD)
    assert stored_keys(page) is not None
    page.context.clear_cookies()  # the session expired, or was ended elsewhere
    page.add_init_script(WIPES_SEEN)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-username", "")
    page.wait_for_function("() => window.keyStoreWiped", timeout=FLOW_TIMEOUT_MS)
    assert stored_keys(page) is None


# --- nothing secret leaves the browser ---------------------------------------------------------


def test_the_password_is_in_no_request_during_sign_up_and_log_in(page: Page, site_url: str) -> None:
    username = unique_username("quiet")
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))

    recovery_text = sign_up(page, site_url, username, PASSWORD)
    log_out(page)
    log_in(page, site_url, username, PASSWORD)

    recovery = ref.parse_recovery_key(recovery_text)
    secrets_ = {"password": PASSWORD, "recovery key": recovery, "recovery key text": recovery_text}
    # The detector itself works on the encodings it claims to catch.
    assert find_in(json.dumps({"x": base64.urlsafe_b64encode(PASSWORD.encode()).decode()}), secrets_)
    assert find_in(urllib.parse.urlencode({"x": PASSWORD}), secrets_)
    assert find_in(json.dumps({"x": PASSWORD}), secrets_)
    assert find_in(PASSWORD.encode().hex().upper(), secrets_)

    assert requests
    for request in requests:
        headers = "\n".join(f"{name}: {value}" for name, value in request.all_headers().items())
        for part, text in (("URL", request.url), ("headers", headers), ("body", request.post_data_buffer or b"")):
            assert not find_in(text, secrets_), f"{request.method} {request.url}: secret in {part}"

    # Only the contract's fields are posted, and the auth key is exactly the reference derivation.
    (signup,) = api_requests(requests, "/api/accounts/signup")
    (prelogin,) = api_requests(requests, "/api/accounts/prelogin")
    (login,) = api_requests(requests, "/api/accounts/login")
    assert set(json_body(signup)) == SIGNUP_FIELDS
    assert json_body(prelogin) == {"username": username}
    assert set(json_body(login)) == {"username", "auth_key"}
    kdf = json_body(signup)["kdf"]
    assert kdf["algorithm"] == "PBKDF2-SHA256" and kdf["iterations"] == ref.PBKDF2_ITERATIONS
    expected = ref.auth_key(ref.master_key(PASSWORD, ref.b64(kdf["salt"])))
    assert ref.b64(json_body(signup)["auth_key"]) == expected
    assert ref.b64(json_body(login)["auth_key"]) == expected
    assert ref.b64(json_body(signup)["recovery_auth"]) == ref.recovery_auth(recovery)


def test_the_database_holds_no_password_auth_key_or_private_key_after_sign_up_and_log_in(
    new_page: NewPage, site_url: str
) -> None:
    username = unique_username("scan")
    first = new_page()
    recovery_text = sign_up(first, site_url, username, PASSWORD)
    log_out(first)
    second = new_page()
    log_in(second, site_url, username, PASSWORD)

    identity = Identity.objects.select_related("user").get(user__username=username)
    own = api_get(second, site_url, "/api/accounts/me")["user"]
    assert ref.b64(own["kdf"]["salt"]) == bytes(identity.kdf_salt)
    # Recompute, from the password and the salt stored in the database, every secret the browser holds.
    account = ref.account_secrets(PASSWORD, own)
    assert account.auth_key == ref.auth_key(ref.master_key(PASSWORD, bytes(identity.kdf_salt), identity.kdf_iterations))
    assert identity.user.check_password(ref.to_b64(account.auth_key)), "the recomputed auth key is the real one"
    signing_public = account.identity.signing_key.public_key().public_bytes(*ref.RAW_PUBLIC)
    assert signing_public == bytes(identity.signing_public_key)
    recovery = ref.parse_recovery_key(recovery_text)

    findings = scan_database(
        {
            "password": PASSWORD,
            "master key": account.master_key,
            "auth key": account.auth_key,
            "wrap key": account.wrap_key,
            "account key": account.account_key,
            "signing private key (seed)": account.identity.signing_seed,
            "agreement private key (seed)": account.identity.agreement_seed,
            "signing private key (PKCS#8)": account.identity.signing_pkcs8,
            "agreement private key (PKCS#8)": account.identity.agreement_pkcs8,
            "recovery key": recovery,
            "recovery key text": recovery_text,
            "recovery auth": ref.recovery_auth(recovery),
            "recovery wrap key": ref.recovery_wrap_key(recovery),
        }
    )
    assert findings == [], describe(findings)

    # The scan does find what is meant to be there.
    public = scan_database({"signing public key": signing_public})
    assert {(f.table, f.column) for f in public} >= {(Identity._meta.db_table, "signing_public_key")}, describe(public)


# --- password change and recovery --------------------------------------------------------------


def test_after_a_password_change_the_old_password_fails_and_the_new_one_opens_the_same_identity(
    new_page: NewPage, site_url: str
) -> None:
    username = unique_username("change")
    page = new_page()
    sign_up(page, site_url, username, PASSWORD)
    fingerprint = own_fingerprint(page, site_url)

    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.get_by_label("Current password", exact=True).fill("not my password at all")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert").filter(has_text="current password is wrong")).to_be_visible(
        timeout=FLOW_TIMEOUT_MS
    )
    expect(page.get_by_label("Current password", exact=True)).to_be_focused()

    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password changed.")).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    expect(page.get_by_role("alert").filter(has_text=re.compile(r"\S"))).to_have_count(0)
    assert stored_keys(page) is not None, "still signed in, keys kept"
    log_out(page)

    other = new_page()
    assert log_in_fails(other, site_url, username, PASSWORD) == WRONG_LOGIN
    log_in(other, site_url, username, NEW_PASSWORD)
    assert own_fingerprint(other, site_url) == fingerprint


def test_recovering_with_the_recovery_key_sets_a_new_password_and_keeps_the_identity(
    new_page: NewPage, site_url: str
) -> None:
    username = unique_username("forgetful")
    page = new_page()
    recovery_text = sign_up(page, site_url, username, PASSWORD)
    fingerprint = own_fingerprint(page, site_url)
    log_out(page)

    device = new_page()
    device.goto(f"{site_url}/accounts/recover/")
    device.get_by_label("Username", exact=True).fill(username.upper())  # names are case-insensitive
    # As a person might type it back: lower case, spaces instead of dashes.
    device.get_by_label("Recovery key", exact=True).fill(recovery_text.lower().replace("-", " "))
    device.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    device.get_by_label("Confirm password", exact=True).fill(NEW_PASSWORD)
    device.get_by_role("button", name="Recover account").click()
    expect_signed_in(device, username)
    expect(device).to_have_url(f"{site_url}/rooms/")
    assert own_fingerprint(device, site_url) == fingerprint
    assert stored_keys(device) is not None
    log_out(device)

    again = new_page()
    assert log_in_fails(again, site_url, username, PASSWORD) == WRONG_LOGIN
    log_in(again, site_url, username, NEW_PASSWORD)
    assert own_fingerprint(again, site_url) == fingerprint


def test_a_bad_recovery_key_shows_an_error(page: Page, site_url: str) -> None:
    username = unique_username("nokey")
    sign_up(page, site_url, username, PASSWORD)
    log_out(page)
    recover_requests: list[Request] = []
    page.on("request", lambda r: recover_requests.append(r) if "/api/accounts/recover/" in r.url else None)

    page.goto(f"{site_url}/accounts/recover/")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Recovery key", exact=True).fill("ABCD-EFGH-1234")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Recover account").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"invalid character \"1\""))
    expect(page.get_by_label("Recovery key", exact=True)).to_be_focused()
    assert recover_requests == []

    # Well-formed, but not this account's.
    page.get_by_label("Recovery key", exact=True).fill(ref.format_recovery_key(secrets.token_bytes(32)))
    page.get_by_role("button", name="Recover account").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or recovery key.", timeout=FLOW_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Recover account")).to_be_enabled()


# --- errors and their messages -----------------------------------------------------------------


def test_wrong_password_and_unknown_user_show_the_same_message(page: Page, site_url: str) -> None:
    username = unique_username("known")
    sign_up(page, site_url, username, PASSWORD)
    log_out(page)
    wrong_password = log_in_fails(page, site_url, username, "not the password, honestly")
    unknown_user = log_in_fails(page, site_url, unique_username("nobody"), PASSWORD)
    assert wrong_password == unknown_user == WRONG_LOGIN
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    assert stored_keys(page) is None


def test_too_many_failed_log_ins_show_the_wait_time(page: Page, site_url: str) -> None:
    username = unique_username("guessed")
    for _ in range(5):
        assert log_in_fails(page, site_url, username, "guess guess guess") == WRONG_LOGIN
    message = log_in_fails(page, site_url, username, "guess guess guess")
    assert re.fullmatch(
        r"Too many failed log-in attempts for this account from your address\. Try again in \d+ minutes?\.", message
    )


def test_create_account_cannot_be_submitted_twice(page: Page, site_url: str) -> None:
    username = unique_username("eager")
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    fill_sign_up_form(page, site_url, username, PASSWORD)
    at_once = page.evaluate(
        """() => {
            const form = document.getElementById("signup-form");
            const button = form.querySelector("button[type=submit]");
            const status = form.querySelector("[data-status]");
            window.statusLines = [];
            new MutationObserver(() => window.statusLines.push(status.textContent))
                .observe(status, {childList: true, characterData: true, subtree: true});
            form.requestSubmit(button);
            const seen = {disabled: button.disabled, progressShown: !form.querySelector("progress").hidden,
                          status: status.textContent};
            form.requestSubmit();  // a second submission while keys are derived
            button.click();
            return seen;
        }"""
    )
    assert at_once == {
        "disabled": True,
        "progressShown": True,
        "status": "Step 1 of 4: Deriving keys from your password…",
    }
    expect(page.get_by_label("Recovery key", exact=True)).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    assert len(api_requests(requests, "/api/accounts/signup")) == 1
    assert User.objects.filter(username=username).count() == 1
    assert page.evaluate("() => window.statusLines") == [
        "Step 1 of 4: Deriving keys from your password…",
        "Step 2 of 4: Generating identity keys…",
        "Step 3 of 4: Sealing your keys…",
        "Step 4 of 4: Creating account…",
        "Account created.",
    ]


def test_log_in_cannot_be_submitted_twice(page: Page, site_url: str) -> None:
    username = unique_username("twice")
    sign_up(page, site_url, username, PASSWORD)
    log_out(page)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    fill_log_in_form(page, site_url, username, PASSWORD)
    disabled = page.evaluate(
        """() => {
            const form = document.getElementById("login-form");
            const button = form.querySelector("button[type=submit]");
            form.requestSubmit(button);
            const disabled = button.disabled;
            form.requestSubmit();
            return disabled;
        }"""
    )
    assert disabled is True
    expect_signed_in(page, username)
    assert len(api_requests(requests, "/api/accounts/login")) == 1


@pytest.mark.parametrize(
    ("username", "password", "confirm", "message"),
    [
        ("ab", PASSWORD, PASSWORD, "Username must be 3 to 32 characters long."),
        ("no spaces!", PASSWORD, PASSWORD, "Username may contain only letters, digits, and the characters _ . -"),
        ("shorty", "nine char", "nine char", "Password must be at least 10 characters long (it has 9)."),
        ("mismatch", PASSWORD, PASSWORD + "!", "The passwords do not match."),
    ],
)
def test_sign_up_checks_the_form_before_deriving_anything(
    page: Page, site_url: str, username: str, password: str, confirm: str, message: str
) -> None:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    fill_sign_up_form(page, site_url, username, password, confirm)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_have_text(message)
    assert api_requests(requests, "/api/accounts/signup") == []


def test_a_taken_username_is_refused_whatever_its_case(new_page: NewPage, site_url: str) -> None:
    username = unique_username("taken")
    sign_up(new_page(), site_url, username, PASSWORD)
    page = new_page()
    fill_sign_up_form(page, site_url, username.upper(), PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_have_text("That username is taken.", timeout=FLOW_TIMEOUT_MS)
    expect(page.get_by_label("Username", exact=True)).to_be_focused()
    expect(page.get_by_role("button", name="Create account")).to_be_enabled()


def test_the_password_strength_hint_updates_as_you_type(page: Page, site_url: str) -> None:
    page.goto(f"{site_url}/accounts/signup/")
    hint = page.locator("#password-strength")
    expect(hint).to_have_attribute("aria-live", "polite")
    password = page.get_by_label("Password", exact=True)
    password.press_sequentially("abc")
    expect(hint).to_have_text("Too short. 7 more characters needed (at least 10).")
    password.fill("password123")
    expect(hint).to_contain_text("Strength: weak.")
    password.fill("tulip orbit Kettle 9 marsh?")
    expect(hint).to_have_text("Strength: strong.")


# --- the browser refuses a lying server --------------------------------------------------------


@pytest.mark.parametrize(
    ("kdf", "reason"),
    [
        ({"algorithm": "PBKDF2-SHA256", "iterations": 1000}, "asked for 1000 PBKDF2 iterations"),
        ({"algorithm": "PBKDF2-SHA1", "iterations": 600000}, 'asked for password hashing "PBKDF2-SHA1"'),
    ],
)
def test_log_in_refuses_weak_key_derivation_from_the_server(
    page: Page, site_url: str, kdf: dict[str, Any], reason: str
) -> None:
    weak = {"kdf": {**kdf, "salt": ref.to_b64(bytes(16))}}
    page.route(
        "**/api/accounts/prelogin",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(weak)),
    )
    logins: list[Request] = []
    page.on("request", lambda r: logins.append(r) if r.url.endswith("/api/accounts/login") else None)
    message = log_in_fails(page, site_url, unique_username("target"), PASSWORD)
    assert message.startswith("Refusing to log in:") and reason in message
    assert logins == [], "nothing derived from the password was sent"


def test_log_in_fails_loudly_when_the_server_returns_someone_elses_public_keys(
    new_page: NewPage, site_url: str
) -> None:
    username = unique_username("victim")
    page = new_page()
    sign_up(page, site_url, username, PASSWORD)
    log_out(page)

    impostor = Ed25519PrivateKey.generate().public_key().public_bytes(*ref.RAW_PUBLIC)

    def swap_signing_key(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        body["user"]["signing_public_key"] = ref.to_b64(impostor)
        body["user"]["fingerprint"] = ref.fingerprint(impostor)
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/accounts/login", swap_signing_key)
    message = log_in_fails(page, site_url, username, PASSWORD)
    assert "do not match your private keys" in message
    assert stored_keys(page) is None
    assert page.request.get(f"{site_url}/api/accounts/me").status == 401, "the half-open session was ended"


# --- small things ------------------------------------------------------------------------------


def test_log_in_follows_next_only_to_paths_on_this_site(new_page: NewPage, site_url: str) -> None:
    username = unique_username("next")
    sign_up(new_page(), site_url, username, PASSWORD)
    for next_path, landing in (("/accounts/password/", "/accounts/password/"), ("//example.com/x", "/rooms/")):
        page = new_page()
        fill_log_in_form(page, site_url, username, PASSWORD, next_path=next_path)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(site_url + landing, timeout=FLOW_TIMEOUT_MS)
        expect_signed_in(page, username)


def test_the_recovery_key_can_be_copied_and_downloaded(new_page: NewPage, site_url: str) -> None:
    username = unique_username("careful")
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    fill_sign_up_form(page, site_url, username, PASSWORD)
    page.get_by_role("button", name="Create account").click()
    recovery_key = page.get_by_label("Recovery key", exact=True)
    expect(recovery_key).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    text = recovery_key.inner_text()
    # Shown once: the server never had it, so it is nowhere in what the server sent back.
    assert ref.format_recovery_key(ref.parse_recovery_key(text)) == text

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == text

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == f"securechat-recovery-key-{username}.txt"
    with open(download.path(), encoding="utf-8") as file:
        content = file.read()
    assert f"Username: {username}" in content and f"Recovery key: {text}" in content

    page.get_by_role("button", name="I have saved my recovery key").click()
    expect(page).to_have_url(f"{site_url}/rooms/")
    expect_signed_in(page, username)
