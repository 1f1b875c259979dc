"""The served crypto modules reproduce every known-answer vector inside Chromium, not only in Node.

Node and Chromium have differed before (their WebCrypto support for X25519 and Ed25519 came at different times),
and it is Chromium that users run. The page imports the modules by URL, as the app does, from the static files the
server really serves.
"""

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.servers import Server

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors/accounts-v1.json").read_text(encoding="utf-8"))

# Recomputes every value of the vectors from their fixed inputs with the served modules.
REPRODUCE = """async (V) => {
  const c = await import("/static/js/crypto/index.js");
  const subtle = crypto.subtle;
  const b = c.fromBase64;
  const hex = (s) => Uint8Array.from(s.match(/../g), (h) => parseInt(h, 16));
  // RFC 8410 PKCS#8 prefixes: the only way to import a raw seed into WebCrypto.
  async function pairFromSeed(name, seed) {
    const prefix = hex(name === "Ed25519" ? "302e020100300506032b657004220420" : "302e020100300506032b656e04220420");
    const usages = name === "Ed25519" ? ["sign"] : ["deriveBits"];
    const privateKey = await subtle.importKey("pkcs8", c.concatBytes(prefix, seed), {name}, true, usages);
    const x = (await subtle.exportKey("jwk", privateKey)).x.replace(/-/g, "+").replace(/_/g, "/");
    const publicRaw = b(x + "=".repeat((4 - (x.length % 4)) % 4));
    const publicKey = await subtle.importKey("raw", publicRaw, {name}, true, name === "Ed25519" ? ["verify"] : []);
    return {privateKey, publicKey};
  }
  const rawOf = async (key) => c.toBase64(new Uint8Array(await subtle.exportKey("raw", key)));
  const username = V.username;
  const master = await c.deriveMasterKey(V.password.password, b(V.password.salt), V.password.iterations);
  const wrapKey = await c.deriveWrapKey(master);
  const accountKey = await subtle.importKey("raw", b(V.account_key), "AES-GCM", true, ["encrypt", "decrypt"]);
  const byPassword = await c.wrapAccountKey(wrapKey, accountKey, c.aadAccountKeyByPassword(username),
                                            {iv: b(V.account_key_by_password.iv)});
  const recovery = b(V.recovery.recovery_key);
  const recoveryWrapKey = await c.deriveRecoveryWrapKey(recovery);
  const byRecovery = await c.wrapAccountKey(recoveryWrapKey, accountKey, c.aadAccountKeyByRecovery(username),
                                            {iv: b(V.account_key_by_recovery.iv)});
  const identity = {
    signing: await pairFromSeed("Ed25519", b(V.identity.signing_seed)),
    agreement: await pairFromSeed("X25519", b(V.identity.agreement_seed)),
  };
  const published = await c.publicKeys(identity);
  const bundle = await c.sealBundle(accountKey, identity, username, {iv: b(V.bundle.iv)});

  // And back: what the browser made opens again to the fixed inputs.
  const unwrapped = await c.unwrapAccountKey(wrapKey, V.account_key_by_password, V.account_key_by_password.aad,
                                             {extractable: true});
  const unwrappedByRecovery = await c.unwrapAccountKey(recoveryWrapKey, V.account_key_by_recovery,
                                                       V.account_key_by_recovery.aad, {extractable: true});
  const opened = await c.openBundle(accountKey, V.bundle, username);
  const challenge = c.utf8("challenge");
  const openedSigns = await subtle.verify("Ed25519", identity.signing.publicKey,
      await subtle.sign("Ed25519", opened.signingPrivateKey, challenge), challenge);
  let otherOwnerRefused = false;
  try {
    await c.openBundle(accountKey, V.bundle, "bob");
  } catch (e) {
    otherOwnerRefused = e instanceof c.IntegrityError;
  }

  return {
    auth_key: c.toBase64(await c.deriveAuthKey(master)),
    aad: {
      account_key_by_password: c.aadAccountKeyByPassword(username),
      account_key_by_recovery: c.aadAccountKeyByRecovery(username),
      bundle: c.aadBundle(username),
    },
    account_key_by_password: byPassword,
    account_key_by_recovery: byRecovery,
    recovery_key_text: c.formatRecoveryKey(recovery),
    recovery_key_parsed: c.toBase64(c.parseRecoveryKey(V.recovery.recovery_key_text.toLowerCase())),
    recovery_auth: c.toBase64(await c.deriveRecoveryAuth(recovery)),
    signing_public_key: published.signingPublicKey,
    agreement_public_key: published.agreementPublicKey,
    agreement_signed_bytes: c.toBase64(c.agreementSignedBytes(b(published.agreementPublicKey))),
    agreement_signature: published.agreementSignature,
    agreement_signature_verifies: await c.verifyAgreementKey(published.signingPublicKey,
        published.agreementPublicKey, published.agreementSignature),
    fingerprint: await c.fingerprint(published.signingPublicKey),
    bundle,
    unwrapped_account_key: await rawOf(unwrapped),
    unwrapped_by_recovery: await rawOf(unwrappedByRecovery),
    opened_bundle_signs: openedSigns,
    opened_keys_extractable: opened.signingPrivateKey.extractable || opened.agreementPrivateKey.extractable,
    other_owner_refused: otherOwnerRefused,
  };
}"""


def test_chromium_reproduces_every_account_crypto_vector(page: Page, live_daphne: Server) -> None:
    page.goto(live_daphne.url + "/")
    got: dict[str, Any] = page.evaluate(REPRODUCE, VECTORS)
    v = VECTORS
    identity = v["identity"]
    assert got["auth_key"] == v["password"]["auth_key"]
    assert got["aad"] == {
        "account_key_by_password": v["account_key_by_password"]["aad"],
        "account_key_by_recovery": v["account_key_by_recovery"]["aad"],
        "bundle": v["bundle"]["aad"],
    }
    assert got["account_key_by_password"] == {
        "iv": v["account_key_by_password"]["iv"],
        "ciphertext": v["account_key_by_password"]["ciphertext"],
    }
    assert got["account_key_by_recovery"] == {
        "iv": v["account_key_by_recovery"]["iv"],
        "ciphertext": v["account_key_by_recovery"]["ciphertext"],
    }
    assert got["recovery_key_text"] == v["recovery"]["recovery_key_text"]
    assert got["recovery_key_parsed"] == v["recovery"]["recovery_key"]
    assert got["recovery_auth"] == v["recovery"]["recovery_auth"]
    for name in ("signing_public_key", "agreement_public_key", "agreement_signed_bytes", "agreement_signature"):
        assert got[name] == identity[name], name
    assert got["agreement_signature_verifies"] is True
    assert got["fingerprint"] == identity["fingerprint"]
    assert got["bundle"] == {"iv": v["bundle"]["iv"], "ciphertext": v["bundle"]["ciphertext"]}
    assert got["unwrapped_account_key"] == v["account_key"]
    assert got["unwrapped_by_recovery"] == v["account_key"]
    assert got["opened_bundle_signs"] is True
    assert got["opened_keys_extractable"] is False
    assert got["other_owner_refused"] is True
