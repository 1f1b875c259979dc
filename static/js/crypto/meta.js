// @ts-check
// A room's name, topic and invite link, sealed in each roster entry for the members after it (docs/PROTOCOL.md,
// "Meta"), so neither the server nor anyone outside the room can read them; someone holding the invite link can,
// through `link_wrap`. The ciphertext is bound to the rest of its entry and to whom it is sealed for: a meta that
// opens vouches for the entry around it (and, through its `prev`, for the chain before it) as its sealer made it.

import { IV_BYTES } from "./aead.js";
import { META_FIELDS, unsealedText } from "./body.js";
import { concatBytes, fromBase64, fromUtf8, toBase64, utf8 } from "./encoding.js";
import { AAD_ROOM_META, INFO_ROOM_META_WRAP } from "./labels.js";
import { linkSecretText, linkWrapKey, parseLinkSecret } from "./link.js";
import { pad, PAD_BLOCK, unpad } from "./padding.js";
import {
  isMemberId,
  KEY_BYTES,
  MAX_MEMBERS,
  openAsMember,
  recipientIds,
  sealForMembers,
  WRAP_BYTES,
} from "./sealing.js";

const subtle = globalThis.crypto.subtle;
export const MAX_META_PADDED = 2048;
export const MAX_NAME = 80;
export const MAX_TOPIC = 300;
const TAG_BYTES = 16;

/**
 * @typedef {{eph_pub: string, iv: string, ciphertext: string, wrap_ids: number[], wraps: string,
 *   link_wrap: string}} Meta as it travels inside a roster entry's body (keys in this order)
 * @typedef {{name: string, topic: string, link: Uint8Array | null}} RoomMeta what the members read: `link` is the
 *   open invite link's secret, or null
 * @typedef {{room: string, seq: number} & Record<string, unknown>} Unsealed a roster entry's body but for its meta
 *   (roster.js's Body without `meta`, typed loosely here: roster.js imports this module)
 * @typedef {Unsealed & {meta: Meta}} Body a roster entry's body, its meta in it
 */

/** A meta that does not open or holds no valid name: shown as such, never guessed. */
export class MetaError extends Error {
  /** @param {string} message @param {{cause?: unknown}} [options] */
  constructor(message, options) {
    super(message, options);
    this.name = "MetaError";
  }
}

/**
 * @param {{body: Unsealed, meta: RoomMeta, recipients: import("./sealing.js").Recipient[]}} what `body`: the entry
 *   the meta goes into, complete but for it; `recipients`: the members after it
 * @param {import("./sealing.js").TestOnly} [testOnly]
 * @returns {Promise<Meta>}
 */
export async function sealMeta({ body, meta, recipients }, testOnly = {}) {
  const { room, seq } = body;
  const plaintext = pad(utf8(JSON.stringify(metaJson(meta))));
  if (plaintext.length > MAX_META_PADDED) throw new RangeError("the room's name and topic are too long");
  const ids = recipientIds(recipients);
  const sealed = await sealForMembers(
    { plaintext, aad: utf8(metaAad(body, ids)), recipients, info: (id) => metaWrapInfo(room, seq, id) },
    testOnly,
  );
  let linkWrap = "";
  if (meta.link) {
    const kek = await linkWrapKey(meta.link, room, seq, "wrapKey");
    linkWrap = toBase64(new Uint8Array(await subtle.wrapKey("raw", sealed.contentKey, kek, "AES-KW")));
  }
  return {
    eph_pub: toBase64(sealed.ephPub),
    iv: toBase64(sealed.iv),
    ciphertext: toBase64(sealed.ciphertext),
    wrap_ids: ids,
    wraps: toBase64(concatBytes(...sealed.wraps)),
    link_wrap: linkWrap,
  };
}

/**
 * Open the meta of an entry as a member it was sealed for. It opens only in the entry it was sealed into.
 * @param {Body} body the entry's body, its meta in it
 * @param {{myId: number, agreementPrivateKey: CryptoKey}} me
 * @returns {Promise<RoomMeta>}
 * @throws {MetaError} not sealed for me, altered, moved from another entry, or not a room's meta
 */
export async function openMeta(body, { myId, agreementPrivateKey }) {
  const { room, seq, meta } = body;
  const index = meta.wrap_ids.indexOf(myId);
  if (index < 0) throw new MetaError("the room's name was not sealed for you");
  const wraps = fromBase64(meta.wraps);
  return decrypted(body, () =>
    openAsMember({
      ephPub: fromBase64(meta.eph_pub),
      wrap: wraps.subarray(index * WRAP_BYTES, (index + 1) * WRAP_BYTES),
      info: metaWrapInfo(room, seq, myId),
      agreementPrivateKey,
      iv: fromBase64(meta.iv),
      ciphertext: fromBase64(meta.ciphertext),
      aad: sealedAad(body),
    }),
  );
}

/**
 * Open the meta of an entry with the invite link's secret (before joining). It opens only in the entry it was
 * sealed into, so a name that opens vouches for that entry and the chain before it.
 * @param {Body} body the entry's body, its meta in it
 * @param {{link: Uint8Array}} holder
 * @returns {Promise<RoomMeta>}
 * @throws {MetaError}
 */
export async function openMetaWithLink(body, { link }) {
  const { room, seq, meta } = body;
  if (!meta.link_wrap) throw new MetaError("this room's invite link is closed");
  return decrypted(body, async () => {
    const kek = await linkWrapKey(link, room, seq, "unwrapKey");
    const key = await subtle.unwrapKey("raw", fromBase64(meta.link_wrap), kek, "AES-KW", "AES-GCM", false, ["decrypt"]);
    const params = { name: "AES-GCM", iv: fromBase64(meta.iv), additionalData: sealedAad(body) };
    return new Uint8Array(await subtle.decrypt(params, key, fromBase64(meta.ciphertext)));
  });
}

/**
 * @param {unknown} meta from a roster entry's body (untrusted)
 * @returns {string | null} what is wrong with its shape, or null
 */
export function metaProblem(meta) {
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return "meta must be an object";
  const m = /** @type {Record<string, unknown>} */ (meta);
  if (Object.keys(m).join() !== META_FIELDS.join()) return `meta must have exactly ${META_FIELDS.join(", ")}`;
  const ids = m.wrap_ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_MEMBERS) return "meta.wrap_ids must list 1 to 256 ids";
  for (let i = 0; i < ids.length; i++) {
    if (!isMemberId(ids[i]) || (i > 0 && ids[i] <= ids[i - 1])) return "meta.wrap_ids must be ascending member ids";
  }
  const ciphertext = bytesOrNull(m.ciphertext);
  const size = ciphertext ? ciphertext.length - TAG_BYTES : -1;
  if (size < PAD_BLOCK || size > MAX_META_PADDED || size % PAD_BLOCK !== 0) {
    return `meta.ciphertext must be n·${PAD_BLOCK} + ${TAG_BYTES} bytes, 1 ≤ n ≤ ${MAX_META_PADDED / PAD_BLOCK}`;
  }
  if (bytesOrNull(m.eph_pub)?.length !== KEY_BYTES) return "meta.eph_pub must be 32 bytes";
  if (bytesOrNull(m.iv)?.length !== IV_BYTES) return "meta.iv must be 12 bytes";
  if (bytesOrNull(m.wraps)?.length !== WRAP_BYTES * ids.length) return "meta.wraps must be 40 bytes per id";
  if (m.link_wrap !== "" && bytesOrNull(m.link_wrap)?.length !== WRAP_BYTES) return "meta.link_wrap must be 40 bytes or empty";
  return null;
}

/**
 * What a meta's ciphertext is bound to: the entry it goes into, but for the meta itself, and whom it is sealed for.
 * @param {Unsealed} body the entry's body (a `meta` in it is left out)
 * @param {number[]} wrapIds the meta's `wrap_ids`, ascending
 * @returns {string} "securechat/room-meta/v1|" + canonical body without `meta` + "|" + the ids joined by ","
 */
export function metaAad(body, wrapIds) {
  return `${AAD_ROOM_META}${unsealedText(body)}|${wrapIds.join(",")}`;
}

/** @param {Body} body @returns {Uint8Array} the AAD its meta was sealed with, if it was sealed into this body */
function sealedAad(body) {
  return utf8(metaAad(body, body.meta.wrap_ids));
}

/** @param {string} room @param {number} seq @param {number} memberId */
export function metaWrapInfo(room, seq, memberId) {
  return `${INFO_ROOM_META_WRAP}${room}|${seq}|${memberId}`;
}

/** @param {RoomMeta} meta */
function metaJson({ name, topic, link }) {
  if (typeof name !== "string" || name.length > MAX_NAME) throw new TypeError(`a room's name is at most ${MAX_NAME} characters`);
  if (typeof topic !== "string" || topic.length > MAX_TOPIC) throw new TypeError(`a topic is at most ${MAX_TOPIC} characters`);
  return { name, topic, link: link ? linkSecretText(link) : "" };
}

/**
 * @param {Body} body whose meta is being opened
 * @param {() => Promise<Uint8Array>} decrypt
 * @returns {Promise<RoomMeta>}
 */
async function decrypted({ room, seq }, decrypt) {
  let json;
  try {
    json = JSON.parse(fromUtf8(unpad(await decrypt())));
  } catch (error) {
    throw new MetaError(`the name of room ${room} at entry ${seq} does not open`, { cause: error });
  }
  const { name, topic, link } = json ?? {};
  const ok =
    typeof name === "string" && name.length <= MAX_NAME && typeof topic === "string" && topic.length <= MAX_TOPIC;
  if (!ok || typeof link !== "string") throw new MetaError("the room's sealed name is malformed");
  try {
    return { name, topic, link: link ? parseLinkSecret(link) : null };
  } catch (error) {
    throw new MetaError("the room's sealed invite link is malformed", { cause: error });
  }
}

/** @param {unknown} value @returns {Uint8Array | null} */
function bytesOrNull(value) {
  try {
    return fromBase64(/** @type {string} */ (value));
  } catch {
    return null;
  }
}
