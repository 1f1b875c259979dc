"""Driving the account pages as a user would, by their accessible names (docs/ACCOUNTS.md, "Pages").

Reusable by every browser test that needs a signed-in user.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

# Deriving keys (PBKDF2, 600 000 rounds) plus the server's Argon2 hashing: seconds on a slow machine.
# A page in a fresh browser context (the `new_page` fixture): another device.
NewPage = Callable[..., Page]
FLOW_TIMEOUT_MS = 30_000
RECOVERY_KEY_TEXT = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){12}$")


def unique_username(prefix: str = "user") -> str:
    """Fresh per test run, so throttle counters kept in a shared cache never carry over."""
    return f"{prefix}_{secrets.token_hex(4)}"


def fill_sign_up_form(page: Page, base_url: str, username: str, password: str, confirm: str | None = None) -> None:
    page.goto(f"{base_url}/accounts/signup/")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password", exact=True).fill(password if confirm is None else confirm)


def sign_up(page: Page, base_url: str, username: str, password: str) -> str:
    """Creates the account, confirms the recovery key was saved, and returns it as shown."""
    fill_sign_up_form(page, base_url, username, password)
    page.get_by_role("button", name="Create account").click()
    recovery_key = page.get_by_label("Recovery key", exact=True)
    expect(recovery_key).to_have_text(RECOVERY_KEY_TEXT, timeout=FLOW_TIMEOUT_MS)
    text = recovery_key.text_content() or ""
    page.get_by_role("button", name="I have saved my recovery key").click()
    expect_signed_in(page, username)
    return text


def fill_log_in_form(page: Page, base_url: str, username: str, password: str, *, next_path: str = "") -> None:
    page.goto(f"{base_url}/accounts/login/" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    fill_log_in_form(page, base_url, username, password)
    page.get_by_role("button", name="Log in").click()
    expect_signed_in(page, username)


def log_in_fails(page: Page, base_url: str, username: str, password: str) -> str:
    """Tries to log in and returns the error the page shows."""
    fill_log_in_form(page, base_url, username, password)
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert").filter(has_text=re.compile(r"\S"))
    expect(alert).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    return alert.inner_text()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-username", "")


def expect_signed_in(page: Page, username: str) -> None:
    expect(page.get_by_role("button", name="Log out")).to_be_visible(timeout=FLOW_TIMEOUT_MS)
    expect(page.locator(".signed-in")).to_have_text(re.compile(rf"Signed in as {re.escape(username)}$", re.I))


def own_fingerprint(page: Page, base_url: str) -> str:
    """The fingerprint the home page shows for the signed-in user."""
    if page.url != f"{base_url}/":
        page.goto(f"{base_url}/")
    fingerprint = page.locator("#own-fingerprint")
    expect(fingerprint).to_have_text(re.compile(r"^([0-9a-f]{4} ){7}[0-9a-f]{4}$"))
    return fingerprint.inner_text()


def stored_keys(page: Page) -> dict[str, Any] | None:
    """What the key store (IndexedDB) holds for this browser context, described without the keys' bytes."""
    return page.evaluate(
        """async () => {
            const keystore = await import("/static/js/account/keystore.js");
            const stored = await keystore.load();
            if (!stored) return null;
            const describe = (key) => ({type: key.type, algorithm: key.algorithm.name,
                                        extractable: key.extractable, usages: [...key.usages].sort()});
            return {
                username: stored.username,
                identity: stored.identity,
                accountKey: describe(stored.accountKey),
                signingPrivateKey: describe(stored.signingPrivateKey),
                agreementPrivateKey: describe(stored.agreementPrivateKey),
            };
        }"""
    )


def sign_with_stored_key(page: Page, challenge_b64: str) -> str:
    """The stored Ed25519 private key's signature over ``challenge``, base64."""
    return page.evaluate(
        """async (challenge) => {
            const keystore = await import("/static/js/account/keystore.js");
            const { fromBase64, toBase64 } = await import("/static/js/crypto/index.js");
            const stored = await keystore.load();
            const signature = await crypto.subtle.sign("Ed25519", stored.signingPrivateKey, fromBase64(challenge));
            return toBase64(new Uint8Array(signature));
        }""",
        challenge_b64,
    )


def agree_with_stored_key(page: Page, public_key_b64: str) -> str:
    """X25519 of the stored agreement private key with ``public_key``, base64."""
    return page.evaluate(
        """async (publicKey) => {
            const keystore = await import("/static/js/account/keystore.js");
            const { fromBase64, toBase64 } = await import("/static/js/crypto/index.js");
            const stored = await keystore.load();
            const peer = await crypto.subtle.importKey("raw", fromBase64(publicKey), "X25519", false, []);
            const bits = await crypto.subtle.deriveBits(
                {name: "X25519", public: peer}, stored.agreementPrivateKey, 256);
            return toBase64(new Uint8Array(bits));
        }""",
        public_key_b64,
    )


def api_get(page: Page, base_url: str, path: str) -> Any:
    """A GET on the API with this browser context's cookies."""
    response = page.request.get(base_url + path)
    assert response.ok, f"GET {path}: {response.status} {response.text()}"
    return response.json()
