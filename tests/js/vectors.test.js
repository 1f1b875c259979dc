// @ts-check
// The browser modules must reproduce tests/vectors/accounts-v1.json byte for byte; the same file is
// checked by the Python `cryptography` package in accounts/tests/test_crypto_vectors.py.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  aadAccountKeyByPassword,
  aadAccountKeyByRecovery,
  aadBundle,
  agreementSignedBytes,
  deriveAuthKey,
  deriveMasterKey,
  deriveRecoveryAuth,
  deriveRecoveryWrapKey,
  deriveWrapKey,
  fingerprint,
  formatRecoveryKey,
  fromBase64,
  openBundle,
  parseRecoveryKey,
  publicKeys,
  toBase64,
  unwrapAccountKey,
  wrapAccountKey,
} from "../../static/js/crypto/index.js";
import { keyPairFromSeed, makeVectors } from "../vectors/make_accounts_vectors.mjs";

const V = JSON.parse(readFileSync(new URL("../vectors/accounts-v1.json", import.meta.url), "utf8"));
const subtle = globalThis.crypto.subtle;

const masterKey = () => deriveMasterKey(V.password.password, fromBase64(V.password.salt), V.password.iterations);
const accountKey = () => subtle.importKey("raw", fromBase64(V.account_key), "AES-GCM", true, ["encrypt", "decrypt"]);

/** @param {CryptoKey} key */
async function rawOf(key) {
  return toBase64(new Uint8Array(await subtle.exportKey("raw", key)));
}

test("regenerating the vectors from the modules gives the committed JSON exactly", async () => {
  assert.deepEqual(await makeVectors(), V);
});

test("auth key matches the vector", async () => {
  assert.equal(toBase64(await deriveAuthKey(await masterKey())), V.password.auth_key);
});

test("AAD strings match the vector", () => {
  assert.equal(aadAccountKeyByPassword(V.username), V.account_key_by_password.aad);
  assert.equal(aadAccountKeyByRecovery(V.username), V.account_key_by_recovery.aad);
  assert.equal(aadBundle(V.username), V.bundle.aad);
});

test("account key wrapped by the password-derived wrap key matches and unwraps", async () => {
  const wrapKey = await deriveWrapKey(await masterKey());
  const { aad, iv, ciphertext } = V.account_key_by_password;
  const wrapped = await wrapAccountKey(wrapKey, await accountKey(), aad, { iv: fromBase64(iv) });
  assert.deepEqual(wrapped, { iv, ciphertext });
  assert.equal(await rawOf(await unwrapAccountKey(wrapKey, wrapped, aad, { extractable: true })), V.account_key);
});

test("recovery key text and recovery auth match the vector", async () => {
  const recovery = fromBase64(V.recovery.recovery_key);
  assert.equal(formatRecoveryKey(recovery), V.recovery.recovery_key_text);
  assert.deepEqual(parseRecoveryKey(V.recovery.recovery_key_text), recovery);
  assert.equal(toBase64(await deriveRecoveryAuth(recovery)), V.recovery.recovery_auth);
});

test("account key wrapped by the recovery wrap key matches and unwraps", async () => {
  const wrapKey = await deriveRecoveryWrapKey(fromBase64(V.recovery.recovery_key));
  const { aad, iv, ciphertext } = V.account_key_by_recovery;
  const wrapped = await wrapAccountKey(wrapKey, await accountKey(), aad, { iv: fromBase64(iv) });
  assert.deepEqual(wrapped, { iv, ciphertext });
  assert.equal(await rawOf(await unwrapAccountKey(wrapKey, wrapped, aad, { extractable: true })), V.account_key);
});

test("identity public keys, agreement signature and fingerprint match the vector", async () => {
  const identity = {
    signing: await keyPairFromSeed("Ed25519", fromBase64(V.identity.signing_seed)),
    agreement: await keyPairFromSeed("X25519", fromBase64(V.identity.agreement_seed)),
  };
  const pub = await publicKeys(identity);
  assert.equal(pub.signingPublicKey, V.identity.signing_public_key);
  assert.equal(pub.agreementPublicKey, V.identity.agreement_public_key);
  assert.equal(pub.agreementSignature, V.identity.agreement_signature);
  assert.equal(
    toBase64(agreementSignedBytes(fromBase64(V.identity.agreement_public_key))),
    V.identity.agreement_signed_bytes,
  );
  assert.equal(await fingerprint(V.identity.signing_public_key), V.identity.fingerprint);
});

test("the vector bundle opens to keys matching the vector's public keys", async () => {
  const opened = await openBundle(await accountKey(), V.bundle, V.username);
  const message = new TextEncoder().encode("vector");
  const signature = await subtle.sign("Ed25519", opened.signingPrivateKey, message);
  const signingPublic = await subtle.importKey("raw", fromBase64(V.identity.signing_public_key), "Ed25519", false, [
    "verify",
  ]);
  assert.ok(await subtle.verify("Ed25519", signingPublic, signature, message));
  // X25519 with the base point u = 9 yields the public key.
  const basePoint = new Uint8Array(32);
  basePoint[0] = 9;
  const base = await subtle.importKey("raw", basePoint, { name: "X25519" }, false, []);
  const derived = await subtle.deriveBits({ name: "X25519", public: base }, opened.agreementPrivateKey, 256);
  assert.equal(toBase64(new Uint8Array(derived)), V.identity.agreement_public_key);
});
