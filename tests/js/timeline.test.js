// @ts-check
// The conversation's order and its warnings, from what is signed: a change of members is never shown after a message
// wrapped for the list it made, and a message wrapped for an out-of-date list (or, in a room with a roster, for the
// server's list) is flagged whatever the server says of where the change fell.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CLOCK_SKEW_MS, timeline } from "../../static/js/chat/timeline.js";
import { verifyEntries } from "../../static/js/roster/chain.js";
import { person, Story } from "./roster-cast.js";

const alice = await person(3);
const bob = await person(11);
const carol = await person(25);
const T = 1_800_000_000_000;

/** A room where alice adds carol, then removes her; the server says the removal fell after envelope `removedAfter`. */
async function removal(removedAfter = 7) {
  const story = new Story([alice, bob, carol]);
  await story.create(alice, [bob]);
  await story.about(alice, carol, "add");
  await story.about(alice, carol, "remove");
  const steps = await verifyEntries({ room: story.room, entries: story.entries, state: null, keyFor: story.keyFor });
  for (const step of steps) step.entry.body.at = T;
  steps[1].entry.after = 0;
  steps[2].entry.after = removedAfter;
  return steps;
}

/** A verified message as the chat client keeps it. */
function message(id, { v = 2, seq = 2, sentAt = T } = {}) {
  const envelope = v === 2 ? { v, roster_seq: seq, sent_at: sentAt } : { v, sent_at: sentAt };
  return { key: `k${id}`, id, status: "sent", envelope, sentAt };
}

/** @param {any[]} items */
const warnings = (items) => items.filter((i) => i.type === "message").map((i) => [i.message.id, i.warning]);
/** @param {any[]} items */
const order = (items) =>
  items
    .filter((i) => i.type !== "day")
    .map((i) => (i.type === "message" ? `m${i.message.id}` : i.type === "key" ? "key" : `e${i.step.entry.body.seq}`));

test("changes sit where they were stored, and messages wrapped for the new list come after them", async () => {
  const steps = await removal(7);
  const items = timeline({ messages: [message(5, { seq: 1 }), message(8)], steps, reachedStart: true, oldestId: 5 });
  assert.deepEqual(order(items), ["e0", "e1", "m5", "e2", "m8"]);
  assert.deepEqual(warnings(items), [[5, null], [8, null]]);
});

test("a change the server places late still comes before the first message that names it", async () => {
  const steps = await removal(100);
  const items = timeline({ messages: [message(5, { seq: 1 }), message(8)], steps, reachedStart: true, oldestId: 5 });
  assert.deepEqual(order(items), ["e0", "e1", "m5", "e2", "m8"]);
});

test("a message naming the head before a removal, stored after it, is flagged as sent to an out-of-date list", async () => {
  const steps = await removal(7);
  const items = timeline({ messages: [message(8, { seq: 1 })], steps, reachedStart: true, oldestId: 8 });
  assert.deepEqual(warnings(items), [[8, "stale"]]);
});

test("the server cannot hide it by placing the removal late: a message naming the new head, or the signed times, give it away", async () => {
  // Alice's message naming the new head is stored before bob's stale one: the removal came before both.
  const placed = timeline({ messages: [message(7), message(8, { seq: 1 })], steps: await removal(100), reachedStart: true, oldestId: 7 });
  assert.deepEqual(warnings(placed), [[7, null], [8, "stale"]]);
  // No message names the new head yet, but bob's was written well after the removal was signed.
  const timed = timeline({
    messages: [message(8, { seq: 1, sentAt: T + CLOCK_SKEW_MS + 1 })],
    steps: await removal(100),
    reachedStart: true,
    oldestId: 8,
  });
  assert.deepEqual(warnings(timed), [[8, "stale"]]);
  // Within the clocks' tolerance, and placed before the removal: no warning (an honest race looks like this).
  const close = timeline({ messages: [message(6, { seq: 1, sentAt: T + 1000 })], steps: await removal(7), reachedStart: true, oldestId: 6 });
  assert.deepEqual(warnings(close), [[6, null]]);
});

test("a v1 message in a room with a roster is flagged once the roster began, whatever the server says of its create", async () => {
  const steps = await removal(7);
  steps[0].entry.after = 1000; // the server claims the room was signed late
  const items = timeline({ messages: [message(5), message(6, { v: 1 })], steps, reachedStart: true, oldestId: 5 });
  assert.deepEqual(warnings(items), [[5, null], [6, "unsigned"]]);
  // A v1 message from before the roster, written before the create was signed: no warning.
  const adopted = await removal(7);
  adopted[0].entry.after = adopted[1].entry.after = 3; // signed when the room's newest envelope was 3
  const early = timeline({ messages: [message(1, { v: 1, sentAt: T - 5000 })], steps: adopted, reachedStart: true, oldestId: 1 });
  assert.deepEqual(warnings(early), [[1, null]]);
});

test("a member's accepted key change is a line before the first message sent after it, and waits for older history", async () => {
  const steps = await removal(7);
  const messages = [message(5, { seq: 1, sentAt: T }), message(8, { sentAt: T + 2000 })];
  const keyChanges = [{ user: bob.id, at: T + 1000, keyVersion: 2 }];
  const items = timeline({ messages, steps, reachedStart: true, oldestId: 5, keyChanges });
  assert.deepEqual(order(items), ["e0", "e1", "m5", "e2", "key", "m8"]);
  // Newer than every message: last. Older than every loaded one, with older history still to load: not yet shown.
  const latest = timeline({ messages, steps, reachedStart: true, oldestId: 5, keyChanges: [{ ...keyChanges[0], at: T + 5000 }] });
  assert.equal(order(latest).at(-1), "key");
  const early = timeline({ messages: [messages[1]], steps: [], reachedStart: false, oldestId: 8, keyChanges });
  assert.deepEqual(order(early), ["m8"]);
});

test("messages in a row that only my keys from before my reset could open are one quiet item", async () => {
  const unreadable = (/** @type {number} */ id) => ({ ...message(id, { v: 1 }), status: "failed", reason: "before_reset" });
  const items = timeline({
    messages: [unreadable(1), unreadable(2), message(3, { v: 1 }), unreadable(4)],
    steps: [],
    reachedStart: true,
    oldestId: 1,
  }).filter((i) => i.type !== "day");
  assert.deepEqual(
    items.map((i) => (i.type === "reset" ? `reset×${i.count}` : i.type === "message" ? `m${i.message.id}` : i.type)),
    ["reset×2", "m3", "reset×1"],
  );
});

test("each day's first message is preceded by that day's date", () => {
  const day = 24 * 60 * 60 * 1000;
  const messages = [message(1, { v: 1, sentAt: T }), message(2, { v: 1, sentAt: T + 60_000 }), message(3, { v: 1, sentAt: T + day })];
  const items = timeline({ messages, steps: [], reachedStart: true, oldestId: 1 });
  assert.deepEqual(
    items.map((i) => (i.type === "day" ? "day" : `m${/** @type {any} */ (i).message.id}`)),
    ["day", "m1", "m2", "day", "m3"],
  );
  assert.equal(/** @type {any} */ (items[3]).at, T + day);
});

/**
 * A verified v3 message of `sender` at place `seq` of their chain, naming `prev` as the one before.
 * @param {number} id @param {number} sender @param {number} seq @param {string | null} [prev]
 */
function chained(id, sender, seq, prev = seq === 1 ? null : `h${sender}.${seq - 1}`) {
  const envelope = { v: 3, roster_seq: null, sent_at: T, chain_seq: seq };
  return { key: `k${id}`, id, sender, status: "sent", envelope, sentAt: T, chain: { seq, prev, hash: `h${sender}.${seq}`, keyVersion: 1 } };
}

/** @param {any[]} items */
const gaps = (items) => {
  const shown = items.filter((i) => i.type !== "day");
  return shown.flatMap((i, n) => (i.type === "gap" ? [[`m${shown[n + 1].message.id}`, i.user, i.count]] : []));
};

test("a sender's chain in order, interleaved with another's, shows no warning", () => {
  const messages = [chained(1, 3, 1), chained(2, 11, 4), chained(3, 3, 2), chained(4, 11, 5), chained(5, 3, 3)];
  const items = timeline({ messages, steps: [], reachedStart: true, oldestId: 1 });
  assert.deepEqual(warnings(items), [[1, null], [2, null], [3, null], [4, null], [5, null]]);
  assert.deepEqual(gaps(items), []);
});

test("two stored ids swapped and one envelope dropped: the moved message and the gap are shown", () => {
  // alice wrote 1 "do NOT sell", 2 "sell everything", 3 "ok"; the server swapped 1 and 2 and dropped 3's successor.
  const messages = [chained(10, 3, 2), chained(11, 3, 1), chained(12, 3, 4)];
  const items = timeline({ messages, steps: [], reachedStart: true, oldestId: 10 });
  assert.deepEqual(warnings(items), [[10, null], [11, "out_of_order"], [12, null]]);
  assert.deepEqual(gaps(items), [["m12", 3, 1]]);
});

test("a dropped run of messages is one line with their count, before the next message of that sender", () => {
  const messages = [chained(1, 3, 1), chained(2, 11, 1), chained(3, 3, 5)];
  const items = timeline({ messages, steps: [], reachedStart: true, oldestId: 1 });
  assert.deepEqual(gaps(items), [["m3", 3, 3]]);
  assert.deepEqual(
    items.filter((i) => i.type !== "day").map((i) => i.type),
    ["message", "message", "gap", "message"],
  );
});

test("two envelopes in one place, or one that names another predecessor, are a fork", () => {
  const duplicate = timeline({ messages: [chained(1, 3, 1), chained(2, 3, 2), chained(3, 3, 2, "h3.1")], steps: [], reachedStart: true, oldestId: 1 });
  assert.deepEqual(warnings(duplicate), [[1, null], [2, null], [3, "forked"]]);
  const other = timeline({ messages: [chained(1, 3, 1), chained(2, 3, 2, "not h3.1")], steps: [], reachedStart: true, oldestId: 1 });
  assert.deepEqual(warnings(other), [[1, null], [2, "forked"]]);
});

test("history not loaded yet is no gap: only places between two served messages count", () => {
  const items = timeline({ messages: [chained(40, 3, 17), chained(41, 3, 18)], steps: [], reachedStart: false, oldestId: 40 });
  assert.deepEqual(warnings(items), [[40, null], [41, null]]);
  assert.deepEqual(gaps(items), []);
});
