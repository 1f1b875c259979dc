// @ts-check
// What an envelope's encrypted payload says (docs/PROTOCOL.md "Payload kinds"): a message, a reply, an edit or
// deletion of the sender's own message, or a reaction. The payload travels inside the ciphertext whose header the
// sender signs, so every field here is the sender's word; the server sees none of it.

import { fromUtf8, utf8 } from "./encoding.js";
import { isMemberId } from "./sealing.js";

/** The kinds this browser reads and writes; any other well-spelled name is "unsupported", not an error. */
export const PAYLOAD_KINDS = /** @type {const} */ (["message", "reply", "edit", "delete", "reaction"]);
// A reaction is one emoji sequence (a family or a flag with its tags is up to 35 bytes); bytes, not grapheme
// clusters, so every implementation and Unicode version draws the same line.
export const MAX_EMOJI_BYTES = 64;

// Kind names: lower-case ASCII, so an unknown one can be named without being displayed as someone's text.
const KIND_NAME = /^[a-z][a-z0-9_]{0,31}$/;
// Lower case only, as the envelope header's client_id.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// C0 and C1 controls, and lone surrogates (with the u flag a well-formed pair is one code point, not \p{Cs}).
const NOT_AN_EMOJI = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;
/** Each kind's fields, in the order the sender writes them (after `kind`). */
const FIELDS = {
  message: ["text"],
  reply: ["text", "reply_to"],
  edit: ["text", "target"],
  delete: ["target"],
  reaction: ["target", "emoji", "on"],
};

/**
 * @typedef {{sender: number, client_id: string}} MessageRef a message named by what its sender signed: their user
 *   id and the envelope's `client_id` (never the server's `id`, which the server assigns)
 * @typedef {{kind: "message", text: string}} MessagePayload
 * @typedef {{kind: "reply", text: string, reply_to: MessageRef}} ReplyPayload
 * @typedef {{kind: "edit", text: string, target: MessageRef}} EditPayload `target.sender` is the envelope's sender
 * @typedef {{kind: "delete", target: MessageRef}} DeletePayload `target.sender` is the envelope's sender
 * @typedef {{kind: "reaction", target: MessageRef, emoji: string, on: boolean}} ReactionPayload `on` false takes
 *   the reaction back
 * @typedef {{kind: "unsupported", name: string}} UnsupportedPayload a kind this browser does not know (`name`):
 *   shown as "this message needs a newer version"
 * @typedef {MessagePayload | ReplyPayload | EditPayload | DeletePayload | ReactionPayload} KnownPayload
 * @typedef {KnownPayload | UnsupportedPayload} Payload
 * @typedef {{sender: number, client_id: string}} Author the envelope's own sender and client_id (from its header)
 */

/** A payload that does not follow its kind's rules. */
export class PayloadError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "PayloadError";
  }
}

/**
 * The UTF-8 JSON the sender encrypts: `{"text":"…"}` for a message (as every version has written it), else
 * `{"kind":…}` then the kind's fields in the order of FIELDS, no spaces.
 * @param {KnownPayload} payload
 * @param {Author} author the envelope's sender and client_id
 * @returns {Uint8Array}
 * @throws {TypeError} an unknown kind, a field missing, unknown or not of its kind's form
 */
export function payloadBytes(payload, author) {
  if (!isPlainObject(payload)) throw new TypeError("payload must be an object");
  const kind = payload.kind === undefined ? "message" : payload.kind;
  if (!Object.hasOwn(FIELDS, kind)) throw new TypeError(`unknown payload kind ${JSON.stringify(kind)}`);
  const fields = FIELDS[/** @type {keyof FIELDS} */ (kind)];
  for (const key of Object.keys(payload)) {
    if (key !== "kind" && !fields.includes(key)) throw new TypeError(`a ${kind} has no ${key}`);
  }
  let read;
  try {
    read = /** @type {KnownPayload} */ (readPayloadObject(payload, author));
  } catch (error) {
    if (error instanceof PayloadError) throw new TypeError(error.message);
    throw error;
  }
  const { kind: _, ...rest } = read;
  return utf8(JSON.stringify(kind === "message" ? rest : { kind, ...rest }));
}

/**
 * Reads a decrypted, unpadded payload.
 * @param {Uint8Array} bytes
 * @param {Author} author the envelope's sender and client_id, from its verified header
 * @returns {Payload} a new object with only the kind's fields (any others are ignored)
 * @throws {PayloadError} not UTF-8 JSON of an object, a badly spelled kind, or a known kind's field missing or not of
 *   its form
 */
export function readPayload(bytes, author) {
  let value;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new PayloadError("payload is not UTF-8 JSON");
  }
  return readPayloadObject(value, author);
}

/**
 * @param {unknown} value
 * @param {Author} author
 * @returns {Payload}
 * @throws {PayloadError}
 */
function readPayloadObject(value, author) {
  if (!isPlainObject(value)) fail("payload is not an object");
  // Absent, not null: JSON null is a kind of the wrong form.
  const kind = value.kind === undefined ? "message" : value.kind;
  if (typeof kind !== "string" || !KIND_NAME.test(kind)) fail("kind must be 1 to 32 of a-z, 0-9 and _, a letter first");
  switch (kind) {
    case "message":
      return { kind, text: text(value) };
    case "reply":
      return { kind, text: text(value), reply_to: ref(value.reply_to, "reply_to", author) };
    case "edit":
      return { kind, text: text(value), target: ownRef(value.target, author) };
    case "delete":
      return { kind, target: ownRef(value.target, author) };
    case "reaction":
      if (typeof value.on !== "boolean") fail("on must be true or false");
      return { kind, target: ref(value.target, "target", author), emoji: emoji(value.emoji), on: value.on };
    default:
      return { kind: "unsupported", name: kind };
  }
}

/** @param {Record<string, unknown>} value @returns {string} */
function text(value) {
  if (typeof value.text !== "string") fail("text must be a string");
  return value.text;
}

/**
 * @param {unknown} value
 * @param {string} name
 * @param {Author} author
 * @returns {MessageRef}
 */
function ref(value, name, author) {
  if (!isPlainObject(value)) fail(`${name} must be an object`);
  if (!isMemberId(value.sender)) fail(`${name}.sender must be a positive safe integer`);
  if (typeof value.client_id !== "string" || !UUID.test(value.client_id)) fail(`${name}.client_id must be a lower-case UUID`);
  if (value.sender === author.sender && value.client_id === author.client_id) fail(`${name} names its own envelope`);
  return { sender: value.sender, client_id: value.client_id };
}

/**
 * Only a message's sender may edit or delete it.
 * @param {unknown} value
 * @param {Author} author
 * @returns {MessageRef}
 */
function ownRef(value, author) {
  const target = ref(value, "target", author);
  if (target.sender !== author.sender) fail("an edit or deletion may name only its sender's own message");
  return target;
}

/** @param {unknown} value @returns {string} */
function emoji(value) {
  if (typeof value !== "string" || value === "") fail("emoji must be a non-empty string");
  if (NOT_AN_EMOJI.test(value)) fail("emoji holds a control character or a lone surrogate");
  if (utf8(value).length > MAX_EMOJI_BYTES) fail(`emoji must be at most ${MAX_EMOJI_BYTES} UTF-8 bytes`);
  return value;
}

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  throw new PayloadError(message);
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, any>}
 */
function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
