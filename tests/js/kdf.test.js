// @ts-check
import assert from "node:assert/strict";
import { test } from "node:test";

import { randomBytes, toBase32 } from "../../static/js/crypto/encoding.js";
import {
  deriveAuthKey,
  deriveMasterKey,
  deriveRecoveryAuth,
  deriveRecoveryWrapKey,
  deriveWrapKey,
  formatRecoveryKey,
  INFO_AUTH,
  INFO_RECOVERY_AUTH,
  INFO_RECOVERY_WRAP,
  INFO_WRAP,
  newRecoveryKey,
  parseRecoveryKey,
  PBKDF2_ITERATIONS,
  SALT_BYTES,
  usernameSalt,
} from "../../static/js/crypto/kdf.js";

const FAST = 1000; // tests only; production uses PBKDF2_ITERATIONS
const salt = Uint8Array.from({ length: 16 }, (_, i) => i);
const otherSalt = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);

/** @param {string} password @param {Uint8Array} s */
async function authKeyFor(password, s) {
  return deriveAuthKey(await deriveMasterKey(password, s, FAST));
}

/** Wrap keys are non-extractable, so compare them by what they encrypt. */
async function fingerprintOfAesKey(/** @type {CryptoKey} */ key) {
  const iv = new Uint8Array(12);
  return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array(32)));
}

test("constants match docs/ACCOUNTS.md, Key hierarchy", () => {
  assert.equal(PBKDF2_ITERATIONS, 600000);
  assert.equal(SALT_BYTES, 16);
  assert.equal(INFO_AUTH, "securechat/auth/v1");
  assert.equal(INFO_WRAP, "securechat/wrap/v1");
  assert.equal(INFO_RECOVERY_AUTH, "securechat/recovery-auth/v1");
  assert.equal(INFO_RECOVERY_WRAP, "securechat/recovery-wrap/v1");
});

test("deriveMasterKey defaults to 600 000 iterations", async () => {
  const byDefault = await deriveAuthKey(await deriveMasterKey("pw", salt));
  const explicit = await deriveAuthKey(await deriveMasterKey("pw", salt, 600000));
  assert.deepEqual(byDefault, explicit);
});

test("master key is a non-extractable HKDF key", async () => {
  const master = await deriveMasterKey("pw", salt, FAST);
  assert.equal(master.algorithm.name, "HKDF");
  assert.equal(master.extractable, false);
});

test("auth key is 32 bytes, deterministic for the same password and salt", async () => {
  const a = await authKeyFor("hunter2", salt);
  assert.equal(a.length, 32);
  assert.deepEqual(await authKeyFor("hunter2", salt), a);
});

test("auth key changes with the salt, the password, and the iteration count", async () => {
  const a = await authKeyFor("hunter2", salt);
  assert.notDeepEqual(await authKeyFor("hunter2", otherSalt), a);
  assert.notDeepEqual(await authKeyFor("hunter3", salt), a);
  assert.notDeepEqual(await deriveAuthKey(await deriveMasterKey("hunter2", salt, FAST + 1)), a);
});

test("wrap key is a non-extractable AES-256-GCM key that can wrap and unwrap", async () => {
  const wrap = await deriveWrapKey(await deriveMasterKey("pw", salt, FAST));
  assert.equal(wrap.extractable, false);
  assert.deepEqual(wrap.algorithm, { name: "AES-GCM", length: 256 });
  assert.deepEqual([...wrap.usages].sort(), ["decrypt", "encrypt", "unwrapKey", "wrapKey"]);
});

test("wrap key is deterministic, differs from the auth key, and changes with salt or password", async () => {
  const wrapOf = async (/** @type {string} */ pw, /** @type {Uint8Array} */ s) =>
    fingerprintOfAesKey(await deriveWrapKey(await deriveMasterKey(pw, s, FAST)));
  const w = await wrapOf("pw", salt);
  assert.deepEqual(await wrapOf("pw", salt), w);
  assert.notDeepEqual(await wrapOf("pw", otherSalt), w);
  assert.notDeepEqual(await wrapOf("pw2", salt), w);
  const authAsAes = await crypto.subtle.importKey("raw", await authKeyFor("pw", salt), "AES-GCM", false, ["encrypt"]);
  assert.notDeepEqual(await fingerprintOfAesKey(authAsAes), w, "auth key must not equal the wrap key");
});

test("deriveMasterKey rejects short salts and bad iteration counts", async () => {
  await assert.rejects(deriveMasterKey("pw", new Uint8Array(8), FAST), TypeError);
  await assert.rejects(deriveMasterKey("pw", salt, 0), RangeError);
  await assert.rejects(deriveMasterKey("pw", salt, 1.5), RangeError);
});

test("recovery key is 32 random bytes formatted as 13 dash-separated groups of 4", () => {
  const key = newRecoveryKey();
  assert.equal(key.length, 32);
  assert.notDeepEqual(newRecoveryKey(), key);
  const text = formatRecoveryKey(key);
  assert.match(text, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){12}$/);
  assert.equal(text.replaceAll("-", ""), toBase32(key));
});

test("parseRecoveryKey round-trips and forgives case, spaces and missing dashes", () => {
  const key = newRecoveryKey();
  const text = formatRecoveryKey(key);
  assert.deepEqual(parseRecoveryKey(text), key);
  assert.deepEqual(parseRecoveryKey(text.toLowerCase()), key);
  assert.deepEqual(parseRecoveryKey(` ${text.replaceAll("-", " ")} \n`), key);
  assert.deepEqual(parseRecoveryKey(text.replaceAll("-", "")), key);
});

test("parseRecoveryKey rejects wrong lengths and characters with a clear message", () => {
  const text = formatRecoveryKey(newRecoveryKey());
  assert.throws(() => parseRecoveryKey(text.slice(0, -1)), /must have 52 characters, got 51/);
  assert.throws(() => parseRecoveryKey(text + "A"), /must have 52 characters, got 53/);
  assert.throws(() => parseRecoveryKey(""), /must have 52 characters, got 0/);
  assert.throws(() => parseRecoveryKey("0" + text.slice(1)), /invalid character "0"/);
  assert.throws(() => parseRecoveryKey(text.slice(0, -1) + "!"), /invalid character "!"/);
  // The 52nd character carries 1 data bit and 4 zero bits; "B" sets a zero bit.
  assert.throws(() => parseRecoveryKey(text.slice(0, -1) + "B"), /last group/);
  assert.throws(() => formatRecoveryKey(new Uint8Array(16)), TypeError);
});

test("recovery auth and recovery wrap key are deterministic and independent of each other", async () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i);
  const auth = await deriveRecoveryAuth(key);
  assert.equal(auth.length, 32);
  assert.deepEqual(await deriveRecoveryAuth(key), auth);
  assert.notDeepEqual(await deriveRecoveryAuth(randomBytes(32)), auth);
  const wrap = await deriveRecoveryWrapKey(key);
  assert.equal(wrap.extractable, false);
  assert.deepEqual(wrap.algorithm, { name: "AES-GCM", length: 256 });
  assert.deepEqual(await fingerprintOfAesKey(await deriveRecoveryWrapKey(key)), await fingerprintOfAesKey(wrap));
  const authAsAes = await crypto.subtle.importKey("raw", auth, "AES-GCM", false, ["encrypt"]);
  assert.notDeepEqual(await fingerprintOfAesKey(authAsAes), await fingerprintOfAesKey(wrap));
});

test("a password typed composed or decomposed derives the same auth key", async () => {
  const composed = "caf\u00e9 au lait, s'il vous pla\u00eet";
  const decomposed = composed.normalize("NFD");
  assert.notEqual(composed, decomposed);
  assert.deepEqual(await authKeyFor(composed, salt), await authKeyFor(decomposed, salt));
});

test("the password salt is made from the username, in any case: a known answer the server's selector shares", async () => {
  const hex = (/** @type {Uint8Array} */ bytes) => Buffer.from(bytes).toString("hex");
  assert.equal(hex(await usernameSalt("Alice")), "0f0ea9d29caa11e42712c855b7f701c2");
  assert.equal(hex(await usernameSalt("alice")), hex(await usernameSalt("ALICE")));
  assert.notEqual(hex(await usernameSalt("alice")), hex(await usernameSalt("alice2")));
  assert.equal((await usernameSalt("bob")).length, SALT_BYTES);
});
