// @ts-check
import assert from "node:assert/strict";
import { test } from "node:test";

import { generateAccountKey, unwrapAccountKey, wrapAccountKey } from "../../static/js/crypto/accountkey.js";
import { IntegrityError } from "../../static/js/crypto/aead.js";
import { fromBase64, toBase64, utf8 } from "../../static/js/crypto/encoding.js";
import { deriveMasterKey, deriveRecoveryWrapKey, deriveWrapKey, newRecoveryKey } from "../../static/js/crypto/kdf.js";
import { aadAccountKeyByPassword, aadAccountKeyByRecovery, aadBundle } from "../../static/js/crypto/labels.js";

const salt = Uint8Array.from({ length: 16 }, (_, i) => i);
const wrapKeyFor = async (/** @type {string} */ pw) => deriveWrapKey(await deriveMasterKey(pw, salt, 1000));

/** The same key encrypts the same way: compare keys without extracting them. */
async function sameKey(/** @type {CryptoKey} */ a, /** @type {CryptoKey} */ b) {
  const iv = new Uint8Array(12);
  const ea = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, a, new Uint8Array(16)));
  const eb = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, b, new Uint8Array(16)));
  return toBase64(ea) === toBase64(eb);
}

/** @param {string} b64 @param {number} index */
function flipBit(b64, index) {
  const bytes = fromBase64(b64);
  bytes[index] ^= 0x80;
  return toBase64(bytes);
}

test("AAD helpers name the blob and the lower-cased owner", () => {
  assert.equal(aadAccountKeyByPassword("Alice"), "securechat/account-key/password/v1|alice");
  assert.equal(aadAccountKeyByRecovery("ALICE"), "securechat/account-key/recovery/v1|alice");
  assert.equal(aadBundle("alice"), "securechat/bundle/v1|alice");
  assert.throws(() => aadBundle(""), TypeError);
});

test("generateAccountKey makes an extractable AES-256-GCM key", async () => {
  const key = await generateAccountKey();
  assert.equal(key.extractable, true);
  assert.deepEqual(key.algorithm, { name: "AES-GCM", length: 256 });
});

test("account key wrapped by the password round-trips, non-extractable by default", async () => {
  const wrapKey = await wrapKeyFor("pw");
  const accountKey = await generateAccountKey();
  const wrapped = await wrapAccountKey(wrapKey, accountKey, aadAccountKeyByPassword("alice"));
  assert.equal(fromBase64(wrapped.iv).length, 12);
  assert.equal(fromBase64(wrapped.ciphertext).length, 48);
  const unwrapped = await unwrapAccountKey(wrapKey, wrapped, aadAccountKeyByPassword("alice"));
  assert.equal(unwrapped.extractable, false);
  assert.deepEqual([...unwrapped.usages].sort(), ["decrypt", "encrypt"]);
  assert.ok(await sameKey(unwrapped, accountKey));
  await assert.rejects(crypto.subtle.exportKey("raw", unwrapped));
});

test("unwrap with extractable: true allows re-wrapping for a password change", async () => {
  const accountKey = await generateAccountKey();
  const oldWrap = await wrapKeyFor("old");
  const aad = aadAccountKeyByPassword("alice");
  const unwrapped = await unwrapAccountKey(oldWrap, await wrapAccountKey(oldWrap, accountKey, aad), aad, {
    extractable: true,
  });
  const newWrap = await wrapKeyFor("new");
  const rewrapped = await wrapAccountKey(newWrap, unwrapped, aad);
  assert.ok(await sameKey(await unwrapAccountKey(newWrap, rewrapped, aad), accountKey));
});

test("account key wrapped by the recovery key round-trips", async () => {
  const recoveryWrap = await deriveRecoveryWrapKey(newRecoveryKey());
  const accountKey = await generateAccountKey();
  const aad = aadAccountKeyByRecovery("alice");
  const wrapped = await wrapAccountKey(recoveryWrap, accountKey, aad);
  assert.ok(await sameKey(await unwrapAccountKey(recoveryWrap, wrapped, aad), accountKey));
});

test("unwrap throws IntegrityError for a wrong password, another user, the other slot, or a flipped bit", async () => {
  const wrapKey = await wrapKeyFor("right password");
  const aad = aadAccountKeyByPassword("alice");
  const wrapped = await wrapAccountKey(wrapKey, await generateAccountKey(), aad);
  const attempts = {
    "wrong password": async () => unwrapAccountKey(await wrapKeyFor("wrong password"), wrapped, aad),
    "another username": async () => unwrapAccountKey(wrapKey, wrapped, aadAccountKeyByPassword("bob")),
    "recovery slot aad": async () => unwrapAccountKey(wrapKey, wrapped, aadAccountKeyByRecovery("alice")),
    "flipped ciphertext bit": async () =>
      unwrapAccountKey(wrapKey, { ...wrapped, ciphertext: flipBit(wrapped.ciphertext, 5) }, aad),
    "flipped tag bit": async () =>
      unwrapAccountKey(wrapKey, { ...wrapped, ciphertext: flipBit(wrapped.ciphertext, 47) }, aad),
    "flipped iv bit": async () => unwrapAccountKey(wrapKey, { ...wrapped, iv: flipBit(wrapped.iv, 11) }, aad),
    "wrong length": async () => unwrapAccountKey(wrapKey, { ...wrapped, ciphertext: toBase64(new Uint8Array(40)) }, aad),
  };
  for (const [name, attempt] of Object.entries(attempts)) {
    await assert.rejects(attempt, (error) => {
      assert.equal(/** @type {Error} */ (error).name, "IntegrityError", name);
      assert.ok(error instanceof IntegrityError, name);
      return true;
    });
  }
});

test("wrapAccountKey takes a fixed IV only when asked (vectors) and makes fresh IVs otherwise", async () => {
  const wrapKey = await wrapKeyFor("pw");
  const accountKey = await generateAccountKey();
  const aad = aadAccountKeyByPassword("alice");
  const a = await wrapAccountKey(wrapKey, accountKey, aad);
  const b = await wrapAccountKey(wrapKey, accountKey, aad);
  assert.notEqual(a.iv, b.iv);
  const iv = utf8("twelve bytes");
  assert.equal((await wrapAccountKey(wrapKey, accountKey, aad, { iv })).iv, toBase64(iv));
});
