// @ts-check
// Envelopes v1 to v3 (docs/PROTOCOL.md): a message is encrypted once under a fresh content key, that key is
// wrapped for every member, and the sender signs the lot, so the server relays what it can neither read nor forge.
// A v2 envelope also names, inside what is signed, the roster head (the signed member list) it was wrapped for.
// A v3 envelope, what browsers send now, further signs the sender's key version (a retired key cannot pass for the
// current one), the sender's place in their chain of envelopes in the room (a counter and the hash of the one before:
// readers see a message dropped or moved) and a commitment to the content key (every member reads the same text).

import { IV_BYTES } from "./aead.js";
import { concatBytes, fromBase64, toBase64, utf8 } from "./encoding.js";
import { INFO_KEY_COMMIT, infoEnvelopeWrap, LABEL_ENVELOPE, LABEL_ENVELOPE_V2, LABEL_ENVELOPE_V3 } from "./labels.js";
import { pad, PAD_BLOCK, unpad } from "./padding.js";
import { payloadBytes, PayloadError, readPayload } from "./payload.js";
import {
  isMemberId,
  isOperationError,
  KEY_BYTES,
  KeyCommitError,
  MAX_MEMBERS,
  openAsMember,
  sealForMembers,
  WRAP_BYTES,
} from "./sealing.js";

export { pad, PAD_BLOCK, unpad } from "./padding.js";
export { MAX_MEMBERS } from "./sealing.js";
export { MAX_EMOJI_BYTES, PAYLOAD_KINDS } from "./payload.js";

export const ENVELOPE_VERSION = 1;
// Envelopes to a room with a signed roster: v1 plus the roster head in the header.
export const ENVELOPE_VERSION_ROSTER = 2;
// What browsers send now: v2 (or v1 in a room from before rosters, its roster head null) plus key version, chain and
// key commitment.
export const ENVELOPE_VERSION_CHAINED = 3;
// chat/protocol.py refuses more; any 16 000-character text fits (at worst 96 011 bytes of JSON).
export const MAX_PADDED_PAYLOAD = 96 * 1024;

const subtle = globalThis.crypto.subtle;
const TAG_BYTES = 16;
const SIGNATURE_BYTES = 64;
const HASH_BYTES = 32;
// Lower case only: the header is signed as text, so one UUID must have exactly one spelling.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEADER_FIELDS = ["v", "room", "sender", "client_id", "sent_at"];
const ROSTER_FIELDS = ["roster_seq", "roster_hash"];
const CHAINED_FIELDS = ["key_version", ...ROSTER_FIELDS, "chain_seq", "chain_prev", "key_commit"];
const BODY_FIELDS = ["eph_pub", "iv", "ciphertext", "wrap_ids", "wraps", "signature"];
// Added by the server to relayed envelopes; unsigned, so never read here.
const RELAY_FIELDS = ["id", "server_time"];
const LABELS = {
  [ENVELOPE_VERSION]: LABEL_ENVELOPE,
  [ENVELOPE_VERSION_ROSTER]: LABEL_ENVELOPE_V2,
  [ENVELOPE_VERSION_CHAINED]: LABEL_ENVELOPE_V3,
};
/** Each version's header fields after the common ones, in their signed order. */
const EXTRA_FIELDS = { [ENVELOPE_VERSION]: [], [ENVELOPE_VERSION_ROSTER]: ROSTER_FIELDS, [ENVELOPE_VERSION_CHAINED]: CHAINED_FIELDS };

/**
 * @typedef {import("./sealing.js").Recipient} Recipient
 * @typedef {import("./payload.js").Payload} Payload
 * @typedef {import("./payload.js").KnownPayload} KnownPayload
 * @typedef {import("./sealing.js").TestOnly & {payloadJson?: string}} SealTestOnly `payloadJson`: JSON to encrypt
 *   in place of the payload's, so vectors and tests can make what no sender would
 * @typedef {{v: number, room: string, sender: number, client_id: string, sent_at: number, key_version?: number,
 *   roster_seq?: number | null, roster_hash?: string | null, chain_seq?: number, chain_prev?: string | null,
 *   key_commit?: string}} Header v2 and v3: `roster_seq` and `roster_hash` (base64 of the entry's 32-byte hash; both
 *   null in a v3 envelope to a room from before rosters). v3 only: `key_version`, the sender's key version that
 *   signs it; `chain_seq`, 1 for the sender's first v3 envelope in the room and one more for each after it;
 *   `chain_prev`, the base64 `envelopeHash` of the one before (null for the first); `key_commit`, base64 of the
 *   content key's 32-byte commitment
 * @typedef {{seq: number, hash: string}} RosterHead
 * @typedef {{seq: number, prev: string | null}} ChainLink the sender's place in their chain in the room
 * @typedef {Header & {eph_pub: string, iv: string, ciphertext: string, wrap_ids: number[], wraps: string,
 *   signature: string}} Envelope the wire object; relayed ones also carry `id` and `server_time`. `wrap_ids` are
 *   the members' ids, strictly ascending; `wraps` is the base64 of their 40-byte wraps concatenated in that order
 * @typedef {"malformed" | "wrong_room" | "wrong_sender" | "bad_signature" | "no_wrap" | "key_mismatch" |
 *   "decrypt_failed"} Reason `key_mismatch`: the key wrapped for me is not the one the sender committed to
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
 * @returns {Uint8Array} UTF-8 of `{"v":1,"room":"…","sender":…,"client_id":"…","sent_at":…}` then the version's
 *   further fields in their order (v2: `roster_seq`, `roster_hash`; v3: `key_version`, `roster_seq`,
 *   `roster_hash`, `chain_seq`, `chain_prev`, `key_commit`), no spaces
 * @throws {TypeError} if a field is missing or not of its version's shape (so the bytes could be ambiguous)
 */
export function canonicalHeader(header) {
  const problem = headerProblem(header);
  if (problem) throw new TypeError(`envelope header: ${problem}`);
  // Every value is an integer, null, or a string of UUID or base64 characters: JSON spells each one way.
  const fields = [...HEADER_FIELDS, ...EXTRA_FIELDS[header.v]];
  return utf8(JSON.stringify(Object.fromEntries(fields.map((key) => [key, header[/** @type {keyof Header} */ (key)]]))));
}

/**
 * What the next envelope of a chain names as `chain_prev`.
 * @param {Envelope} envelope wire object
 * @returns {Promise<string>} base64 SHA-256 of its signature input
 * @throws {EnvelopeError} "malformed"
 */
export async function envelopeHash(envelope) {
  return toBase64(new Uint8Array(await subtle.digest("SHA-256", signatureInput(envelope))));
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
 * Encrypts the payload once and wraps the content key for every recipient.
 * @param {{room: string, senderId: number, clientId: string, sentAt: number, text?: string, payload?: KnownPayload,
 *   recipients: Recipient[], signingPrivateKey: CryptoKey, roster?: RosterHead | null, keyVersion?: number,
 *   chain?: ChainLink}} message `payload` (payload.js: a message, reply, edit, deletion or reaction) or `text` (a
 *   plain message, the same as `payload: {kind: "message", text}`), not both; `recipients` are every current
 *   member, the sender included; `signingPrivateKey` is the sender's Ed25519 identity key; `roster`, the verified
 *   roster head the recipients are the members of (null: a room from before rosters). `keyVersion` (the version of
 *   `signingPrivateKey`) and `chain` make a v3 envelope; without them, `roster` makes a v2 one and its absence a v1
 *   one (older formats, kept for tests and vectors)
 * @param {SealTestOnly} [testOnly] for known-answer vectors and tests ONLY (sealing.js)
 * @returns {Promise<Envelope>} wire object, keys in PROTOCOL.md order, wraps in ascending id order
 * @throws {TypeError} bad header fields, text not a string, a payload not of its kind's form (payload.js), no
 *   recipients or more than MAX_MEMBERS, duplicate or invalid ids, a bad agreement key, or a sender missing from the
 *   recipients
 * @throws {RangeError} if the padded payload exceeds MAX_PADDED_PAYLOAD
 */
export async function sealEnvelope(
  { room, senderId, clientId, sentAt, text, payload, recipients, signingPrivateKey, roster, keyVersion, chain },
  { payloadJson, ...testOnly } = {},
) {
  /** @type {Header} */
  const header = { v: ENVELOPE_VERSION, room, sender: senderId, client_id: clientId, sent_at: sentAt };
  const chained = keyVersion !== undefined;
  if (chained) {
    Object.assign(header, {
      v: ENVELOPE_VERSION_CHAINED,
      key_version: keyVersion,
      roster_seq: roster ? roster.seq : null,
      roster_hash: roster ? roster.hash : null,
      chain_seq: chain?.seq,
      chain_prev: chain?.prev,
      // Checked with the rest below; the real commitment takes its place once the key exists.
      key_commit: toBase64(new Uint8Array(HASH_BYTES)),
    });
  } else if (roster !== undefined) {
    Object.assign(header, { v: ENVELOPE_VERSION_ROSTER, roster_seq: roster?.seq, roster_hash: roster?.hash });
  }
  let headerBytes = canonicalHeader(header);
  if (payload === undefined) {
    if (typeof text !== "string") throw new TypeError("text must be a string");
  } else if (text !== undefined) {
    throw new TypeError("give text or payload, not both");
  }
  const author = { sender: senderId, client_id: clientId };
  const json = payloadBytes(payload ?? { kind: "message", text: /** @type {string} */ (text) }, author);
  // Without their own wrap, the sender could not read their message on another device or after a reload.
  if (!Array.isArray(recipients) || !recipients.some((r) => r?.id === senderId)) {
    throw new TypeError("recipients must include the sender");
  }
  const padded = pad(payloadJson === undefined ? json : utf8(payloadJson));
  if (padded.length > MAX_PADDED_PAYLOAD) {
    throw new RangeError(`message too long: ${padded.length} padded bytes, at most ${MAX_PADDED_PAYLOAD}`);
  }
  /** @param {Uint8Array} keyCommit */
  const committed = (keyCommit) => {
    header.key_commit = toBase64(keyCommit);
    headerBytes = canonicalHeader(header);
    return headerBytes;
  };
  const sealed = await sealForMembers(
    {
      plaintext: padded,
      aad: chained ? committed : headerBytes,
      recipients,
      info: (id) => infoEnvelopeWrap(room, clientId, id),
      ...(chained ? { commitInfo: INFO_KEY_COMMIT } : {}),
    },
    testOnly,
  );
  // `ids` are ascending, so the map is in ascending id order.
  const wraps = new Map(sealed.ids.map((id, i) => [id, sealed.wraps[i]]));
  const parsed = { header, headerBytes, ephPub: sealed.ephPub, iv: sealed.iv, ciphertext: sealed.ciphertext, wraps };
  const signature = new Uint8Array(await subtle.sign({ name: "Ed25519" }, signingPrivateKey, signedBytes(parsed)));

  return {
    ...header,
    eph_pub: toBase64(sealed.ephPub),
    iv: toBase64(sealed.iv),
    ciphertext: toBase64(sealed.ciphertext),
    wrap_ids: sealed.ids,
    wraps: toBase64(concatBytes(...sealed.wraps)),
    signature: toBase64(signature),
  };
}

/**
 * Checks in the order of PROTOCOL.md "Opening one", after a strict check of the wire object's shape.
 * @param {unknown} envelope as relayed by the server (untrusted)
 * @param {{myId: number, agreementPrivateKey: CryptoKey, senderSigningPublicKey: CryptoKey | string,
 *   expectedRoom: string, expectedSender: number}} me `senderSigningPublicKey` is the sender's pinned
 *   Ed25519 key (CryptoKey or base64 raw); `expectedRoom`/`expectedSender` are where the server says it came from
 * @returns {Promise<{payload: Payload, text: string | null, header: Header}>} `payload`, what the sender says
 *   (payload.js; a kind this browser does not know is `{kind: "unsupported", name}`); `text`, the text of a message,
 *   reply or edit, else null
 * @throws {EnvelopeError} reason "malformed" (a payload not of its kind's form included) | "wrong_room" | "wrong_sender" | "bad_signature" | "no_wrap" |
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
    padded = await openAsMember({
      ephPub: parsed.ephPub,
      wrap,
      info: infoEnvelopeWrap(header.room, header.client_id, myId),
      agreementPrivateKey,
      iv: parsed.iv,
      ciphertext: parsed.ciphertext,
      aad: parsed.headerBytes,
      ...(header.v === ENVELOPE_VERSION_CHAINED
        ? { commit: { info: INFO_KEY_COMMIT, expected: fromBase64(/** @type {string} */ (header.key_commit)) } }
        : {}),
    });
  } catch (error) {
    if (error instanceof KeyCommitError) throw new EnvelopeError("key_mismatch", undefined, { cause: error });
    // OperationError is a failed AES-KW check, GCM tag or X25519; anything else is a programming error.
    if (isOperationError(error)) throw new EnvelopeError("decrypt_failed", undefined, { cause: error });
    throw error;
  }
  const payload = parsePayload(padded, header);
  return { payload, text: "text" in payload ? payload.text : null, header };
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
  const extra = Object.hasOwn(EXTRA_FIELDS, String(wire.v)) ? EXTRA_FIELDS[/** @type {number} */ (wire.v)] : null;
  if (!extra) malformed(`unknown version ${JSON.stringify(wire.v)?.slice(0, 20)}`);
  const wireFields = [...HEADER_FIELDS, ...extra, ...BODY_FIELDS];
  for (const key of Object.keys(wire)) {
    if (!wireFields.includes(key) && !RELAY_FIELDS.includes(key)) {
      malformed(`unknown field ${JSON.stringify(key).slice(0, 40)}`);
    }
  }
  for (const key of wireFields) if (!Object.hasOwn(wire, key)) malformed(`missing ${key}`);
  const header = /** @type {Header} */ (
    Object.fromEntries(wireFields.slice(0, wireFields.length - BODY_FIELDS.length).map((key) => [key, wire[key]]))
  );
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
  if (!Object.hasOwn(EXTRA_FIELDS, String(header.v)) || !Number.isSafeInteger(header.v)) {
    return `v must be ${ENVELOPE_VERSION}, ${ENVELOPE_VERSION_ROSTER} or ${ENVELOPE_VERSION_CHAINED}`;
  }
  if (typeof header.room !== "string" || !UUID.test(header.room)) return "room must be a lower-case UUID";
  if (!isMemberId(header.sender)) return "sender must be a positive safe integer";
  if (typeof header.client_id !== "string" || !UUID.test(header.client_id)) {
    return "client_id must be a lower-case UUID";
  }
  if (!Number.isSafeInteger(header.sent_at) || header.sent_at < 0) return "sent_at must be a non-negative safe integer";
  if (header.v === ENVELOPE_VERSION_CHAINED) return chainedProblem(header);
  for (const key of CHAINED_FIELDS.filter((k) => !EXTRA_FIELDS[header.v].includes(k))) {
    if (header[/** @type {keyof Header} */ (key)] !== undefined) return `v${header.v} has no ${key}`;
  }
  return header.v === ENVELOPE_VERSION_ROSTER ? rosterHeadProblem(header) : null;
}

/** @param {Header} header @returns {string | null} */
function rosterHeadProblem(header) {
  if (!Number.isSafeInteger(header.roster_seq) || /** @type {number} */ (header.roster_seq) < 0) {
    return "roster_seq must be a non-negative safe integer";
  }
  if (!isHash(header.roster_hash)) return "roster_hash must be the base64 of 32 bytes";
  return null;
}

/** @param {Header} header @returns {string | null} */
function chainedProblem(header) {
  if (!isMemberId(header.key_version)) return "key_version must be a positive safe integer";
  if (header.roster_seq !== null || header.roster_hash !== null) {
    const problem = rosterHeadProblem(header);
    if (problem) return `${problem} (or both null)`;
  }
  if (!isMemberId(header.chain_seq)) return "chain_seq must be a positive safe integer";
  if (header.chain_seq === 1 ? header.chain_prev !== null : !isHash(header.chain_prev)) {
    return "chain_prev must be null for chain_seq 1, else the base64 of 32 bytes";
  }
  if (!isHash(header.key_commit)) return "key_commit must be the base64 of 32 bytes";
  return null;
}

/** @param {unknown} value */
function isHash(value) {
  try {
    return fromBase64(/** @type {string} */ (value)).length === HASH_BYTES;
  } catch {
    return false;
  }
}

/**
 * label ‖ u32be(len header) ‖ header ‖ eph_pub ‖ iv ‖ u32be(len ciphertext) ‖ ciphertext ‖ (u64be(id) ‖ wrap)…,
 * the wraps in ascending id order (the order of `wraps`, which parseWraps and sealEnvelope guarantee)
 * @param {Omit<Parsed, "signature">} parsed
 * @returns {Uint8Array}
 */
function signedBytes({ header, headerBytes, ephPub, iv, ciphertext, wraps }) {
  const parts = [utf8(LABELS[header.v]), u32be(headerBytes.length), headerBytes, ephPub, iv];
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
 * @param {Header} header
 * @returns {Payload}
 */
function parsePayload(padded, header) {
  let bytes;
  try {
    bytes = unpad(padded);
  } catch (error) {
    throw new EnvelopeError("malformed", "payload is not padded", { cause: error });
  }
  try {
    return readPayload(bytes, { sender: header.sender, client_id: header.client_id });
  } catch (error) {
    if (error instanceof PayloadError) throw new EnvelopeError("malformed", error.message, { cause: error });
    throw error;
  }
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

// --- keys ---------------------------------------------------------------------------------------

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
