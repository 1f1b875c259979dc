// @ts-check
// Roster entries (docs/PROTOCOL.md, "Roster v1"): one signed change to a room's membership, chained to the entry
// before it by hash. This module makes and reads single entries; static/js/roster/chain.js applies them in order.

import { BODY_FIELDS, canonicalBody } from "./body.js";
import { concatBytes, fromBase64, toBase64, utf8 } from "./encoding.js";
import { LABEL_ROSTER } from "./labels.js";
import { metaProblem } from "./meta.js";
import { isMemberId, MAX_MEMBERS } from "./sealing.js";

const subtle = globalThis.crypto.subtle;
export const ROSTER_VERSION = 1;
export const OPS = /** @type {const} */ ([
  "create", "add", "remove", "leave", "join", "link", "role", "owner", "rename", "reseal",
]);
export const MAX_BODY_CHARS = 32 * 1024;
const HASH_BYTES = 32;
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const MAX_AT_MS = 253_402_300_799_999;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Ops that name exactly one member; `create` names 1 to 256, `link`, `rename` and `reseal` none.
const ONE_MEMBER = new Set(["add", "remove", "leave", "join", "role", "owner"]);
const WIRE_FIELDS = ["body", "signature", "link_signature"];
const SERVED_FIELDS = ["after", "server_time"];

/**
 * @typedef {(typeof OPS)[number]} Op
 * @typedef {{v: 1, room: string, seq: number, prev: string, at: number, actor: number, actor_key: number, op: Op,
 *   kind: "" | "group" | "direct", members: [number, number][], role: "" | "admin" | "member", link: string,
 *   meta: import("./meta.js").Meta}} Body `members` are [user id, key version] pairs, ascending by id
 * @typedef {{body: string, signature: string, link_signature: string}} WireEntry what is sent and stored; served
 *   entries also carry `after` (the room's newest envelope id when stored) and `server_time`
 * @typedef {{body: Body, text: string, signed: Uint8Array, signature: Uint8Array, linkSignature: Uint8Array | null,
 *   after: number | null, serverTime: string | null}} ParsedEntry
 */

/** An entry that is not of the documented form: refused, never repaired. */
export class EntryError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "EntryError";
  }
}

/**
 * @param {Body} body
 * @returns {string} the canonical body: these keys in this order, no spaces
 * @throws {EntryError} if the body is not of the documented form
 */
export function encodeBody(body) {
  const problem = bodyProblem(body);
  if (problem) throw new EntryError(`roster entry: ${problem}`);
  return canonicalBody(body);
}

/**
 * @param {Body} body
 * @param {CryptoKey} signingPrivateKey the actor's Ed25519 identity key
 * @param {{linkPrivateKey?: CryptoKey}} [join] a `join` is signed with the invite link's key too
 * @returns {Promise<WireEntry>}
 */
export async function signEntry(body, signingPrivateKey, { linkPrivateKey } = {}) {
  const text = encodeBody(body);
  const signed = signedBytes(text);
  const signature = await subtle.sign({ name: "Ed25519" }, signingPrivateKey, signed);
  let linkSignature = "";
  if (body.op === "join") {
    if (!linkPrivateKey) throw new TypeError("a join is signed with the invite link's key too");
    linkSignature = toBase64(new Uint8Array(await subtle.sign({ name: "Ed25519" }, linkPrivateKey, signed)));
  }
  return { body: text, signature: toBase64(new Uint8Array(signature)), link_signature: linkSignature };
}

/**
 * A served entry, checked for form only (not its signature, not its place in the chain).
 * @param {unknown} wire
 * @returns {ParsedEntry}
 * @throws {EntryError}
 */
export function parseEntry(wire) {
  if (typeof wire !== "object" || wire === null || Array.isArray(wire)) throw new EntryError("an entry is an object");
  const entry = /** @type {Record<string, unknown>} */ (wire);
  for (const key of Object.keys(entry)) {
    if (!WIRE_FIELDS.includes(key) && !SERVED_FIELDS.includes(key)) throw new EntryError(`unknown field ${key.slice(0, 40)}`);
  }
  const text = entry.body;
  if (typeof text !== "string" || text.length > MAX_BODY_CHARS) throw new EntryError("body must be a string of at most 32 KiB");
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EntryError("body is not JSON");
  }
  const problem = bodyProblem(body);
  if (problem) throw new EntryError(problem);
  if (canonicalBody(body) !== text) throw new EntryError("body is not in its canonical form");
  const signature = bytes(entry.signature, "signature", SIGNATURE_BYTES);
  const joins = body.op === "join";
  if (!joins && entry.link_signature !== "") throw new EntryError("only a join carries a link signature");
  const after = entry.after ?? null;
  if (after !== null && (!Number.isSafeInteger(after) || /** @type {number} */ (after) < 0)) {
    throw new EntryError("after must be an envelope id");
  }
  return {
    body,
    text,
    signed: signedBytes(text),
    signature,
    linkSignature: joins ? bytes(entry.link_signature, "link_signature", SIGNATURE_BYTES) : null,
    after: /** @type {number | null} */ (after),
    serverTime: typeof entry.server_time === "string" ? entry.server_time : null,
  };
}

/**
 * @param {string} text a canonical body
 * @returns {Uint8Array} "securechat/roster/v1|" ‖ body: what the actor (and a join's link key) sign
 */
export function signedBytes(text) {
  return concatBytes(utf8(LABEL_ROSTER), utf8(text));
}

/**
 * @param {ParsedEntry} entry
 * @returns {Promise<string>} base64 of SHA-256(signed bytes): the next entry's `prev`
 */
export async function entryHash(entry) {
  return toBase64(new Uint8Array(await subtle.digest("SHA-256", entry.signed)));
}

/**
 * @param {ParsedEntry} entry
 * @param {CryptoKey | string} signingPublicKey the actor's Ed25519 key (CryptoKey or base64 raw)
 * @returns {Promise<boolean>}
 */
export async function verifyActor(entry, signingPublicKey) {
  return subtle.verify({ name: "Ed25519" }, await ed25519Public(signingPublicKey), entry.signature, entry.signed);
}

/**
 * @param {ParsedEntry} entry a `join`
 * @returns {Promise<boolean>} whether its link signature verifies under the link key it names
 */
export async function verifyLink(entry) {
  if (!entry.linkSignature || !entry.body.link) return false;
  return subtle.verify({ name: "Ed25519" }, await ed25519Public(entry.body.link), entry.linkSignature, entry.signed);
}

/**
 * @param {unknown} value
 * @returns {string | null} what is wrong with this body's form, or null
 */
export function bodyProblem(value) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "body must be an object";
  const b = /** @type {Record<string, any>} */ (value);
  if (Object.keys(b).join() !== BODY_FIELDS.join()) return `body must have exactly ${BODY_FIELDS.join(", ")}, in order`;
  if (b.v !== ROSTER_VERSION) return `v must be ${ROSTER_VERSION}`;
  if (typeof b.room !== "string" || !UUID.test(b.room)) return "room must be a lower-case UUID";
  if (!Number.isSafeInteger(b.seq) || b.seq < 0) return "seq must be a non-negative integer";
  if (b.seq === 0 ? b.prev !== "" : !isBase64Of(b.prev, HASH_BYTES)) return "prev must be the previous entry's hash";
  if (!Number.isSafeInteger(b.at) || b.at < 0 || b.at > MAX_AT_MS) return "at must be a time in ms";
  if (!isMemberId(b.actor)) return "actor must be a user id";
  if (!isKeyVersion(b.actor_key)) return "actor_key must be a key version";
  if (!OPS.includes(b.op)) return `op must be one of ${OPS.join(", ")}`;
  if (b.op === "create" ? !["group", "direct"].includes(b.kind) : b.kind !== "") return "kind belongs to create only";
  if (b.op === "create" && b.seq !== 0) return "only the first entry creates";
  const membersProblem = checkMembers(b.members, b.op);
  if (membersProblem) return membersProblem;
  if (b.op === "role" ? !["admin", "member"].includes(b.role) : b.role !== "") return "role belongs to role only";
  const mayLink = ["link", "create", "join", "remove"].includes(b.op);
  if (b.link !== "" && !(mayLink && isBase64Of(b.link, KEY_BYTES))) return "link must be a link key where one belongs";
  if (b.op === "join" && b.link === "") return "a join names the link it uses";
  return metaProblem(b.meta);
}

/** @param {unknown} members @param {string} op */
function checkMembers(members, op) {
  if (!Array.isArray(members)) return "members must be an array";
  const count = op === "create" ? members.length >= 1 && members.length <= MAX_MEMBERS : members.length === (ONE_MEMBER.has(op) ? 1 : 0);
  if (!count) return `members has the wrong number of entries for ${op}`;
  let previous = 0;
  for (const pair of members) {
    if (!Array.isArray(pair) || pair.length !== 2 || !isMemberId(pair[0]) || !isKeyVersion(pair[1])) {
      return "members are [user id, key version] pairs";
    }
    if (pair[0] <= previous) return "members must be in ascending order of id";
    previous = pair[0];
  }
  return null;
}

/** @param {unknown} value */
function isKeyVersion(value) {
  return Number.isSafeInteger(value) && /** @type {number} */ (value) >= 1;
}

/** @param {unknown} value @param {number} length */
function isBase64Of(value, length) {
  try {
    return fromBase64(/** @type {string} */ (value)).length === length;
  } catch {
    return false;
  }
}

/** @param {unknown} value @param {string} name @param {number} length */
function bytes(value, name, length) {
  let out;
  try {
    out = fromBase64(/** @type {string} */ (value));
  } catch {
    throw new EntryError(`${name} is not base64`);
  }
  if (out.length !== length) throw new EntryError(`${name} must be ${length} bytes`);
  return out;
}

/** @param {CryptoKey | string} key */
async function ed25519Public(key) {
  if (typeof key !== "string") return key;
  return subtle.importKey("raw", fromBase64(key), { name: "Ed25519" }, false, ["verify"]);
}
