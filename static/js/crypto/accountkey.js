// @ts-check
// The account key is the one random AES key everything else hangs from; the server stores it only
// wrapped (by the password wrap key and by the recovery wrap key), so a password change re-wraps
// just these 48 bytes.

import { asIntegrityError, checkIv, decodeSealed, IntegrityError, IV_BYTES } from "./aead.js";
import { randomBytes, toBase64, utf8 } from "./encoding.js";

const subtle = globalThis.crypto.subtle;
const WRAPPED_ACCOUNT_KEY_BYTES = 32 + 16;
const ACCOUNT_KEY_USAGES = /** @type {KeyUsage[]} */ (["encrypt", "decrypt"]);

/**
 * Extractable only so it can be wrapped; keep unwrapped copies non-extractable (unwrapAccountKey).
 * @returns {Promise<CryptoKey>} fresh AES-256-GCM key
 */
export async function generateAccountKey() {
  return subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ACCOUNT_KEY_USAGES);
}

/**
 * @param {CryptoKey} wrapKey AES-GCM key with usage "wrapKey" (deriveWrapKey / deriveRecoveryWrapKey)
 * @param {CryptoKey} accountKey extractable AES-256-GCM key
 * @param {string} aad aadAccountKeyByPassword(username) or aadAccountKeyByRecovery(username)
 * @param {{iv?: Uint8Array}} [options] `iv` is for known-answer vectors and tests ONLY;
 *   production callers omit it and get 12 random bytes.
 * @returns {Promise<{iv: string, ciphertext: string}>} base64; ciphertext is 48 bytes (key ‖ tag)
 */
export async function wrapAccountKey(wrapKey, accountKey, aad, { iv = randomBytes(IV_BYTES) } = {}) {
  checkIv(iv);
  const wrapped = await subtle.wrapKey("raw", accountKey, wrapKey, {
    name: "AES-GCM",
    iv,
    additionalData: utf8(aad),
  });
  return { iv: toBase64(iv), ciphertext: toBase64(new Uint8Array(wrapped)) };
}

/**
 * @param {CryptoKey} wrapKey AES-GCM key with usage "unwrapKey"
 * @param {{iv: string, ciphertext: string}} wrapped as stored by the server
 * @param {string} aad must equal the AAD used to wrap
 * @param {{extractable?: boolean}} [options] extractable only to re-wrap (password change)
 * @returns {Promise<CryptoKey>} AES-256-GCM key, usages encrypt/decrypt
 * @throws {IntegrityError} wrong key, wrong AAD, tampered or malformed blob
 */
export async function unwrapAccountKey(wrapKey, wrapped, aad, { extractable = false } = {}) {
  const { iv, ciphertext } = decodeSealed(wrapped, WRAPPED_ACCOUNT_KEY_BYTES);
  if (ciphertext.length !== WRAPPED_ACCOUNT_KEY_BYTES) {
    throw new IntegrityError(`wrapped account key must be ${WRAPPED_ACCOUNT_KEY_BYTES} bytes`);
  }
  try {
    return await subtle.unwrapKey(
      "raw",
      ciphertext,
      wrapKey,
      { name: "AES-GCM", iv, additionalData: utf8(aad) },
      { name: "AES-GCM", length: 256 },
      extractable,
      ACCOUNT_KEY_USAGES,
    );
  } catch (error) {
    throw asIntegrityError(error);
  }
}
