// @ts-check
// A room's roster as a chain (docs/PROTOCOL.md, "What each change may do"): entries applied in order, each checked
// for its place (seq and prev), its signature under the actor's key, and the actor's authority in the state before
// it. The state the chain yields — members, roles, owner, open link — is what the browser wraps messages for; the
// server's own list is never used for that.

import { entryHash, EntryError, parseEntry, verifyActor, verifyLink } from "../crypto/roster.js";

export const MAX_MEMBERS = 256;

/**
 * @typedef {import("../crypto/roster.js").ParsedEntry} ParsedEntry
 * @typedef {{key: number, role: "admin" | "member", since: number}} MemberInfo `key`: the key version the entry
 *   that admitted them named; `since`: the seq of that entry
 * @typedef {{room: string, kind: "group" | "direct", seq: number, hash: string, members: Map<number, MemberInfo>,
 *   owner: number | null, link: string, signers: Map<number, number>}} RosterState `link`: the open invite link's
 *   key (base64), or ""; `signers`: the newest key version each actor has signed an entry with
 * @typedef {{entry: ParsedEntry, hash: string, state: RosterState}} Step an entry and the state after it
 * @typedef {(userId: number, keyVersion: number) => Promise<CryptoKey | string | null>} KeyFor the actor's signing
 *   key of that version, as this browser trusts it (null: none it can trust)
 * @typedef {"malformed" | "broken" | "bad_signature" | "unknown_key" | "old_key" | "unauthorised" | "wrong_meta"} Reason
 */

/** A chain that must not be believed: `reason` says why, `seq` where. */
export class RosterError extends Error {
  /** @param {Reason} reason @param {string} message @param {number | null} [seq] */
  constructor(reason, message, seq = null) {
    super(seq === null ? message : `entry ${seq}: ${message}`);
    this.name = "RosterError";
    /** @type {Reason} */
    this.reason = reason;
    this.seq = seq;
  }
}

/**
 * Verify served entries in order from `state` (null: from the room's creation).
 * @param {{room: string, entries: unknown[], state: RosterState | null, keyFor: KeyFor}} chain
 * @returns {Promise<Step[]>} one step per entry
 * @throws {RosterError} at the first entry that is malformed, out of place, badly signed or not allowed
 */
export async function verifyEntries({ room, entries, state, keyFor }) {
  /** @type {Step[]} */
  const steps = [];
  let current = state;
  for (const wire of entries) {
    let entry;
    try {
      entry = parseEntry(wire);
    } catch (error) {
      const seq = current ? current.seq + 1 : 0;
      throw new RosterError("malformed", error instanceof EntryError ? error.message : String(error), seq);
    }
    const { seq, actor, actor_key: version, op } = entry.body;
    if (entry.body.room !== room) throw new RosterError("malformed", "the entry names another room", seq);
    placeOf(current, entry);
    const key = await keyFor(actor, version);
    if (!key) throw new RosterError("unknown_key", `signed with a key of user ${actor} this browser cannot check`, seq);
    if (!(await verifyActor(entry, key))) throw new RosterError("bad_signature", "its signature does not verify", seq);
    if (op === "join" && !(await verifyLink(entry))) {
      throw new RosterError("bad_signature", "its invite link signature does not verify", seq);
    }
    const hash = await entryHash(entry);
    current = applyEntry(current, entry, hash);
    steps.push({ entry, hash, state: current });
  }
  return steps;
}

/**
 * The state after `entry`, by the rules of its op (signatures are verifyEntries' business).
 * @param {RosterState | null} state
 * @param {ParsedEntry} entry
 * @param {string} hash the entry's hash
 * @returns {RosterState}
 * @throws {RosterError}
 */
export function applyEntry(state, entry, hash) {
  placeOf(state, entry);
  const body = entry.body;
  const { seq, actor, op } = body;
  const refuse = (/** @type {string} */ why) => new RosterError("unauthorised", why, seq);
  /** @type {RosterState} */
  let next;
  if (op === "create") {
    next = created(body, hash, refuse);
  } else {
    const before = /** @type {RosterState} */ (state);
    next = { ...before, seq, hash, members: new Map(before.members) };
    if (before.kind === "direct") throw refuse("a direct conversation is its two people: nothing may change it");
    const [member] = body.members.map(([id, key]) => ({ id, key }));
    const isMember = (/** @type {number} */ id) => before.members.has(id);
    const manages = actor === before.owner || before.members.get(actor)?.role === "admin";
    if (op !== "join" && !isMember(actor)) throw refuse("the actor is not a member");
    switch (op) {
      case "add":
        if (!manages) throw refuse("only the owner or an admin may add members");
        if (isMember(member.id)) throw refuse("the member is already in the room");
        if (before.members.size >= MAX_MEMBERS) throw refuse(`a room has at most ${MAX_MEMBERS} members`);
        next.members.set(member.id, { key: member.key, role: "member", since: seq });
        break;
      case "remove":
        if (!manages) throw refuse("only the owner or an admin may remove members");
        if (!isMember(member.id) || member.id === actor || member.id === before.owner) {
          throw refuse("this member cannot be removed by this actor");
        }
        if (actor !== before.owner && before.members.get(member.id)?.role === "admin") {
          throw refuse("only the owner removes an admin");
        }
        // The removed member could read the open invite link: the removal replaces it, in the same entry.
        if (before.link ? !body.link || body.link === before.link : body.link !== "") {
          throw refuse("a removal replaces the open invite link (and names none when no link is open)");
        }
        next.members.delete(member.id);
        next.link = body.link;
        break;
      case "leave":
        if (member.id !== actor) throw refuse("one leaves only for oneself");
        if (actor === before.owner && before.members.size > 1) throw refuse("the owner hands the room on before leaving");
        next.members.delete(actor);
        if (actor === before.owner) next.owner = null;
        break;
      case "join":
        if (!before.link || body.link !== before.link) throw refuse("this invite link is not the room's open link");
        if (member.id !== actor || isMember(actor)) throw refuse("a join admits the joiner, once");
        if (before.members.size >= MAX_MEMBERS) throw refuse(`a room has at most ${MAX_MEMBERS} members`);
        next.members.set(actor, { key: member.key, role: "member", since: seq });
        break;
      case "link":
        if (!manages) throw refuse("only the owner or an admin may open, rotate or close the invite link");
        next.link = body.link;
        break;
      case "role": {
        if (actor !== before.owner) throw refuse("only the owner makes admins");
        const info = before.members.get(member.id);
        if (!info || member.id === before.owner) throw refuse("the owner's role does not change");
        next.members.set(member.id, { ...info, role: /** @type {"admin" | "member"} */ (body.role) });
        break;
      }
      case "owner": {
        if (actor !== before.owner) throw refuse("only the owner hands the room on");
        const info = before.members.get(member.id);
        if (!info || member.id === actor) throw refuse("the room goes to another member");
        next.owner = member.id;
        next.members.set(actor, { .../** @type {MemberInfo} */ (before.members.get(actor)), role: "admin" });
        break;
      }
      case "rename":
        if (!manages) throw refuse("only the owner or an admin may rename the room");
        break;
      case "reseal":
        // Any member may seal the name again, for a member's new keys: nothing else changes.
        break;
      default:
        throw refuse(`unknown op ${op}`);
    }
  }
  checkMeta(next, body, seq);
  // Keys only move on: an entry signed with an older key than its actor used before is not theirs to make.
  if ((state?.signers.get(actor) ?? 0) > body.actor_key) {
    throw new RosterError("old_key", "signed with an older key than its author used before", seq);
  }
  next.signers = new Map(state?.signers ?? []);
  next.signers.set(actor, body.actor_key);
  return next;
}

/**
 * @param {RosterState} state
 * @returns {number[]} the member ids, ascending: exactly whom a message is wrapped for
 */
export function memberIds(state) {
  return [...state.members.keys()].sort((a, b) => a - b);
}

/**
 * Whether an op changes who can read (as opposed to roles, the link or the name).
 * @param {string} op
 */
export function changesMembers(op) {
  return ["create", "add", "remove", "leave", "join"].includes(op);
}

/**
 * @param {RosterState | null} state
 * @param {ParsedEntry} entry
 */
function placeOf(state, entry) {
  const { seq, prev, room } = entry.body;
  if (state === null) {
    if (seq !== 0) throw new RosterError("broken", "the chain does not start at the room's creation", seq);
    return;
  }
  if (room !== state.room) throw new RosterError("malformed", "the entry names another room", seq);
  if (seq !== state.seq + 1 || prev !== state.hash) {
    throw new RosterError("broken", `does not follow entry ${state.seq}`, seq);
  }
}

/**
 * @param {import("../crypto/roster.js").Body} body a `create`
 * @param {string} hash
 * @param {(why: string) => RosterError} refuse
 * @returns {RosterState}
 */
function created(body, hash, refuse) {
  const { actor, kind, members, link, room } = body;
  if (!members.some(([id]) => id === actor)) throw refuse("the creator is one of the first members");
  if (kind === "direct" && (members.length !== 2 || link !== "")) {
    throw refuse("a direct conversation is two people, with no invite link");
  }
  const roles = new Map(members.map(([id, key]) => [id, { key, role: /** @type {const} */ ("member"), since: 0 }]));
  const group = kind === "group";
  return { room, kind: /** @type {"group" | "direct"} */ (kind), seq: 0, hash, members: roles, owner: group ? actor : null, link, signers: new Map() };
}

/**
 * @param {RosterState} state after the entry
 * @param {import("../crypto/roster.js").Body} body
 * @param {number} seq
 */
function checkMeta(state, body, seq) {
  // The last member to leave seals it for themselves: there is nobody else, and a meta is sealed for someone.
  const expected = state.members.size ? memberIds(state) : [body.actor];
  if (body.meta.wrap_ids.join() !== expected.join()) {
    throw new RosterError("wrong_meta", "the room's name is not sealed for exactly its members", seq);
  }
  if ((body.meta.link_wrap !== "") !== (state.link !== "")) {
    throw new RosterError("wrong_meta", "the name is sealed for link holders exactly while a link is open", seq);
  }
}
