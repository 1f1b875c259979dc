// @ts-check
// Long-term identity: an Ed25519 signing pair and an X25519 agreement pair whose public half is
// signed, so a directory server cannot substitute its own agreement key.

import { openJson, sealJson } from "./aead.js";
import { concatBytes, fromBase64, toBase64, toHex, utf8 } from "./encoding.js";
import { aadBundle, LABEL_AGREEMENT_KEY, LABEL_FINGERPRINT } from "./labels.js";

const subtle = globalThis.crypto.subtle;
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const FINGERPRINT_BYTES = 16;
const BUNDLE_VERSION = 1;

/**
 * @typedef {{signing: CryptoKeyPair, agreement: CryptoKeyPair}} Identity
 * @typedef {{signingPublicKey: string, agreementPublicKey: string, agreementSignature: string}} PublicKeys
 * @typedef {{signingPrivateKey: CryptoKey, agreementPrivateKey: CryptoKey}} PrivateKeys
 */

/**
 * Extractable so the private halves can be sealed into the bundle once, at sign-up.
 * @returns {Promise<Identity>}
 */
export async function generateIdentity() {
  const signing = /** @type {CryptoKeyPair} */ (
    await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])
  );
  const agreement = /** @type {CryptoKeyPair} */ (
    await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])
  );
  return { signing, agreement };
}

/**
 * @param {Uint8Array} agreementPubRaw 32-byte X25519 public key
 * @returns {Uint8Array} the exact bytes the signing key signs
 */
export function agreementSignedBytes(agreementPubRaw) {
  if (!(agreementPubRaw instanceof Uint8Array) || agreementPubRaw.length !== PUBLIC_KEY_BYTES) {
    throw new TypeError(`agreement public key must be ${PUBLIC_KEY_BYTES} bytes`);
  }
  return concatBytes(utf8(LABEL_AGREEMENT_KEY), agreementPubRaw);
}

/**
 * @param {Identity} identity
 * @returns {Promise<PublicKeys>} what the key directory publishes (base64)
 */
export async function publicKeys(identity) {
  const signingRaw = new Uint8Array(await subtle.exportKey("raw", identity.signing.publicKey));
  const agreementRaw = new Uint8Array(await subtle.exportKey("raw", identity.agreement.publicKey));
  const signature = await subtle.sign(
    { name: "Ed25519" },
    identity.signing.privateKey,
    agreementSignedBytes(agreementRaw),
  );
  return {
    signingPublicKey: toBase64(signingRaw),
    agreementPublicKey: toBase64(agreementRaw),
    agreementSignature: toBase64(new Uint8Array(signature)),
  };
}

/**
 * Directory data is untrusted, so malformed input is a failed check, not an exception.
 * @param {string} signingPubB64
 * @param {string} agreementPubB64
 * @param {string} signatureB64
 * @returns {Promise<boolean>}
 */
export async function verifyAgreementKey(signingPubB64, agreementPubB64, signatureB64) {
  try {
    const signingRaw = fromBase64(signingPubB64);
    const agreementRaw = fromBase64(agreementPubB64);
    const signature = fromBase64(signatureB64);
    if (signingRaw.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
    const signingKey = await subtle.importKey("raw", signingRaw, { name: "Ed25519" }, false, ["verify"]);
    return await subtle.verify({ name: "Ed25519" }, signingKey, signature, agreementSignedBytes(agreementRaw));
  } catch {
    return false;
  }
}

/**
 * @param {string} signingPubB64 base64 of the 32-byte Ed25519 public key
 * @returns {Promise<string>} e.g. "1a2b 3c4d 5e6f 7081 92a3 b4c5 d6e7 f809" (first 16 bytes of the hash)
 */
export async function fingerprint(signingPubB64) {
  const signingRaw = fromBase64(signingPubB64);
  if (signingRaw.length !== PUBLIC_KEY_BYTES) {
    throw new TypeError(`signing public key must be ${PUBLIC_KEY_BYTES} bytes`);
  }
  const digest = await subtle.digest("SHA-256", concatBytes(utf8(LABEL_FINGERPRINT), signingRaw));
  const hex = toHex(new Uint8Array(digest).subarray(0, FINGERPRINT_BYTES));
  return /** @type {string[]} */ (hex.match(/.{4}/g)).join(" ");
}

/**
 * Seals both private keys (PKCS#8) under the account key, bound to the owner by the AAD.
 * @param {CryptoKey} accountKey
 * @param {Identity} identity extractable private keys
 * @param {string} username
 * @param {{iv?: Uint8Array}} [options] `iv` for known-answer vectors and tests ONLY
 * @returns {Promise<{iv: string, ciphertext: string}>}
 */
export async function sealBundle(accountKey, identity, username, options) {
  const signing = new Uint8Array(await subtle.exportKey("pkcs8", identity.signing.privateKey));
  const agreement = new Uint8Array(await subtle.exportKey("pkcs8", identity.agreement.privateKey));
  const bundle = { v: BUNDLE_VERSION, signing: toBase64(signing), agreement: toBase64(agreement) };
  return sealJson(accountKey, bundle, aadBundle(username), options);
}

/**
 * @param {CryptoKey} accountKey
 * @param {{iv: string, ciphertext: string}} sealed
 * @param {string} username
 * @returns {Promise<PrivateKeys>} non-extractable: Ed25519 ["sign"], X25519 ["deriveBits"]
 * @throws {import("./aead.js").IntegrityError} wrong account key, other user's bundle, or tampering
 */
export async function openBundle(accountKey, sealed, username) {
  const bundle = await openJson(accountKey, sealed, aadBundle(username));
  if (bundle?.v !== BUNDLE_VERSION) throw new Error(`unsupported key bundle version ${bundle?.v}`);
  const signingPrivateKey = await subtle.importKey(
    "pkcs8",
    fromBase64(bundle.signing),
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  const agreementPrivateKey = await subtle.importKey(
    "pkcs8",
    fromBase64(bundle.agreement),
    { name: "X25519" },
    false,
    ["deriveBits"],
  );
  return { signingPrivateKey, agreementPrivateKey };
}
