// @ts-check
// The conversation in order: messages and the roster's changes (who created, added, removed, joined, left) as lines
// between them, and the warnings that only the two together show. A change sits where the server stored it (its
// `after`), but never after a message wrapped for the members it made: a v2 envelope names its roster head, so
// everyone added by then is shown before it, whatever the server says of where the change fell.
//
// The same places say when a sender's browser was kept on an old member list: a message naming a head older than a
// change of members that came before it (by those places, or by the signed times of both, with room for clocks
// that disagree) was wrapped for a list that was out of date; and a v1 message after the room's roster began was
// wrapped for the server's list. The server's `after` alone can neither hide nor invent either.
//
// Each sender's v3 envelopes form a chain in the room (a counter and the hash of the one before, signed): a place
// that holds nothing the server served is a missing message, a place served out of turn is a message moved, and two
// envelopes in one place (or one that does not name the one before it) a fork.

import { changesMembers } from "../roster/chain.js";

/** Clocks of two honest browsers may disagree by this much before a signed time counts against a message. */
export const CLOCK_SKEW_MS = 10 * 60 * 1000;
/** Changes nobody needs to read about: a re-seal of the name for someone's new keys. */
const QUIET = new Set(["reseal"]);

/**
 * @typedef {{key: string, id: number | null, sender: number, status: string, reason?: string | null, envelope: any,
 *   sentAt: number, chain?: Link, signedKey?: SignedKey}} Message a message of the chat client
 *   (client.js, which imports this module: naming its type here would make the hashed static files depend on each
 *   other)
 * @typedef {import("../roster/chain.js").Step} Step
 * @typedef {{seq: number, prev: string | null, hash: string, keyVersion: number}} Link a verified v3 envelope's place
 *   in its sender's chain in the room, the hash of the one before it (null for the first) and its own hash
 * @typedef {{version: number, retiredAt: number | null}} SignedKey the version of the accepted key a message verified
 *   under, and when this account accepted the key that replaced it (ms; null: none has)
 * @typedef {"stale" | "unsigned" | "out_of_order" | "forked" | "retired" | "downgraded" | null} Warning
 *   `out_of_order`: shown after a later message of its sender's; `forked`: another envelope of its sender's holds its
 *   place, or the one before is not the one it names; `retired`: signed with a key that, by what comes before it, had
 *   been replaced (never shown as the sender's words); `downgraded`: a v1 or v2 envelope after its sender's v3 ones
 * @typedef {{user: number, at: number, keyVersion: number}} KeyChange a member's key this account accepted in place
 *   of an older one, and when (ms)
 * @typedef {{type: "message", key: string, message: Message, warning: Warning} |
 *   {type: "roster", key: string, step: Step} | {type: "key", key: string, change: KeyChange} |
 *   {type: "reset", key: string, count: number} | {type: "day", key: string, at: number} |
 *   {type: "gap", key: string, user: number, count: number}} Item `gap`: messages of `user` the server did not
 *   serve, where they belong; `day`: where a new
 *   day (in local time) begins, before its first message `reset`: messages in a row that were encrypted for this
 *   account's keys from before its own key reset, which it can no longer open (one quiet line, not a warning each)
 */

/**
 * @param {{messages: Message[], steps: Step[], reachedStart: boolean, oldestId: number | null,
 *   keyChanges?: KeyChange[]}} room `messages` oldest first (pending last), `steps[seq]` the room's verified entries,
 *   `keyChanges` of its members
 * @returns {Item[]}
 */
export function timeline({ messages, steps, reachedStart, oldestId, keyChanges = [] }) {
  const positions = positionsOf(messages, steps);
  const chains = chainFindings(messages);
  const places = placeFindings(messages);
  /** @type {{at: number, item: Item}[]} */
  const placed = [];
  steps.forEach((step, seq) => {
    const at = positions[seq];
    if (QUIET.has(step.entry.body.op)) return;
    // Between two loaded messages, or anywhere once the whole history is loaded.
    if (reachedStart || (oldestId !== null && at >= oldestId - 1)) {
      placed.push({ at: at + 0.5, item: { type: "roster", key: `roster:${seq}`, step } });
    }
  });
  messages.forEach((message, index) => {
    const at = message.id ?? Number.MAX_SAFE_INTEGER + index;
    const warning = places.get(message.key) ?? chains.warnings.get(message.key) ?? warningFor(message, steps, positions);
    placed.push({ at, item: { type: "message", key: message.key, message, warning } });
  });
  for (const { before, user, count } of chains.gaps) {
    placed.push({ at: /** @type {number} */ (before.id) - 0.3, item: { type: "gap", key: `gap:${before.key}`, user, count } });
  }
  for (const change of keyChanges) {
    // Before the first message sent after it (by signed time), once that part of the history is loaded.
    const next = messages.find((m) => m.id !== null && m.sentAt > change.at);
    const newest = messages.findLast((m) => m.id !== null)?.id ?? 0;
    if (next && next.id === oldestId && !reachedStart) continue;
    const at = next ? /** @type {number} */ (next.id) - 0.25 : newest + 0.75;
    placed.push({ at, item: { type: "key", key: `key:${change.user}:${change.keyVersion}`, change } });
  }
  // Stable: lines at one place stay in seq order, pending messages in the order they were written.
  return withDays(foldedBeforeReset(placed.sort((a, b) => a.at - b.at).map(({ item }) => item)));
}

/**
 * A `day` item before the first message or line of each day (by its signed time, in local time).
 * @param {Item[]} items
 * @returns {Item[]}
 */
function withDays(items) {
  /** @type {Item[]} */
  const out = [];
  let shown = "";
  for (const item of items) {
    const at = timeOf(item);
    if (at !== null) {
      const date = new Date(at);
      const day = `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
      if (day !== shown) out.push({ type: "day", key: `day:${day}`, at });
      shown = day;
    }
    out.push(item);
  }
  return out;
}

/** @param {Item} item @returns {number | null} when it happened, as signed (ms) */
function timeOf(item) {
  if (item.type === "message") return item.message.sentAt;
  if (item.type === "roster") return item.step.entry.body.at;
  if (item.type === "key") return item.change.at;
  return null;
}

/**
 * Messages in a row that only a key from before this account's reset could open, as one item.
 * @param {Item[]} items
 * @returns {Item[]}
 */
function foldedBeforeReset(items) {
  /** @type {Item[]} */
  const folded = [];
  for (const item of items) {
    const unreadable = item.type === "message" && item.message.reason === "before_reset";
    const last = folded.at(-1);
    if (unreadable && last?.type === "reset") last.count += 1;
    else if (unreadable) folded.push({ type: "reset", key: `reset:${item.key}`, count: 1 });
    else folded.push(item);
  }
  return folded;
}

/**
 * @param {Message} message
 * @param {Step[]} steps
 * @param {number[]} positions
 * @returns {Warning}
 */
function warningFor(message, steps, positions) {
  const envelope = message.envelope;
  if (message.status !== "sent" || message.id === null || !envelope || !steps.length) return null;
  /** Whether the change at `seq` came before this message: by its place, or by both signed times. */
  const before = (/** @type {number} */ seq) =>
    positions[seq] < /** @type {number} */ (message.id) || envelope.sent_at > steps[seq].entry.body.at + CLOCK_SKEW_MS;
  if (envelope.roster_seq === undefined || envelope.roster_seq === null) return before(0) ? "unsigned" : null;
  for (let seq = envelope.roster_seq + 1; seq < steps.length; seq++) {
    if (changesMembers(steps[seq].entry.body.op) && before(seq)) return "stale";
  }
  return null;
}

/**
 * What the order of the messages says of their keys and formats. A message signed with a key its sender has since
 * replaced is retired once anything before it shows a time at or after the replacement was accepted: a stored time
 * (the server's word, which it cannot take back for the messages it placed earlier), a signed sending time (less the
 * clocks' tolerance), or a message of the same sender's under a newer key. A v1 or v2 envelope after its sender's v3
 * ones has no place in their chain to check.
 * @param {Message[]} messages oldest first
 * @returns {Map<string, Warning>}
 */
export function placeFindings(messages) {
  /** @type {Map<string, Warning>} */
  const warnings = new Map();
  let shownBy = -Infinity; // the latest time the messages so far vouch for
  /** @type {Map<number, number>} */
  const newestKey = new Map();
  /** @type {Set<number>} */
  const chained = new Set();
  for (const message of messages) {
    const key = message.signedKey;
    if (message.id === null || !key) continue;
    const newer = (newestKey.get(message.sender) ?? 0) > key.version;
    if (key.retiredAt !== null && (newer || shownBy >= key.retiredAt)) warnings.set(message.key, "retired");
    else if (message.envelope?.v !== 3 && chained.has(message.sender)) warnings.set(message.key, "downgraded");
    if (message.envelope?.v === 3) chained.add(message.sender);
    newestKey.set(message.sender, Math.max(newestKey.get(message.sender) ?? 0, key.version));
    const stored = Date.parse(message.envelope?.server_time);
    shownBy = Math.max(shownBy, Number.isFinite(stored) ? stored : -Infinity, message.sentAt - CLOCK_SKEW_MS);
  }
  return warnings;
}

/**
 * What each sender's chain shows, read in the order the server placed the messages (by id).
 * @param {Message[]} messages oldest first
 * @returns {{warnings: Map<string, Warning>, gaps: {before: Message, user: number, count: number}[]}} `gaps`: places
 *   of a chain between two served messages that no served message holds, before the first message after them
 */
export function chainFindings(messages) {
  const placed = messages.filter((m) => m.chain && m.id !== null);
  /** @type {Map<number, Map<number, Message>>} sender → seq → the first message served in that place */
  const bySeq = new Map();
  for (const message of placed) {
    const own = bySeq.get(message.sender) ?? new Map();
    bySeq.set(message.sender, own);
    const seq = /** @type {Link} */ (message.chain).seq;
    if (!own.has(seq)) own.set(seq, message);
  }
  /** @type {Map<string, Warning>} */
  const warnings = new Map();
  /** @type {{before: Message, user: number, count: number}[]} */
  const gaps = [];
  /** @type {Map<number, number>} sender → the furthest place served so far */
  const furthest = new Map();
  for (const message of placed) {
    const { seq, prev } = /** @type {Link} */ (message.chain);
    const own = /** @type {Map<number, Message>} */ (bySeq.get(message.sender));
    const before = own.get(seq - 1)?.chain?.hash;
    const top = furthest.get(message.sender);
    if (own.get(seq) !== message || (before !== undefined && before !== prev)) warnings.set(message.key, "forked");
    else if (top !== undefined && seq < top) warnings.set(message.key, "out_of_order");
    if (top !== undefined && seq > top + 1) {
      let count = 0;
      for (let missing = top + 1; missing < seq; missing++) if (!own.has(missing)) count += 1;
      if (count) gaps.push({ before: message, user: message.sender, count });
    }
    furthest.set(message.sender, Math.max(top ?? seq, seq));
  }
  return { warnings, gaps };
}

/**
 * Where each entry falls: after the envelope its `after` names, before the next entry's place, and before the first
 * verified envelope that names it (or a later head).
 * @param {Message[]} messages
 * @param {Step[]} steps
 * @returns {number[]} by seq
 */
function positionsOf(messages, steps) {
  // Entries are stored in order: none falls after the next one's place.
  const bound = steps.map((step) => step?.entry.after ?? Infinity);
  for (const message of messages) {
    const seq = message.envelope?.roster_seq;
    if (message.status !== "sent" || message.id === null || !Number.isSafeInteger(seq) || !steps.length) continue;
    const last = Math.min(seq, steps.length - 1);
    bound[last] = Math.min(bound[last], message.id - 1);
  }
  for (let seq = bound.length - 2; seq >= 0; seq--) bound[seq] = Math.min(bound[seq], bound[seq + 1]);
  // An entry whose place the server has not told yet (one this browser just made) is the newest thing.
  return bound;
}
