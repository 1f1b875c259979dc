// @ts-check
// Making a roster entry: the change, the room's name sealed for the members after it, the actor's signature (and
// the invite link's, for a join). Every entry is checked by the same rules a reader applies (chain.js) before it
// leaves, so this browser never offers the server a change the members' browsers would refuse.

import { sealMeta } from "../crypto/meta.js";
import { entryHash, parseEntry, signEntry } from "../crypto/roster.js";
import { applyEntry, memberIds } from "./chain.js";

/**
 * @typedef {import("./chain.js").RosterState} RosterState
 * @typedef {import("./chain.js").Step} Step
 * @typedef {import("../crypto/meta.js").RoomMeta} RoomMeta
 * @typedef {import("../crypto/roster.js").Op} Op
 * @typedef {{op: Op, kind?: "group" | "direct", members?: [number, number][], role?: "admin" | "member",
 *   link?: string}} Change `members`: [id, key version] pairs (the one member concerned, or the first members);
 *   `link`: the link key (base64) a `link`, `create` or `join` names
 * @typedef {{id: number, keyVersion: number, signingPrivateKey: CryptoKey}} Actor
 * @typedef {(ids: number[]) => Promise<import("../crypto/sealing.js").Recipient[]>} RecipientsFor the pinned
 *   agreement keys of these members
 */

/**
 * @param {{room: string, state: RosterState | null, change: Change, actor: Actor, meta: RoomMeta,
 *   recipientsFor: RecipientsFor, linkPrivateKey?: CryptoKey, at?: number}} what `meta`: the room's name, topic and
 *   link secret after the change; `linkPrivateKey`: for a join, the invite link's key
 * @param {import("../crypto/sealing.js").TestOnly} [testOnly] for known-answer vectors only
 * @returns {Promise<{wire: import("../crypto/roster.js").WireEntry, step: Step}>}
 * @throws {import("./chain.js").RosterError} the change is not this actor's to make
 */
export async function makeEntry({ room, state, change, actor, meta, recipientsFor, linkPrivateKey, at = Date.now() }, testOnly) {
  const seq = state ? state.seq + 1 : 0;
  const after = membersAfter(state, change, actor.id);
  const sealedFor = after.length ? after : [actor.id];
  // The name is sealed over the rest of the entry, so it opens in this entry only.
  /** @type {Omit<import("../crypto/roster.js").Body, "meta">} */
  const unsealed = {
    v: 1,
    room,
    seq,
    prev: state ? state.hash : "",
    at,
    actor: actor.id,
    actor_key: actor.keyVersion,
    op: change.op,
    kind: change.op === "create" ? (change.kind ?? "group") : "",
    members: change.members ?? [],
    role: change.role ?? "",
    link: change.link ?? "",
  };
  const sealed = await sealMeta({ body: unsealed, meta, recipients: await recipientsFor(sealedFor) }, testOnly);
  /** @type {import("../crypto/roster.js").Body} */
  const body = { ...unsealed, meta: sealed };
  const wire = await signEntry(body, actor.signingPrivateKey, { linkPrivateKey });
  const entry = parseEntry(wire);
  const hash = await entryHash(entry);
  return { wire, step: { entry, hash, state: applyEntry(state, entry, hash) } };
}

/**
 * Who is a member once the change is made.
 * @param {RosterState | null} state
 * @param {Change} change
 * @param {number} actorId
 * @returns {number[]} ascending
 */
export function membersAfter(state, change, actorId) {
  const ids = new Set(state ? memberIds(state) : []);
  const [member] = change.members ?? [];
  if (change.op === "create") return (change.members ?? []).map(([id]) => id).sort((a, b) => a - b);
  if (change.op === "add" || change.op === "join") ids.add(member[0]);
  if (change.op === "remove") ids.delete(member[0]);
  if (change.op === "leave") ids.delete(actorId);
  return [...ids].sort((a, b) => a - b);
}
