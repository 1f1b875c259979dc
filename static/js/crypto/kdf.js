// @ts-check
// Password and recovery-key derivations (docs/ACCOUNTS.md, "Key hierarchy"). The master key never leaves WebCrypto:
// only the auth key (32 bytes) is ever sent to the server.

import { fromBase32, randomBytes, toBase32, utf8 } from "./encoding.js";
import { INFO_AUTH, INFO_RECOVERY_AUTH, INFO_RECOVERY_WRAP, INFO_WRAP, LABEL_KDF_SALT } from "./labels.js";

export { INFO_AUTH, INFO_RECOVERY_AUTH, INFO_RECOVERY_WRAP, INFO_WRAP } from "./labels.js";

export const PBKDF2_ITERATIONS = 600000;
export const SALT_BYTES = 16;
export const RECOVERY_KEY_BYTES = 32;

const subtle = globalThis.crypto.subtle;
const EMPTY_SALT = new Uint8Array(0);
const AES_GCM_256 = { name: "AES-GCM", length: 256 };
const WRAP_KEY_USAGES = /** @type {KeyUsage[]} */ (["encrypt", "decrypt", "wrapKey", "unwrapKey"]);

/**
 * PBKDF2-HMAC-SHA256 → 32 bytes → non-extractable HKDF base key.
 *
 * At 600 000 iterations: ~0.15 s in headless Chromium and in Node on the dev machine,
 * up to ~1 s on slow phones. WebCrypto runs it as one opaque call, so no progress callback is
 * possible: show an indeterminate spinner instead.
 *
 * `iterations` comes from the server's pre-login answer; the login flow must refuse values below
 * PBKDF2_ITERATIONS, or a hostile server could ask for 1 and brute-force the password from the
 * auth key. Lower counts are accepted here only so tests and vectors run fast.
 *
 * @param {string} password NFC-normalised, then UTF-8: the same password typed on any keyboard or
 *   system derives the same key
 * @param {Uint8Array} saltBytes at least SALT_BYTES bytes
 * @param {number} [iterations]
 * @returns {Promise<CryptoKey>} HKDF key, usages deriveBits/deriveKey
 */
export async function deriveMasterKey(password, saltBytes, iterations = PBKDF2_ITERATIONS) {
  if (typeof password !== "string") throw new TypeError("password must be a string");
  if (!(saltBytes instanceof Uint8Array) || saltBytes.length < SALT_BYTES) {
    throw new TypeError(`salt must be a Uint8Array of at least ${SALT_BYTES} bytes`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new RangeError("iterations must be a positive integer");
  }
  const normalized = utf8(password.normalize("NFC"));
  const passwordKey = await subtle.importKey("raw", normalized, "PBKDF2", false, ["deriveBits"]);
  const bits = await subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: saltBytes, iterations },
    passwordKey,
    256,
  );
  return subtle.importKey("raw", bits, "HKDF", false, ["deriveBits", "deriveKey"]);
}

/**
 * The password KDF's salt, made here from the username: never the server's choice, which could hand every account
 * one salt and test each password guess against all of them at once. Unique per account (usernames are, without
 * regard to case), and the same in every browser.
 * @param {string} username
 * @returns {Promise<Uint8Array>} SALT_BYTES bytes: the first of SHA-256(LABEL_KDF_SALT + username in lower case)
 */
export async function usernameSalt(username) {
  if (typeof username !== "string" || username.length === 0) throw new TypeError("the salt needs a username");
  const digest = await subtle.digest("SHA-256", utf8(LABEL_KDF_SALT + username.toLowerCase()));
  return new Uint8Array(digest).subarray(0, SALT_BYTES);
}

/**
 * @param {CryptoKey} masterKey from deriveMasterKey
 * @returns {Promise<Uint8Array>} 32-byte auth key, sent to the server instead of the password
 */
export async function deriveAuthKey(masterKey) {
  return hkdfBytes(masterKey, INFO_AUTH);
}

/**
 * @param {CryptoKey} masterKey from deriveMasterKey
 * @returns {Promise<CryptoKey>} non-extractable AES-256-GCM key that wraps the account key
 */
export async function deriveWrapKey(masterKey) {
  return hkdfAesKey(masterKey, INFO_WRAP);
}

/**
 * @returns {Uint8Array} 32 fresh random bytes, shown once to the user via formatRecoveryKey
 */
export function newRecoveryKey() {
  return randomBytes(RECOVERY_KEY_BYTES);
}

/**
 * @param {Uint8Array} bytes 32 recovery-key bytes
 * @returns {string} upper-case base32 in dash-separated groups of 4 (13 groups, 52 characters)
 */
export function formatRecoveryKey(bytes) {
  checkRecoveryBytes(bytes);
  return /** @type {string[]} */ (toBase32(bytes).match(/.{1,4}/g)).join("-");
}

/**
 * Accepts what a user types back: any case, spaces or dashes anywhere.
 * @param {string} text
 * @returns {Uint8Array} 32 recovery-key bytes
 * @throws {Error} with a message fit to show the user
 */
export function parseRecoveryKey(text) {
  const clean = String(text).replace(/[\s-]/g, "");
  const expected = Math.ceil((RECOVERY_KEY_BYTES * 8) / 5);
  const bad = clean.toUpperCase().match(/[^A-Z2-7]/);
  if (bad) {
    throw new Error(`Recovery key contains an invalid character "${bad[0]}" (use letters A–Z and digits 2–7).`);
  }
  if (clean.length !== expected) {
    throw new Error(`Recovery key must have ${expected} characters, got ${clean.length}.`);
  }
  try {
    return fromBase32(clean);
  } catch {
    // Only the last character can still be wrong here (its unused low bits must be zero).
    throw new Error("Recovery key is not valid: check the last group.");
  }
}

/**
 * @param {Uint8Array} recoveryBytes
 * @returns {Promise<Uint8Array>} 32 bytes the server hashes to check a recovery attempt
 */
export async function deriveRecoveryAuth(recoveryBytes) {
  return hkdfBytes(await recoveryBaseKey(recoveryBytes), INFO_RECOVERY_AUTH);
}

/**
 * @param {Uint8Array} recoveryBytes
 * @returns {Promise<CryptoKey>} non-extractable AES-256-GCM key that wraps the account key
 */
export async function deriveRecoveryWrapKey(recoveryBytes) {
  return hkdfAesKey(await recoveryBaseKey(recoveryBytes), INFO_RECOVERY_WRAP);
}

/** @param {Uint8Array} bytes */
function checkRecoveryBytes(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== RECOVERY_KEY_BYTES) {
    throw new TypeError(`recovery key must be ${RECOVERY_KEY_BYTES} bytes`);
  }
}

/** @param {Uint8Array} recoveryBytes */
async function recoveryBaseKey(recoveryBytes) {
  checkRecoveryBytes(recoveryBytes);
  return subtle.importKey("raw", recoveryBytes, "HKDF", false, ["deriveBits", "deriveKey"]);
}

/**
 * @param {CryptoKey} baseKey
 * @param {string} info
 */
async function hkdfBytes(baseKey, info) {
  const bits = await subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: EMPTY_SALT, info: utf8(info) },
    baseKey,
    256,
  );
  return new Uint8Array(bits);
}

/**
 * @param {CryptoKey} baseKey
 * @param {string} info
 */
async function hkdfAesKey(baseKey, info) {
  return subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: EMPTY_SALT, info: utf8(info) },
    baseKey,
    AES_GCM_256,
    false,
    WRAP_KEY_USAGES,
  );
}
