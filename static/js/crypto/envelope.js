// @ts-check
// Envelope v1 (docs/PROTOCOL.md): a message is encrypted once under a fresh content key, that key is
// wrapped for every member, and the sender signs the lot, so the server relays what it can neither
// read nor forge.

import { checkIv, IV_BYTES } from "./aead.js";
import { concatBytes, fromBase64, fromUtf8, randomBytes, toBase64, utf8 } from "./encoding.js";
import { infoEnvelopeWrap, LABEL_ENVELOPE } from "./labels.js";
import { pad, PAD_BLOCK, unpad } from "./padding.js";

export { pad, PAD_BLOCK, unpad } from "./padding.js";

export const ENVELOPE_VERSION = 1;
// chat/protocol.py refuses more; any 16 000-character text fits (at worst 96 011 bytes of JSON).
export const MAX_PADDED_PAYLOAD = 96 * 1024;
// chat/protocol.py MAX_MEMBERS: a room has at most this many members, so an envelope at most this many wraps.
export const MAX_MEMBERS = 256;

const subtle = globalThis.crypto.subtle;
const KEY_BYTES = 32;
const TAG_BYTES = 16;
const WRAP_BYTES = 40;
const SIGNATURE_BYTES = 64;
const AES_GCM_256 = { name: "AES-GCM", length: 256 };
const AES_KW_256 = { name: "AES-KW", length: 256 };
const CONTENT_KEY_USAGES = /** @type {KeyUsage[]} */ (["encrypt", "decrypt"]);
// Lower case only: the header is signed as text, so one UUID must have exactly one spelling.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEADER_FIELDS = ["v", "room", "sender", "client_id", "sent_at"];
const WIRE_FIELDS = [...HEADER_FIELDS, "eph_pub", "iv", "ciphertext", "wrap_ids", "wraps", "signature"];
// Added by the server to relayed envelopes; unsigned, so never read here.
const RELAY_FIELDS = ["id", "server_time"];

/**
 * @typedef {{id: number, agreementPublicKey: string}} Recipient base64 raw X25519 key
 * @typedef {{v: number, room: string, sender: number, client_id: string, sent_at: number}} Header
 * @typedef {Header & {eph_pub: string, iv: string, ciphertext: string, wrap_ids: number[], wraps: string,
 *   signature: string}} Envelope the wire object; relayed ones also carry `id` and `server_time`. `wrap_ids` are
 *   the members' ids, strictly ascending; `wraps` is the base64 of their 40-byte wraps concatenated in that order
 * @typedef {"malformed" | "wrong_room" | "wrong_sender" | "bad_signature" | "no_wrap" | "decrypt_failed"} Reason
 * @typedef {{header: Header, headerBytes: Uint8Array, ephPub: Uint8Array, iv: Uint8Array,
 *   ciphertext: Uint8Array, wraps: Map<number, Uint8Array>, signature: Uint8Array}} Parsed `wraps` in ascending
 *   id order, as the signature input takes them
 */

/** An envelope that must be shown as a warning, never as a message; `reason` says why. */
export class EnvelopeError extends Error {
  /**
   * @param {Reason} reason
   * @param {string} [message]
   * @param {{cause?: unknown}} [options]
   */
  constructor(reason, message, options) {
    super(message ? `${reason}: ${message}` : reason, options);
    this.name = "EnvelopeError";
    /** @type {Reason} */
    this.reason = reason;
  }
}

/**
 * @param {Header} header
 * @returns {Uint8Array} UTF-8 of `{"v":1,"room":"…","sender":…,"client_id":"…","sent_at":…}`, no spaces
 * @throws {TypeError} if a field is missing or not of the v1 shape (so the bytes could be ambiguous)
 */
export function canonicalHeader(header) {
  const problem = headerProblem(header);
  if (problem) throw new TypeError(`envelope header: ${problem}`);
  const { v, room, sender, client_id: clientId, sent_at: sentAt } = header;
  return utf8(`{"v":${v},"room":"${room}","sender":${sender},"client_id":"${clientId}","sent_at":${sentAt}}`);
}

/**
 * @param {Envelope} envelope wire object
 * @returns {Uint8Array} the exact bytes the sender's Ed25519 key signs
 * @throws {EnvelopeError} "malformed"
 */
export function signatureInput(envelope) {
  return signedBytes(parseEnvelope(envelope));
}

/**
 * Encrypts `text` once and wraps the content key for every recipient.
 * @param {{room: string, senderId: number, clientId: string, sentAt: number, text: string,
 *   recipients: Recipient[], signingPrivateKey: CryptoKey}} message `recipients` are every current member,
 *   the sender included; `signingPrivateKey` is the sender's Ed25519 identity key
 * @param {{ephemeralPrivateKey?: CryptoKey, contentKeyBytes?: Uint8Array, iv?: Uint8Array}} [testOnly] for
 *   known-answer vectors and tests ONLY: a fixed ephemeral key (extractable X25519), content key or IV makes
 *   envelopes linkable and reuses GCM nonces. Production callers omit it and get fresh random values.
 * @returns {Promise<Envelope>} wire object, keys in PROTOCOL.md order, wraps in ascending id order
 * @throws {TypeError} bad header fields, text not a string, no recipients or more than MAX_MEMBERS, duplicate or
 *   invalid ids, a bad agreement key, or a sender missing from the recipients
 * @throws {RangeError} if the padded payload exceeds MAX_PADDED_PAYLOAD
 */
export async function sealEnvelope(
  { room, senderId, clientId, sentAt, text, recipients, signingPrivateKey },
  testOnly = {},
) {
  const header = { v: ENVELOPE_VERSION, room, sender: senderId, client_id: clientId, sent_at: sentAt };
  const headerBytes = canonicalHeader(header);
  if (typeof text !== "string") throw new TypeError("text must be a string");
  const members = checkRecipients(recipients, senderId);
  const payload = pad(utf8(JSON.stringify({ text })));
  if (payload.length > MAX_PADDED_PAYLOAD) {
    throw new RangeError(`message too long: ${payload.length} padded bytes, at most ${MAX_PADDED_PAYLOAD}`);
  }

  const { ephemeralPrivateKey, contentKeyBytes, iv = randomBytes(IV_BYTES) } = testOnly;
  checkIv(iv);
  const contentKey = contentKeyBytes
    ? await importContentKey(contentKeyBytes)
    : await subtle.generateKey(AES_GCM_256, true, CONTENT_KEY_USAGES);
  const ciphertext = new Uint8Array(
    await subtle.encrypt({ name: "AES-GCM", iv, additionalData: headerBytes }, contentKey, payload),
  );

  const ephemeral = ephemeralPrivateKey
    ? { privateKey: ephemeralPrivateKey, publicRaw: await x25519PublicOf(ephemeralPrivateKey) }
    : await newEphemeral();
  const wrapped = await Promise.all(
    members.map(async ({ id, raw }) => {
      const info = infoEnvelopeWrap(room, clientId, id);
      let kek;
      try {
        const publicKey = await importX25519Public(raw);
        kek = await deriveKek(ephemeral.privateKey, publicKey, ephemeral.publicRaw, info, "wrapKey");
      } catch (error) {
        // X25519 fails only for a low-order public key: such a key cannot come from a real browser.
        if (isOperationError(error)) throw new TypeError(`recipient ${id}: unusable agreement key`);
        throw error;
      }
      return new Uint8Array(await subtle.wrapKey("raw", contentKey, kek, "AES-KW"));
    }),
  );
  // `members` is sorted by id, so the map is in ascending id order.
  const wraps = new Map(members.map(({ id }, i) => [id, wrapped[i]]));
  const parsed = { header, headerBytes, ephPub: ephemeral.publicRaw, iv, ciphertext, wraps };
  const signature = new Uint8Array(await subtle.sign({ name: "Ed25519" }, signingPrivateKey, signedBytes(parsed)));

  return {
    ...header,
    eph_pub: toBase64(ephemeral.publicRaw),
    iv: toBase64(iv),
    ciphertext: toBase64(ciphertext),
    wrap_ids: members.map(({ id }) => id),
    wraps: toBase64(concatBytes(...wrapped)),
    signature: toBase64(signature),
  };
}

/**
 * Checks in the order of PROTOCOL.md "Opening one", after a strict check of the wire object's shape.
 * @param {unknown} envelope as relayed by the server (untrusted)
 * @param {{myId: number, agreementPrivateKey: CryptoKey, senderSigningPublicKey: CryptoKey | string,
 *   expectedRoom: string, expectedSender: number}} me `senderSigningPublicKey` is the sender's pinned
 *   Ed25519 key (CryptoKey or base64 raw); `expectedRoom`/`expectedSender` are where the server says it came from
 * @returns {Promise<{text: string, header: Header}>}
 * @throws {EnvelopeError} reason "malformed" | "wrong_room" | "wrong_sender" | "bad_signature" | "no_wrap" |
 *   "decrypt_failed"
 * @throws {TypeError} if the caller's own arguments are of the wrong type
 */
export async function openEnvelope(envelope, me) {
  const { myId, agreementPrivateKey, senderSigningPublicKey, expectedRoom, expectedSender } = me;
  if (!isMemberId(myId)) throw new TypeError("myId must be a positive safe integer");
  if (typeof expectedRoom !== "string") throw new TypeError("expectedRoom must be a string");
  if (!isMemberId(expectedSender)) throw new TypeError("expectedSender must be a positive safe integer");
  const verifyKey = await signingPublicKey(senderSigningPublicKey);

  const parsed = parseEnvelope(envelope);
  const { header } = parsed;
  if (header.room !== expectedRoom) throw new EnvelopeError("wrong_room");
  if (header.sender !== expectedSender) throw new EnvelopeError("wrong_sender");
  if (!(await verifyParsed(parsed, verifyKey))) throw new EnvelopeError("bad_signature");
  const wrap = parsed.wraps.get(myId);
  if (!wrap) throw new EnvelopeError("no_wrap");

  let padded;
  try {
    const ephemeral = await importX25519Public(parsed.ephPub);
    const info = infoEnvelopeWrap(header.room, header.client_id, myId);
    const kek = await deriveKek(agreementPrivateKey, ephemeral, parsed.ephPub, info, "unwrapKey");
    const contentKey = await subtle.unwrapKey("raw", wrap, kek, "AES-KW", "AES-GCM", false, ["decrypt"]);
    const decrypted = await subtle.decrypt(
      { name: "AES-GCM", iv: parsed.iv, additionalData: parsed.headerBytes },
      contentKey,
      parsed.ciphertext,
    );
    padded = new Uint8Array(decrypted);
  } catch (error) {
    // OperationError is a failed AES-KW check, GCM tag or X25519; anything else is a programming error.
    if (isOperationError(error)) throw new EnvelopeError("decrypt_failed", undefined, { cause: error });
    throw error;
  }
  return { text: parsePayload(padded), header };
}

/**
 * @param {unknown} envelope wire object (untrusted)
 * @param {CryptoKey | string} senderSigningPublicKey Ed25519 key, CryptoKey or base64 raw
 * @returns {Promise<boolean>} false for a malformed envelope or a signature that does not verify
 * @throws {TypeError} if the key itself is not a usable Ed25519 public key
 */
export async function verifyEnvelope(envelope, senderSigningPublicKey) {
  const verifyKey = await signingPublicKey(senderSigningPublicKey);
  let parsed;
  try {
    parsed = parseEnvelope(envelope);
  } catch (error) {
    if (error instanceof EnvelopeError) return false;
    throw error;
  }
  return verifyParsed(parsed, verifyKey);
}

// --- wire format ---------------------------------------------------------------------------------

/**
 * @param {unknown} envelope
 * @returns {Parsed}
 * @throws {EnvelopeError} "malformed"
 */
function parseEnvelope(envelope) {
  if (!isPlainObject(envelope)) malformed("not an object");
  const wire = /** @type {Record<string, unknown>} */ (envelope);
  for (const key of Object.keys(wire)) {
    if (!WIRE_FIELDS.includes(key) && !RELAY_FIELDS.includes(key)) {
      malformed(`unknown field ${JSON.stringify(key).slice(0, 40)}`);
    }
  }
  for (const key of WIRE_FIELDS) if (!Object.hasOwn(wire, key)) malformed(`missing ${key}`);
  const header = /** @type {Header} */ ({
    v: wire.v,
    room: wire.room,
    sender: wire.sender,
    client_id: wire.client_id,
    sent_at: wire.sent_at,
  });
  const problem = headerProblem(header);
  if (problem) malformed(problem);

  const ciphertext = bytesField(wire.ciphertext, "ciphertext");
  if (ciphertext.length < PAD_BLOCK + TAG_BYTES || (ciphertext.length - TAG_BYTES) % PAD_BLOCK !== 0) {
    malformed(`ciphertext must be n·${PAD_BLOCK} + ${TAG_BYTES} bytes, n ≥ 1`);
  }
  const wraps = parseWraps(wire.wrap_ids, wire.wraps);
  return {
    header,
    headerBytes: canonicalHeader(header),
    ephPub: bytesField(wire.eph_pub, "eph_pub", KEY_BYTES),
    iv: bytesField(wire.iv, "iv", IV_BYTES),
    ciphertext,
    wraps,
    signature: bytesField(wire.signature, "signature", SIGNATURE_BYTES),
  };
}

/**
 * @param {unknown} wrapIds should be 1 to MAX_MEMBERS member ids, strictly ascending (one spelling per member set)
 * @param {unknown} blob should be the base64 of exactly 40 bytes per id
 * @returns {Map<number, Uint8Array>} member id → its wrap, in ascending id order
 * @throws {EnvelopeError} "malformed"
 */
function parseWraps(wrapIds, blob) {
  if (!Array.isArray(wrapIds) || wrapIds.length === 0 || wrapIds.length > MAX_MEMBERS) {
    malformed(`wrap_ids must be an array of 1 to ${MAX_MEMBERS} member ids`);
  }
  let previous = 0;
  for (const id of wrapIds) {
    if (!isMemberId(id)) malformed("wrap_ids must be positive safe integers");
    if (id <= previous) malformed("wrap_ids must be strictly ascending");
    previous = id;
  }
  const bytes = bytesField(blob, "wraps", WRAP_BYTES * wrapIds.length);
  return new Map(wrapIds.map((id, i) => [id, bytes.subarray(i * WRAP_BYTES, (i + 1) * WRAP_BYTES)]));
}

/**
 * @param {Header} header
 * @returns {string | null} what is wrong, or null
 */
function headerProblem(header) {
  if (!isPlainObject(header)) return "not an object";
  if (header.v !== ENVELOPE_VERSION) return `v must be ${ENVELOPE_VERSION}`;
  if (typeof header.room !== "string" || !UUID.test(header.room)) return "room must be a lower-case UUID";
  if (!isMemberId(header.sender)) return "sender must be a positive safe integer";
  if (typeof header.client_id !== "string" || !UUID.test(header.client_id)) {
    return "client_id must be a lower-case UUID";
  }
  if (!Number.isSafeInteger(header.sent_at) || header.sent_at < 0) return "sent_at must be a non-negative safe integer";
  return null;
}

/**
 * label ‖ u32be(len header) ‖ header ‖ eph_pub ‖ iv ‖ u32be(len ciphertext) ‖ ciphertext ‖ (u64be(id) ‖ wrap)…,
 * the wraps in ascending id order (the order of `wraps`, which parseWraps and sealEnvelope guarantee)
 * @param {Omit<Parsed, "signature">} parsed
 * @returns {Uint8Array}
 */
function signedBytes({ headerBytes, ephPub, iv, ciphertext, wraps }) {
  const parts = [utf8(LABEL_ENVELOPE), u32be(headerBytes.length), headerBytes, ephPub, iv];
  parts.push(u32be(ciphertext.length), ciphertext);
  for (const [id, wrap] of wraps) parts.push(u64be(id), wrap);
  return concatBytes(...parts);
}

/**
 * @param {Parsed} parsed
 * @param {CryptoKey} verifyKey
 */
async function verifyParsed(parsed, verifyKey) {
  return subtle.verify({ name: "Ed25519" }, verifyKey, parsed.signature, signedBytes(parsed));
}

/**
 * A GCM tag that verifies under a signed envelope means the sender wrote this payload, so any
 * defect in it is the sender's: "malformed", not "decrypt_failed".
 * @param {Uint8Array} padded
 * @returns {string}
 */
function parsePayload(padded) {
  let payload;
  try {
    payload = JSON.parse(fromUtf8(unpad(padded)));
  } catch (error) {
    throw new EnvelopeError("malformed", "payload is not padded UTF-8 JSON", { cause: error });
  }
  if (!isPlainObject(payload) || typeof payload.text !== "string") {
    throw new EnvelopeError("malformed", "payload has no text");
  }
  return payload.text;
}

/**
 * @param {Recipient[]} recipients
 * @param {number} senderId
 * @returns {{id: number, raw: Uint8Array}[]} sorted by id
 */
function checkRecipients(recipients, senderId) {
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
  // Without their own wrap, the sender could not read their message on another device or after a reload.
  if (!seen.has(senderId)) throw new TypeError("recipients must include the sender");
  return members.sort((a, b) => a.id - b.id);
}

/**
 * @param {unknown} value
 * @param {string} name
 * @param {number} [length] exact byte length, if fixed
 * @returns {Uint8Array}
 */
function bytesField(value, name, length) {
  let bytes;
  try {
    bytes = fromBase64(/** @type {string} */ (value));
  } catch {
    malformed(`${name} is not canonical base64`);
  }
  if (length !== undefined && bytes.length !== length) malformed(`${name} must be ${length} bytes`);
  return bytes;
}

/**
 * @param {string} message
 * @returns {never}
 */
function malformed(message) {
  throw new EnvelopeError("malformed", message);
}

// --- keys ----------------------------------------------------------------------------------------

/**
 * KEK = HKDF-SHA256(ikm = X25519(priv, pub), salt = eph_pub, info) as a non-extractable AES-256-KW key.
 * @param {CryptoKey} privateKey X25519, usage deriveBits
 * @param {CryptoKey} publicKey X25519
 * @param {Uint8Array} ephPub the envelope's ephemeral public key (the salt)
 * @param {string} info infoEnvelopeWrap(room, client_id, member id)
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
 * @param {CryptoKey} privateKey extractable X25519 private key
 * @returns {Promise<Uint8Array>}
 */
async function x25519PublicOf(privateKey) {
  const x = /** @type {string} */ ((await subtle.exportKey("jwk", privateKey)).x);
  const b64 = x.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

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

/**
 * @param {CryptoKey | string} key
 * @returns {Promise<CryptoKey>}
 */
async function signingPublicKey(key) {
  if (typeof key !== "string") {
    if (key?.type !== "public" || key.algorithm?.name !== "Ed25519") {
      throw new TypeError("senderSigningPublicKey must be an Ed25519 public key");
    }
    return key;
  }
  let raw;
  try {
    raw = fromBase64(key);
  } catch {
    throw new TypeError("senderSigningPublicKey is not base64");
  }
  if (raw.length !== KEY_BYTES) throw new TypeError(`senderSigningPublicKey must be ${KEY_BYTES} bytes`);
  return subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

// --- small helpers -------------------------------------------------------------------------------

/**
 * @param {unknown} value
 * @returns {value is Record<string, any>}
 */
function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * @param {unknown} value
 * @returns {value is number}
 */
function isMemberId(value) {
  return Number.isSafeInteger(value) && /** @type {number} */ (value) >= 1;
}

/** @param {unknown} error */
function isOperationError(error) {
  return error instanceof Error && error.name === "OperationError";
}

/** @param {number} n */
function u32be(n) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** @param {number} n */
function u64be(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}
