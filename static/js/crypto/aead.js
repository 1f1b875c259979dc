// @ts-check
// AES-256-GCM with a string AAD that names what the blob is and whose it is, so the server cannot
// swap one blob for another.

import { fromBase64, fromUtf8, randomBytes, toBase64, utf8 } from "./encoding.js";

export const IV_BYTES = 12;
const TAG_BYTES = 16;

const subtle = globalThis.crypto.subtle;

/** @typedef {{iv: string, ciphertext: string}} Sealed base64 IV and ciphertext‖tag */

/** A blob that is malformed or fails authentication: wrong key, wrong AAD, or tampered. */
export class IntegrityError extends Error {
  /**
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(message, options) {
    super(message, options);
    this.name = "IntegrityError";
  }
}

/**
 * @param {CryptoKey} key AES-GCM key with usage "encrypt"
 * @param {Uint8Array} plaintextBytes
 * @param {string} aadString
 * @param {{iv?: Uint8Array}} [options] `iv` is for known-answer vectors and tests ONLY:
 *   reusing an IV under one key breaks GCM. Production callers omit it and get 12 random bytes.
 * @returns {Promise<Sealed>}
 */
export async function seal(key, plaintextBytes, aadString, { iv = randomBytes(IV_BYTES) } = {}) {
  checkIv(iv);
  const ciphertext = await subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8(aadString) },
    key,
    plaintextBytes,
  );
  return { iv: toBase64(iv), ciphertext: toBase64(new Uint8Array(ciphertext)) };
}

/**
 * @param {CryptoKey} key AES-GCM key with usage "decrypt"
 * @param {Sealed} sealed
 * @param {string} aadString must equal the AAD used to seal
 * @returns {Promise<Uint8Array>}
 * @throws {IntegrityError} if the blob is malformed or does not authenticate
 */
export async function open(key, sealed, aadString) {
  const { iv, ciphertext } = decodeSealed(sealed, TAG_BYTES);
  try {
    const plaintext = await subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: utf8(aadString) },
      key,
      ciphertext,
    );
    return new Uint8Array(plaintext);
  } catch (error) {
    throw asIntegrityError(error);
  }
}

/**
 * @param {CryptoKey} key
 * @param {unknown} value JSON-serialisable
 * @param {string} aadString
 * @param {{iv?: Uint8Array}} [options] see seal: `iv` for vectors and tests only
 * @returns {Promise<Sealed>}
 */
export async function sealJson(key, value, aadString, options) {
  return seal(key, utf8(JSON.stringify(value)), aadString, options);
}

/**
 * @param {CryptoKey} key
 * @param {Sealed} sealed
 * @param {string} aadString
 * @returns {Promise<any>}
 * @throws {IntegrityError} if the blob does not authenticate
 */
export async function openJson(key, sealed, aadString) {
  return JSON.parse(fromUtf8(await open(key, sealed, aadString)));
}

/**
 * Decodes `{iv, ciphertext}`; any malformation is reported as an IntegrityError because, like a
 * bad tag, it means the stored blob cannot be trusted.
 * @param {Sealed} sealed
 * @param {number} minCiphertextBytes
 * @returns {{iv: Uint8Array, ciphertext: Uint8Array}}
 */
export function decodeSealed(sealed, minCiphertextBytes) {
  let iv;
  let ciphertext;
  try {
    iv = fromBase64(sealed.iv);
    ciphertext = fromBase64(sealed.ciphertext);
  } catch (error) {
    throw new IntegrityError("sealed blob is not valid base64", { cause: error });
  }
  if (iv.length !== IV_BYTES) throw new IntegrityError(`IV must be ${IV_BYTES} bytes`);
  if (ciphertext.length < minCiphertextBytes) throw new IntegrityError("ciphertext is too short");
  return { iv, ciphertext };
}

/**
 * WebCrypto reports a failed GCM tag as an OperationError; other errors (wrong key type or usage)
 * are programming mistakes and pass through unchanged.
 * @param {unknown} error
 * @returns {unknown}
 */
export function asIntegrityError(error) {
  if (error instanceof Error && error.name === "OperationError") {
    return new IntegrityError("decryption failed: wrong key, wrong AAD or tampered data", { cause: error });
  }
  return error;
}

/** @param {Uint8Array} iv */
export function checkIv(iv) {
  if (!(iv instanceof Uint8Array) || iv.length !== IV_BYTES) {
    throw new TypeError(`iv must be a Uint8Array of ${IV_BYTES} bytes`);
  }
}
