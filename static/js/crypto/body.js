// @ts-check
// The one spelling of a roster entry's body (docs/PROTOCOL.md, "The body"): the actor signs all of it (roster.js),
// and the room's sealed name is bound to all of it but the name itself (meta.js, "Meta").

// The fields a meta is bound to: everything in the body before it.
const UNSEALED_FIELDS = ["v", "room", "seq", "prev", "at", "actor", "actor_key", "op", "kind", "members", "role", "link"];
export const BODY_FIELDS = [...UNSEALED_FIELDS, "meta"];
export const META_FIELDS = ["eph_pub", "iv", "ciphertext", "wrap_ids", "wraps", "link_wrap"];

/**
 * @param {Record<string, any>} body the keys of BODY_FIELDS, checked
 * @returns {string} these keys in this order, and META_FIELDS in this order inside `meta`, no spaces
 */
export function canonicalBody(body) {
  return JSON.stringify({ ...ordered(body, UNSEALED_FIELDS), meta: ordered(body.meta, META_FIELDS) });
}

/**
 * @param {Record<string, any>} body an entry's body, with or without its `meta`
 * @returns {string} the canonical body without `meta`: `{"v":1,"room":"…",…,"link":"…"}`
 */
export function unsealedText(body) {
  return JSON.stringify(ordered(body, UNSEALED_FIELDS));
}

/** @param {Record<string, any>} object @param {string[]} keys */
function ordered(object, keys) {
  return Object.fromEntries(keys.map((key) => [key, object[key]]));
}
