// @ts-check
// Encrypt once, wrap the key for each member: a fresh AES-256-GCM content key, one ephemeral X25519 pair, and
// per member an AES-KW wrap under HKDF(X25519(eph, member), salt = eph_pub, info). Envelopes (envelope.js) and a
// room's sealed name (meta.js) are both made this way; each names its own HKDF info and associated data.
// AES-GCM does not commit to its key: a sender could wrap two keys under which one ciphertext decrypts to two texts.
// A v3 envelope therefore signs the key's commitment (HKDF of the key, `keyCommitment`), and a member checks the key
// they unwrapped against it before decrypting.

import { checkIv, IV_BYTES } from "./aead.js";
import { fromBase64, randomBytes, utf8 } from "./encoding.js";

const subtle = globalThis.crypto.subtle;
export const KEY_BYTES = 32;
export const WRAP_BYTES = 40;
// chat/protocol.py MAX_MEMBERS: a room has at most this many members, so a sealed blob at most this many wraps.
export const MAX_MEMBERS = 256;
const AES_GCM_256 = { name: "AES-GCM", length: 256 };
const AES_KW_256 = { name: "AES-KW", length: 256 };
const CONTENT_KEY_USAGES = /** @type {KeyUsage[]} */ (["encrypt", "decrypt"]);
const KEY_COMMIT_BITS = 256;
const NO_SALT = new Uint8Array(0);

/** The content key a member unwrapped is not the one the sender committed to. */
export class KeyCommitError extends Error {
  constructor() {
    super("the content key does not match its commitment");
    this.name = "KeyCommitError";
  }
}

/**
 * @typedef {{id: number, agreementPublicKey: string}} Recipient base64 raw X25519 key
 * @typedef {{ephemeralPrivateKey?: CryptoKey, contentKeyBytes?: Uint8Array, iv?: Uint8Array}} TestOnly for
 *   known-answer vectors and tests ONLY: a fixed ephemeral key (extractable X25519), content key or IV makes
 *   blobs linkable and reuses GCM nonces. Production callers omit it and get fresh random values.
 * @typedef {{ephPub: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, ids: number[], wraps: Uint8Array[],
 *   contentKey: CryptoKey, keyCommit: Uint8Array | null}} SealedForMembers `ids` ascending, `wraps[i]` is the wrap
 *   for `ids[i]`; `contentKey` stays in the browser (a link wrap re-wraps it); `keyCommit`: the key's commitment,
 *   when one was asked for
 * @typedef {Uint8Array | ((keyCommit: Uint8Array) => Uint8Array)} Aad the associated data, or (for a header that
 *   carries the key's commitment) how to make it from the commitment
 */

/**
 * @param {{plaintext: Uint8Array, aad: Aad, recipients: Recipient[], info: (id: number) => string,
 *   commitInfo?: string}} what `commitInfo`: the HKDF info of the key's commitment, which `aad` then receives
 * @param {TestOnly} [testOnly]
 * @returns {Promise<SealedForMembers>}
 * @throws {TypeError} no recipients or more than MAX_MEMBERS, duplicate or invalid ids, or a bad agreement key
 */
export async function sealForMembers({ plaintext, aad, recipients, info, commitInfo }, testOnly = {}) {
  const members = checkRecipients(recipients);
  const { ephemeralPrivateKey, contentKeyBytes, iv = randomBytes(IV_BYTES) } = testOnly;
  checkIv(iv);
  const contentKey = contentKeyBytes
    ? await importContentKey(contentKeyBytes)
    : await subtle.generateKey(AES_GCM_256, true, CONTENT_KEY_USAGES);
  let keyCommit = null;
  if (commitInfo !== undefined) {
    const material = await subtle.importKey("raw", await subtle.exportKey("raw", contentKey), "HKDF", false, ["deriveBits"]);
    keyCommit = await keyCommitment(material, commitInfo);
  }
  if (typeof aad === "function") {
    if (!keyCommit) throw new TypeError("associated data made from a commitment needs commitInfo");
    aad = aad(keyCommit);
  }
  const ciphertext = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, contentKey, plaintext));
  const ephemeral = ephemeralPrivateKey
    ? { privateKey: ephemeralPrivateKey, publicRaw: await x25519PublicOf(ephemeralPrivateKey) }
    : await newEphemeral();
  const wraps = await Promise.all(
    members.map(async ({ id, raw }) => {
      let kek;
      try {
        const publicKey = await importX25519Public(raw);
        kek = await deriveKek(ephemeral.privateKey, publicKey, ephemeral.publicRaw, info(id), "wrapKey");
      } catch (error) {
        // X25519 fails only for a low-order public key: such a key cannot come from a real browser.
        if (isOperationError(error)) throw new TypeError(`recipient ${id}: unusable agreement key`);
        throw error;
      }
      return new Uint8Array(await subtle.wrapKey("raw", contentKey, kek, "AES-KW"));
    }),
  );
  return { ephPub: ephemeral.publicRaw, iv, ciphertext, ids: members.map(({ id }) => id), wraps, contentKey, keyCommit };
}

/**
 * Unwrap the content key with my agreement key and decrypt.
 * @param {{ephPub: Uint8Array, wrap: Uint8Array, info: string, agreementPrivateKey: CryptoKey, iv: Uint8Array,
 *   ciphertext: Uint8Array, aad: Uint8Array, commit?: {info: string, expected: Uint8Array}}} sealed `commit`: the
 *   key's signed commitment, checked before anything is decrypted
 * @returns {Promise<Uint8Array>} the plaintext
 * @throws {DOMException} OperationError when the wrap, the X25519 key or the GCM tag does not check
 * @throws {KeyCommitError} when the unwrapped key is not the one committed to
 */
export async function openAsMember({ ephPub, wrap, info, agreementPrivateKey, iv, ciphertext, aad, commit }) {
  const ephemeral = await importX25519Public(ephPub);
  const kek = await deriveKek(agreementPrivateKey, ephemeral, ephPub, info, "unwrapKey");
  if (commit) {
    // The same wrap a second time, as HKDF material: the content key itself never leaves WebCrypto.
    const material = await subtle.unwrapKey("raw", wrap, kek, "AES-KW", "HKDF", false, ["deriveBits"]);
    if (!sameBytes(await keyCommitment(material, commit.info), commit.expected)) throw new KeyCommitError();
  }
  const contentKey = await subtle.unwrapKey("raw", wrap, kek, "AES-KW", "AES-GCM", false, ["decrypt"]);
  return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad }, contentKey, ciphertext));
}

/**
 * HKDF-SHA256(ikm = the content key, no salt, info), 32 bytes: a commitment to the key (HKDF is a PRF keyed by it and
 * collision-resistant in it, so no two keys give one commitment).
 * @param {CryptoKey} material the content key as HKDF key material
 * @param {string} info
 * @returns {Promise<Uint8Array>}
 */
async function keyCommitment(material, info) {
  const params = { name: "HKDF", hash: "SHA-256", salt: NO_SALT, info: utf8(info) };
  return new Uint8Array(await subtle.deriveBits(params, material, KEY_COMMIT_BITS));
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * @param {Recipient[]} recipients
 * @returns {number[]} their ids, ascending: the order of sealForMembers' `ids` and `wraps`
 * @throws {TypeError} as sealForMembers does
 */
export function recipientIds(recipients) {
  return checkRecipients(recipients).map(({ id }) => id);
}

/** @param {unknown} error */
export function isOperationError(error) {
  return error instanceof Error && error.name === "OperationError";
}

/**
 * @param {unknown} value
 * @returns {value is number}
 */
export function isMemberId(value) {
  return Number.isSafeInteger(value) && /** @type {number} */ (value) >= 1;
}

/**
 * @param {Recipient[]} recipients
 * @returns {{id: number, raw: Uint8Array}[]} sorted by id
 */
function checkRecipients(recipients) {
  if (!Array.isArray(recipients) || recipients.length === 0 || recipients.length > MAX_MEMBERS) {
    throw new TypeError(`recipients must be an array of 1 to ${MAX_MEMBERS}`);
  }
  const seen = new Set();
  const members = recipients.map((recipient) => {
    const id = recipient?.id;
    if (!isMemberId(id)) throw new TypeError("recipient id must be a positive safe integer");
    if (seen.has(id)) throw new TypeError(`duplicate recipient id ${id}`);
    seen.add(id);
    let raw;
    try {
      raw = fromBase64(recipient.agreementPublicKey);
    } catch {
      throw new TypeError(`recipient ${id}: agreementPublicKey is not base64`);
    }
    if (raw.length !== KEY_BYTES) throw new TypeError(`recipient ${id}: agreementPublicKey must be ${KEY_BYTES} bytes`);
    return { id, raw };
  });
  return members.sort((a, b) => a.id - b.id);
}

/**
 * KEK = HKDF-SHA256(ikm = X25519(priv, pub), salt = eph_pub, info) as a non-extractable AES-256-KW key.
 * @param {CryptoKey} privateKey X25519, usage deriveBits
 * @param {CryptoKey} publicKey X25519
 * @param {Uint8Array} ephPub the ephemeral public key (the salt)
 * @param {string} info
 * @param {"wrapKey" | "unwrapKey"} usage
 * @returns {Promise<CryptoKey>}
 */
async function deriveKek(privateKey, publicKey, ephPub, info, usage) {
  const shared = await subtle.deriveBits({ name: "X25519", public: publicKey }, privateKey, 256);
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  return subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: ephPub, info: utf8(info) },
    ikm,
    AES_KW_256,
    false,
    [usage],
  );
}

/** @returns {Promise<{privateKey: CryptoKey, publicRaw: Uint8Array}>} a fresh, non-extractable X25519 pair */
async function newEphemeral() {
  const pair = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]));
  return { privateKey: pair.privateKey, publicRaw: new Uint8Array(await subtle.exportKey("raw", pair.publicKey)) };
}

/**
 * WebCrypto cannot export a public key from a private one, but the private JWK carries it as "x".
 * @param {CryptoKey} privateKey extractable X25519 or Ed25519 private key
 * @returns {Promise<Uint8Array>}
 */
export async function publicOf(privateKey) {
  const x = /** @type {string} */ ((await subtle.exportKey("jwk", privateKey)).x);
  const b64 = x.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

const x25519PublicOf = publicOf;

/** @param {Uint8Array} raw */
function importX25519Public(raw) {
  return subtle.importKey("raw", raw, { name: "X25519" }, false, []);
}

/** @param {Uint8Array} raw 32 bytes, for vectors and tests only */
function importContentKey(raw) {
  if (!(raw instanceof Uint8Array) || raw.length !== KEY_BYTES) {
    throw new TypeError(`contentKeyBytes must be a Uint8Array of ${KEY_BYTES} bytes`);
  }
  return subtle.importKey("raw", raw, AES_GCM_256, true, CONTENT_KEY_USAGES);
}
