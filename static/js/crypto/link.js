// @ts-check
// Invite links (docs/PROTOCOL.md, "Invite links"): 32 random bytes in the URL's fragment, which browsers never send
// to the server. From them come an Ed25519 link key, whose public half a `link` roster entry commits to and whose
// signature a `join` entry needs, and the key that wraps the room's name for whoever holds the link.

import { concatBytes, fromBase64Url, randomBytes, toBase64Url, utf8 } from "./encoding.js";
import { INFO_LINK_KEY, INFO_LINK_WRAP } from "./labels.js";
import { publicOf } from "./sealing.js";

const subtle = globalThis.crypto.subtle;
export const LINK_SECRET_BYTES = 32;
// PKCS #8 for an Ed25519 private key is this prefix and the 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
);

/** @returns {Uint8Array} a new link secret */
export function newLinkSecret() {
  return randomBytes(LINK_SECRET_BYTES);
}

/**
 * @param {Uint8Array} secret
 * @returns {string} the secret as the link's fragment carries it (base64url, no padding)
 */
export function linkSecretText(secret) {
  checkSecret(secret);
  return toBase64Url(secret);
}

/**
 * @param {string} text a link's fragment, with or without its "#"
 * @returns {Uint8Array}
 * @throws {TypeError} not a link secret
 */
export function parseLinkSecret(text) {
  let secret;
  try {
    secret = fromBase64Url(String(text).replace(/^#/, ""));
  } catch {
    throw new TypeError("This invite link is incomplete or damaged.");
  }
  if (secret.length !== LINK_SECRET_BYTES) throw new TypeError("This invite link is incomplete or damaged.");
  return secret;
}

/**
 * The link key: Ed25519 from the seed HKDF-SHA256(secret, salt "", info "securechat/link-key/v1").
 * @param {Uint8Array} secret
 * @returns {Promise<{privateKey: CryptoKey, publicRaw: Uint8Array}>} `privateKey` signs only
 */
export async function linkKeyPair(secret) {
  const seed = await hkdf(secret, INFO_LINK_KEY, 256);
  const pkcs8 = concatBytes(ED25519_PKCS8_PREFIX, seed);
  // Extractable only to read the public half ("x" of the JWK); the key kept is not.
  const extractable = await subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const publicRaw = await publicOf(extractable);
  const privateKey = await subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  return { privateKey, publicRaw };
}

/**
 * The key that wraps an entry's meta key for link holders: HKDF-SHA256(secret, salt "",
 * info "securechat/link-wrap/v1|" + room + "|" + seq) as AES-256-KW.
 * @param {Uint8Array} secret
 * @param {string} room
 * @param {number} seq
 * @param {"wrapKey" | "unwrapKey"} usage
 * @returns {Promise<CryptoKey>}
 */
export async function linkWrapKey(secret, room, seq, usage) {
  const bits = await hkdf(secret, `${INFO_LINK_WRAP}${room}|${seq}`, 256);
  return subtle.importKey("raw", bits, { name: "AES-KW" }, false, [usage]);
}

/**
 * @param {Uint8Array} publicRaw the link key's public half
 * @returns {string} how the server's link address names it: `/api/links/<this>`
 */
export function linkAddress(publicRaw) {
  return toBase64Url(publicRaw);
}

/**
 * @param {Uint8Array} secret
 * @param {string} info
 * @param {number} bits
 * @returns {Promise<Uint8Array>}
 */
async function hkdf(secret, info, bits) {
  checkSecret(secret);
  const ikm = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const out = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8(info) }, ikm, bits);
  return new Uint8Array(out);
}

/** @param {unknown} secret */
function checkSecret(secret) {
  if (!(secret instanceof Uint8Array) || secret.length !== LINK_SECRET_BYTES) {
    throw new TypeError(`a link secret is ${LINK_SECRET_BYTES} bytes`);
  }
}
