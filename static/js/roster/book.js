// @ts-check
// Every room's roster as this browser verified it: the chain from the room's creation, checked entry by entry
// (chain.js), the state it yields, and what the server claims beside it. The browser wraps messages only for the
// members of a verified chain; whatever does not add up — a member the server lists and the chain does not, a
// broken or forked chain, a chain shorter than one this browser verified before — is a problem that blocks sending
// to that room until it is resolved.

import { toBase64 } from "../crypto/encoding.js";
import { linkKeyPair } from "../crypto/link.js";
import { MetaError, openMeta, openMetaWithLink } from "../crypto/meta.js";
import { entryHash, EntryError, parseEntry } from "../crypto/roster.js";
import { memberIds, RosterError, verifyEntries } from "./chain.js";
import { makeEntry } from "./changes.js";
import { authoritativeName } from "./names.js";

/** Problems of the chain itself (not of what the server says beside it): a chain with one is not remembered. */
const CHAIN_PROBLEMS = ["chain", "fork", "shorter"];
/** Part of every blocking warning: the words people and tests look for. */
export const NO_ONE_ADDED = "members no one added";
const CONFLICT_RETRIES = 3;

/**
 * @typedef {import("./chain.js").RosterState} RosterState
 * @typedef {import("./chain.js").Step} Step
 * @typedef {import("./chain.js").KeyFor} KeyFor
 * @typedef {import("../crypto/meta.js").RoomMeta} RoomMeta
 * @typedef {import("./changes.js").Change} Change
 * @typedef {import("./heads.js").Head} Head
 * @typedef {{roster: Head | null, members: number[], kind?: string}} Hint what the server says of a room: its head,
 *   members and kind
 * @typedef {"unknown" | "legacy" | "ok" | "blocked"} Status unknown: not verified yet; legacy: a room from before
 *   rosters (nothing to verify); ok: verified; blocked: see `problems`
 * @typedef {{id: string, status: Status, state: RosterState | null, steps: Step[], problems: Map<string, string>,
 *   meta: RoomMeta | null, hint: Hint | null, queue: Promise<void>, wasSigned: boolean,
 *   listed: {extra: number[], missing: number[]}}} RoomRoster `steps[seq]` is the entry at that seq; `wasSigned`:
 *   this browser has seen the room with a roster; `listed`: members the server lists and the chain does not, and
 *   the other way round
 * @typedef {{fetchEntries: (room: string, from: number) => Promise<{entries: unknown[], more: boolean}>,
 *   currentKeyFor?: KeyFor, pinnedKeyFor?: KeyFor, nameOf?: (id: number) => string,
 *   append: (room: string, entry: import("../crypto/roster.js").WireEntry) => Promise<any>, keyFor: KeyFor,
 *   recipientsFor: import("./changes.js").RecipientsFor, heads: import("./heads.js").Heads, me: Me,
 *   mayBeLegacy?: (roomId: string, hint: Hint) => boolean}} Options `mayBeLegacy`: whether a room the server
 *   presents without a roster may be one from before rosters (by default any may); `currentKeyFor`: the actor's
 *   current key only, for entries after the head this account verified before; `pinnedKeyFor`: keys this account
 *   pinned (or sees first), never one known only from the server's record, for the entry that admits this account
 *   and those after it (`keyFor` by default)
 * @typedef {{id: number | null, keyVersion: number, signingPrivateKey: CryptoKey, agreementPrivateKey: CryptoKey}} Me
 */

/** Sending to a room whose member list this browser cannot vouch for. */
export class RosterBlocked extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "RosterBlocked";
  }
}

/** Events: "changed" ({room}) when a room's state, status, problems or name change. */
export class RosterBook extends EventTarget {
  /** @param {Options} options */
  constructor(options) {
    super();
    this.options = options;
    /** @type {Map<string, RoomRoster>} */
    this.rooms = new Map();
  }

  /** @type {WeakMap<Step, RoomMeta | null>} each entry's sealed name, as opened by this browser */
  #opened = new WeakMap();

  /** @param {string} roomId @returns {RoomRoster} */
  room(roomId) {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = {
        id: roomId,
        status: "unknown",
        state: null,
        steps: [],
        problems: new Map(),
        meta: null,
        hint: null,
        queue: Promise.resolve(),
        wasSigned: false,
        listed: { extra: [], missing: [] },
      };
      this.rooms.set(roomId, room);
    }
    return room;
  }

  /** @param {string} roomId */
  forget(roomId) {
    this.rooms.delete(roomId);
  }

  /**
   * What the server says of a room (from `ready` and `room` frames): read the chain up to its head and compare.
   * @param {string} roomId
   * @param {Hint} hint
   * @returns {Promise<void>} once the room is verified as far as the hint goes
   */
  sync(roomId, hint) {
    return this.#run(roomId, async (room) => {
      room.hint = hint;
      await this.#readOn(room, hint.roster === null ? 0 : hint.roster.seq, { fresh: true });
    });
  }

  /** Read the chain again from the last verified entry (the server refused a send, or a frame named a newer head). */
  refresh(/** @type {string} */ roomId) {
    return this.#run(roomId, (room) => this.#readOn(room, Infinity));
  }

  /**
   * Live entries: each must follow on from what is verified; one that does not (an earlier one still on its way)
   * makes the browser read the chain from the server instead.
   * @param {string} roomId
   * @param {unknown[]} entries
   */
  onLive(roomId, entries) {
    return this.#run(roomId, async (room) => {
      for (const wire of entries) {
        const seq = seqOf(wire);
        if (seq !== null && room.state && seq > room.state.seq + 1) return this.#readOn(room, Infinity);
        await this.#take(room, [wire]);
      }
      await this.#settle(room);
    });
  }

  /**
   * The server's list of members, wherever it gives one (a `members_changed` refusal): compared with the chain.
   * @param {string} roomId
   * @param {number[]} ids
   */
  checkServerMembers(roomId, ids) {
    return this.#run(roomId, async (room) => {
      // The list is the server's now: compared with the chain as far as the server now has it.
      await this.#readOn(room, Infinity);
      if (room.state) room.hint = { roster: { seq: room.state.seq, hash: room.state.hash }, members: ids };
      await this.#settle(room);
    });
  }

  /** @param {string} roomId resolves when what was asked of the room so far is done */
  settled(roomId) {
    return this.room(roomId).queue;
  }

  /**
   * Whom to wrap a message for, and the head to name; throws when this browser cannot vouch for the list.
   * @param {string} roomId
   * @returns {Promise<{members: number[], head: Head} | null>} null for a room from before rosters
   * @throws {RosterBlocked}
   */
  async recipients(roomId) {
    await this.settled(roomId);
    const room = this.room(roomId);
    if (room.status === "legacy") return null;
    if (room.status !== "ok" || !room.state) throw new RosterBlocked(blockedText(room, this.options.nameOf));
    return { members: memberIds(room.state), head: { seq: room.state.seq, hash: room.state.hash } };
  }

  /**
   * A v2 envelope's roster head, checked against the chain (docs/PROTOCOL.md, "Envelope v2").
   * @param {string} roomId
   * @param {{roster_seq?: number, roster_hash?: string}} header
   * @param {number[]} wrapIds
   * @returns {Promise<{reason: "unknown_roster" | "wrong_members" | null}>} (whether the head was out of date
   *   when the message was sent is the conversation's to say: chat/timeline.js)
   */
  async checkEnvelope(roomId, header, wrapIds) {
    const seq = /** @type {number} */ (header.roster_seq);
    const room = this.room(roomId);
    await this.settled(roomId);
    if (!room.state || seq > room.state.seq) await this.refresh(roomId);
    if (!room.state && room.hint?.roster === null) {
      // A message naming a roster in a room the server presents as having none: it has one.
      this.#problem(room, "unsigned", "its messages name a signed member list, but the server presents it without one");
      this.dispatchEvent(new CustomEvent("changed", { detail: { room: roomId } }));
    }
    const step = room.steps[seq];
    if (!step || step.hash !== header.roster_hash) {
      if (step) this.#problem(room, "fork", `two different versions of its member list at entry ${seq} (a fork)`);
      return { reason: "unknown_roster" };
    }
    if (memberIds(step.state).join() !== [...wrapIds].join()) return { reason: "wrong_members" };
    return { reason: null };
  }

  /**
   * Make a change, signed by me, and have the server store it; rebuilt on the new head if another came first.
   * @param {string} roomId
   * @param {Change} change
   * @param {{meta?: (current: RoomMeta) => RoomMeta, linkPrivateKey?: CryptoKey}} [options] `meta`: the name,
   *   topic and link after the change, from the current ones
   * @returns {Promise<Step>}
   */
  async change(roomId, change, { meta = (current) => current, linkPrivateKey } = {}) {
    for (let attempt = 1; ; attempt++) {
      await this.settled(roomId);
      const room = this.room(roomId);
      const creating = change.op === "create";
      if (!creating && (room.status !== "ok" || !room.state)) throw new RosterBlocked(blockedText(room, this.options.nameOf));
      const current = room.meta ?? { name: "", topic: "", link: null };
      const { wire, step } = await makeEntry({
        room: roomId,
        state: creating ? null : room.state,
        change,
        actor: this.#me(),
        meta: meta(current),
        recipientsFor: this.options.recipientsFor,
        linkPrivateKey,
      });
      let answer;
      try {
        answer = await this.options.append(roomId, wire);
      } catch (error) {
        if (/** @type {any} */ (error)?.code !== "roster_conflict" || attempt >= CONFLICT_RETRIES) throw error;
        await this.refresh(roomId);
        continue;
      }
      // Stored: it is the head now, where the server says it fell (the live frame that follows is a repeat).
      const after = Number.isSafeInteger(answer?.after) ? answer.after : null;
      await this.onLive(roomId, [after === null ? wire : { ...wire, after }]);
      return step;
    }
  }

  /**
   * Verify a room's chain given as it was served to someone who is not a member yet (the join page).
   * @param {string} roomId
   * @param {unknown[]} entries
   */
  takeServed(roomId, entries) {
    return this.#run(roomId, async (room) => {
      await this.#take(room, entries);
    });
  }

  // --- inside ------------------------------------------------------------------------------------------------

  /** @param {string} roomId @param {(room: RoomRoster) => Promise<void>} task one at a time per room */
  #run(roomId, task) {
    const room = this.room(roomId);
    const run = room.queue.catch(() => undefined).then(() => task(room));
    room.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Fetch and verify entries after the verified head, until the server says there are no more or `upTo` is
   * verified; then compare and persist.
   * @param {RoomRoster} room
   * @param {number} upTo
   * @param {{fresh?: boolean}} [options] `fresh`: the room's hint was just given, so it is compared as well
   */
  async #readOn(room, upTo, { fresh = false } = {}) {
    if (room.hint?.roster === null && !room.state) {
      await this.#settle(room, { fresh });
      return;
    }
    for (;;) {
      if (room.state && room.state.seq >= upTo) break;
      const from = room.state ? room.state.seq + 1 : 0;
      const page = await this.options.fetchEntries(room.id, from);
      if (!(await this.#take(room, page.entries)) || !page.more || !page.entries.length) break;
    }
    await this.#settle(room, { fresh });
  }

  /**
   * Verify served entries in order; an entry already verified must be the same entry (else a fork).
   * @param {RoomRoster} room
   * @param {unknown[]} entries
   * @returns {Promise<boolean>} false once the chain stops verifying
   */
  async #take(room, entries) {
    const known = await this.options.heads.get(room.id);
    for (const wire of entries) {
      const seq = seqOf(wire);
      if (seq !== null && room.state && seq <= room.state.seq) {
        if (!(await this.#sameAsVerified(room, wire, seq))) {
          this.#problem(room, "fork", `two different versions of its member list at entry ${seq} (a fork)`);
          return false;
        }
        continue;
      }
      // A key the server calls retired, taken from its record on first sight, can only vouch for history from before
      // this account was in the room: the entry that admits me, and every one after, is checked with keys I pinned;
      // and one after the head this account verified, with its actor's current key.
      const fresh = known !== null && seq !== null && seq > known.seq;
      const admitted = this.#admits(room, wire);
      const keyFor =
        (fresh && this.options.currentKeyFor) || (admitted && this.options.pinnedKeyFor) || this.options.keyFor;
      try {
        const [step] = await verifyEntries({ room: room.id, entries: [wire], state: room.state, keyFor });
        room.steps[step.entry.body.seq] = step;
        room.state = step.state;
        room.wasSigned = true;
      } catch (error) {
        if (!(error instanceof RosterError)) throw error;
        this.#problem(room, "chain", describeChainError(error));
        return false;
      }
    }
    return true;
  }

  /**
   * Whether I am a member before this entry, or it makes me one (a create, an add or a join naming me).
   * @param {RoomRoster} room @param {unknown} wire
   */
  #admits(room, wire) {
    const me = this.options.me.id;
    if (me === null) return false;
    if (room.state?.members.has(me)) return true;
    try {
      const members = JSON.parse(/** @type {any} */ (wire).body).members;
      return Array.isArray(members) && members.some((/** @type {any} */ pair) => Array.isArray(pair) && pair[0] === me);
    } catch {
      return false;
    }
  }

  /**
   * Whether a served entry is the one verified at its seq. The server's `after` (where it fell among the messages)
   * is taken from it when the verified copy had none (an entry this browser made and sent).
   * @param {RoomRoster} room @param {unknown} wire @param {number} seq
   */
  async #sameAsVerified(room, wire, seq) {
    let entry;
    try {
      entry = parseEntry(wire);
    } catch (error) {
      if (error instanceof EntryError) return false;
      throw error;
    }
    const step = room.steps[seq];
    if ((await entryHash(entry)) !== step?.hash) return false;
    if (step.entry.after === null) step.entry.after = entry.after;
    return true;
  }

  /**
   * After reading: compare with what the server says and what this browser verified before, persist the head,
   * read the name, and say what changed.
   * @param {RoomRoster} room
   * @param {{fresh?: boolean}} [options] `fresh`: the hint was just given (a `ready` or `room` frame, read by the
   *   server after anything it sent before): a head in it older than the verified one is a rollback
   */
  async #settle(room, { fresh = false } = {}) {
    const before = await this.options.heads.get(room.id);
    const hint = room.hint;
    if (before) room.wasSigned = true;
    if (room.state) {
      if (before && room.state.seq < before.seq) {
        this.#problem(room, "shorter", `a shorter member list than this browser verified before (it had entry ${before.seq})`);
      } else if (before && room.steps[before.seq]?.hash !== before.hash) {
        this.#problem(room, "fork", `another member list than this browser verified before (entry ${before.seq} differs)`);
      }
      const claimed = hint?.roster;
      if (fresh && claimed && (claimed.seq < room.state.seq || room.steps[claimed.seq]?.hash !== claimed.hash)) {
        this.#problem(room, "claimed", `the server names an older or other head of its member list (entry ${claimed.seq})`);
      }
    }
    if (fresh && hint?.roster === null && room.wasSigned) {
      this.#problem(room, "unsigned", "the server now presents it without its signed member list");
    }
    const mayBeLegacy = this.options.mayBeLegacy ?? (() => true);
    if (fresh && hint?.roster === null && !room.state && !mayBeLegacy(room.id, hint)) {
      this.#problem(room, "unsigned", "the server presents it without a signed member list, and it is not one of your rooms from before signed rosters");
    }
    // The server's list describes its head: compared when that is the head verified here.
    if (room.state && hint?.roster?.seq === room.state.seq) this.#compareMembers(room, hint.members);
    // Remembered whenever the chain itself verified and goes on from what was remembered: what the server says
    // beside it (its member list, the head it claims) cannot keep a verified head from being remembered, and with it
    // the room from counting as signed from then on.
    const chainSound = !CHAIN_PROBLEMS.some((problem) => room.problems.has(problem));
    if (room.state && chainSound && (!before || room.state.seq > before.seq)) {
      await this.options.heads.put(room.id, { seq: room.state.seq, hash: room.state.hash });
    }
    room.status = room.problems.size ? "blocked" : room.state ? "ok" : hint?.roster === null ? "legacy" : "unknown";
    if (room.state) room.meta = await this.#openName(room) ?? room.meta;
    this.dispatchEvent(new CustomEvent("changed", { detail: { room: room.id } }));
  }

  /** @param {RoomRoster} room @param {number[]} serverIds */
  #compareMembers(room, serverIds) {
    const chain = new Set(memberIds(/** @type {RosterState} */ (room.state)));
    const listed = new Set(serverIds);
    const extra = [...listed].filter((id) => !chain.has(id));
    const missing = [...chain].filter((id) => !listed.has(id));
    room.problems.delete("extra");
    room.problems.delete("missing");
    room.listed = { extra, missing };
    if (extra.length) room.problems.set("extra", `the server lists ${NO_ONE_ADDED}`);
    if (missing.length) room.problems.set("missing", "the server leaves out members of its signed list");
  }

  /**
   * The room's name and topic, and its invite link, as the members may trust them. Every entry re-seals them, but
   * only those with the right may change the name (names.js); the link is the one the roster says is open (a member
   * could seal another in the meta of a change of theirs), and with it this browser also reads the entries sealed
   * for link holders (those from before it joined).
   * @param {RoomRoster} room
   * @returns {Promise<RoomMeta | null>}
   */
  async #openName(room) {
    const state = /** @type {RosterState} */ (room.state);
    /** @type {Uint8Array | null} */
    let link = null;
    for (let seq = state.seq; seq >= 0 && state.link && !link; seq--) {
      const meta = room.steps[seq] ? await this.#openStep(room.steps[seq]) : null;
      if (meta?.link && (await linkKeyOf(meta.link)) === state.link) link = meta.link;
    }
    const name = await authoritativeName(room.steps, async (step) => {
      const asMember = await this.#openStep(step);
      if (asMember || !link || !step.entry.body.meta.link_wrap) return asMember;
      return openMetaWithLink(step.entry.body, { link }).catch(() => null);
    });
    return name ? { name: name.name, topic: name.topic, link } : null;
  }

  /**
   * An entry's sealed name, opened once.
   * @param {Step} step
   * @returns {Promise<RoomMeta | null>} null when it was not sealed for me or does not open (in this entry)
   */
  async #openStep(step) {
    if (this.#opened.has(step)) return this.#opened.get(step) ?? null;
    const me = this.options.me;
    /** @type {RoomMeta | null} */
    let meta = null;
    if (me.id !== null && step.entry.body.meta.wrap_ids.includes(me.id)) {
      try {
        meta = await openMeta(step.entry.body, { myId: me.id, agreementPrivateKey: me.agreementPrivateKey });
      } catch (error) {
        if (!(error instanceof MetaError)) throw error;
      }
    }
    this.#opened.set(step, meta);
    return meta;
  }

  /** @param {RoomRoster} room @param {string} kind @param {string} text */
  #problem(room, kind, text) {
    room.problems.set(kind, text);
    room.status = "blocked";
  }

  #me() {
    const me = this.options.me;
    if (me.id === null) throw new Error("not connected yet");
    return { id: me.id, keyVersion: me.keyVersion, signingPrivateKey: me.signingPrivateKey };
  }
}

/**
 * @param {RoomRoster} room
 * @param {(id: number) => string} [nameOf] who an id is, for the members the server and the chain disagree on
 */
function blockedText(room, nameOf = (id) => `user ${id}`) {
  if (room.status === "unknown") return "This room's member list is still being checked.";
  const who = (/** @type {number[]} */ ids) => ids.map(nameOf).join(", ");
  const why = [...room.problems.entries()]
    .map(([kind, text]) => (kind === "extra" || kind === "missing" ? `${text}: ${who(room.listed[kind])}` : text))
    .join("; ");
  return `This room's signed member list cannot be trusted (${why}): it may have ${NO_ONE_ADDED}. Nothing is sent here.`;
}

/** @param {RosterError} error */
function describeChainError(error) {
  const what = {
    malformed: "a malformed entry",
    broken: "a broken chain (an entry missing, moved or replayed)",
    bad_signature: "an entry whose signature does not verify (forged or altered)",
    unknown_key: "an entry signed by a key this browser cannot check",
    old_key: "an entry signed with a key its author had already replaced",
    unauthorised: "a change its author had no right to make",
    wrong_meta: "a room name sealed for someone who is not a member",
  }[error.reason];
  return error.seq === null ? what : `${what} at entry ${error.seq}`;
}

/** @param {Uint8Array} secret @returns {Promise<string>} the invite link's key (base64), as a roster names it */
async function linkKeyOf(secret) {
  return toBase64((await linkKeyPair(secret)).publicRaw);
}

/** @param {unknown} wire @returns {number | null} the entry's seq, read without trusting anything else */
function seqOf(wire) {
  try {
    const seq = JSON.parse(/** @type {any} */ (wire).body).seq;
    return Number.isSafeInteger(seq) ? seq : null;
  } catch {
    return null;
  }
}

export { blockedText };
