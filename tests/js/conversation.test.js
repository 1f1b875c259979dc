// @ts-check
// The conversation's runs and avatars: which messages continue their sender's run (no avatar, name and time only
// for assistive technology and on hover), the letters and colour of each sender's avatar, and what Retry refuses.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient } from "../../static/js/chat/client.js";
import { AVATAR_COLOURS, avatarColour, initials } from "../../static/js/ui/avatar.js";
import { continues, GROUP_MS } from "../../static/js/ui/transcript.js";

const NOON = new Date(2026, 11, 4, 12, 0).getTime();

/**
 * A shown message of `sender` at `at`.
 * @param {number} sender @param {number} at @param {Partial<import("../../static/js/chat/client.js").Message>} [more]
 * @returns {{message: import("../../static/js/chat/client.js").Message, warning: import("../../static/js/chat/timeline.js").Warning}}
 */
function item(sender, at, more = {}) {
  const message = {
    key: `${sender}:${at}`,
    id: null,
    room: "r",
    sender,
    senderName: `user ${sender}`,
    sentAt: at,
    text: "hi",
    status: /** @type {const} */ ("sent"),
    reason: null,
    verified: true,
    envelope: null,
    ...more,
  };
  return { message, warning: null };
}

test("a sender's next message within five minutes on the same day continues the run", () => {
  assert.equal(continues(item(1, NOON), item(1, NOON + 1000)), true);
  assert.equal(continues(item(1, NOON), item(1, NOON + GROUP_MS)), true);
});

test("a run ends at another sender, a longer pause, a new day, a line between, or a failed message", () => {
  assert.equal(continues(null, item(1, NOON)), false); // first of the room, or a line (roster, key, day) before it
  assert.equal(continues(item(1, NOON), item(2, NOON + 1000)), false);
  assert.equal(continues(item(1, NOON), item(1, NOON + GROUP_MS + 1)), false);
  const lateEvening = new Date(2026, 11, 4, 23, 58).getTime();
  assert.equal(continues(item(1, lateEvening), item(1, lateEvening + 3 * 60 * 1000)), false); // after midnight
  assert.equal(continues(item(1, NOON), item(1, NOON - 1000)), false); // written before the one shown above it
  const failed = item(1, NOON + 1000, { status: "failed", reason: "bad_signature", text: null });
  assert.equal(continues(item(1, NOON), failed), false);
  assert.equal(continues(failed, item(1, NOON + 2000)), false);
  const retired = { ...item(1, NOON + 1000), warning: /** @type {const} */ ("retired") };
  assert.equal(continues(item(1, NOON), retired), false);
});

test("initials are the first letter, or the first letters of two words", () => {
  assert.equal(initials("alice"), "A");
  assert.equal(initials("mary.jane"), "MJ");
  assert.equal(initials("jean-luc_picard"), "JL");
  assert.equal(initials("bob_42"), "B"); // a number is not a word
  assert.equal(initials("alice_ffb3653a"), "A"); // nor letters and digits mixed
  assert.equal(initials("_x"), "_");
  assert.equal(initials("élodie"), "É");
  assert.equal(initials("42"), "4");
  assert.equal(initials(""), "?");
});

test("each user id has one colour of the palette, and neighbouring ids differ", () => {
  const colours = Array.from({ length: 64 }, (_, id) => avatarColour(id));
  assert.ok(colours.every((c) => Number.isInteger(c) && c >= 1 && c <= AVATAR_COLOURS));
  assert.equal(new Set(colours).size, AVATAR_COLOURS);
  for (let id = 1; id < 64; id += 1) assert.notEqual(avatarColour(id), avatarColour(id - 1));
  assert.equal(avatarColour(12345), avatarColour(12345));
});

test("retry sends again only a refused message of mine", async () => {
  const transmitted = [];
  const socket = Object.assign(new EventTarget(), {
    pending: new Map(),
    sendEnvelope: (/** @type {any} */ ...args) => transmitted.push(args),
  });
  const client = new ChatClient({ socket: /** @type {any} */ (socket), trust: /** @type {any} */ ({}), keys: {} });
  client.userId = 7;
  const state = client.upsertRoom({
    id: "room",
    name: "Plans",
    kind: "group",
    policy: "invite",
    owner: 7,
    members: [{ id: 7, username: "me" }],
    joined_after: 0,
  });
  const shown = [
    item(7, NOON, { key: "mine-sent" }).message,
    item(8, NOON, { key: "theirs-rejected", status: "rejected", reason: "no" }).message,
    item(7, NOON, { key: "mine-pending", status: "pending" }).message,
  ];
  for (const message of shown) state.messages.set(message.key, message);
  for (const message of shown) await client.retry("room", message.key);
  await client.retry("room", "no-such-key");
  assert.deepEqual([...state.messages.keys()], ["mine-sent", "theirs-rejected", "mine-pending"]);
  assert.deepEqual(transmitted, []);
});
