// @ts-check
// Safety numbers (docs/TRUST.md, "Safety numbers"): Signal-style 60 digits from two identities, the same on both
// sides, compared out of band. Each user contributes 30 digits derived from their signing key and
// lower-cased username by 5200 rounds of SHA-512, which makes finding a colliding key expensive.
// Mirrored by tests/vectors/safety-v1.json and accounts/tests/test_safety_number_vectors.py.

import { concatBytes, fromBase64, utf8 } from "./encoding.js";

/** Format version, hashed first as a big-endian u16. */
export const SAFETY_NUMBER_VERSION = 0;
export const SAFETY_NUMBER_ITERATIONS = 5200;

const subtle = globalThis.crypto.subtle;
const PUBLIC_KEY_BYTES = 32;
const DIGEST_BYTES = 64;
const CHUNKS = 6;
const CHUNK_BYTES = 5;
const CHUNK_DIGITS = 5;

/**
 * @param {string} signingPublicKeyB64 base64 of the 32-byte Ed25519 public key
 * @param {string} username compared without regard to case
 * @returns {Promise<string>} 30 decimal digits
 * @throws {TypeError} on a key that is not 32 bytes of canonical base64, or an empty username
 */
export async function userFingerprintDigits(signingPublicKeyB64, username) {
  const key = signingKeyBytes(signingPublicKeyB64);
  if (typeof username !== "string" || username.length === 0) {
    throw new TypeError("a safety number needs a non-empty username");
  }
  const version = Uint8Array.of(SAFETY_NUMBER_VERSION >> 8, SAFETY_NUMBER_VERSION & 0xff);
  let hash = new Uint8Array(await subtle.digest("SHA-512", concatBytes(version, key, utf8(username.toLowerCase()))));
  // h ‖ key in one buffer: only the first 64 bytes change between rounds. Each digest is awaited
  // before the buffer is touched again.
  const input = new Uint8Array(DIGEST_BYTES + PUBLIC_KEY_BYTES);
  input.set(key, DIGEST_BYTES);
  for (let i = 0; i < SAFETY_NUMBER_ITERATIONS; i++) {
    input.set(hash, 0);
    hash = new Uint8Array(await subtle.digest("SHA-512", input));
  }
  let digits = "";
  for (let c = 0; c < CHUNKS; c++) {
    // 40-bit big-endian integer: exact in a double (< 2^53), so no BigInt needed.
    let value = 0;
    for (let b = 0; b < CHUNK_BYTES; b++) value = value * 256 + hash[c * CHUNK_BYTES + b];
    digits += String(value % 100000).padStart(CHUNK_DIGITS, "0");
  }
  return digits;
}

/**
 * @typedef {{username: string, signingPublicKey: string}} SafetyParty signingPublicKey in base64
 */

/**
 * @param {SafetyParty} a
 * @param {SafetyParty} b
 * @returns {Promise<string>} 60 digits; argument order does not matter
 */
export async function safetyNumber(a, b) {
  const [x, y] = await Promise.all([
    userFingerprintDigits(a.signingPublicKey, a.username),
    userFingerprintDigits(b.signingPublicKey, b.username),
  ]);
  return x <= y ? x + y : y + x;
}

/**
 * @param {string} digits 60 digits from safetyNumber
 * @returns {string[]} 12 groups of 5 digits, in order
 * @throws {TypeError} on anything but exactly 60 ASCII digits
 */
export function formatSafetyNumber(digits) {
  if (typeof digits !== "string" || !/^[0-9]{60}$/.test(digits)) {
    throw new TypeError("a safety number is exactly 60 digits");
  }
  return /** @type {string[]} */ (digits.match(/[0-9]{5}/g));
}

/**
 * @param {string} b64
 * @returns {Uint8Array}
 */
function signingKeyBytes(b64) {
  let raw;
  try {
    raw = fromBase64(b64);
  } catch (error) {
    throw new TypeError("signing public key is not valid base64", { cause: error });
  }
  if (raw.length !== PUBLIC_KEY_BYTES) throw new TypeError(`signing public key must be ${PUBLIC_KEY_BYTES} bytes`);
  return raw;
}
