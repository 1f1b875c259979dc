// @ts-check
// Unread counts, mentions, previews and read positions, against a scripted client and server.
import assert from "node:assert/strict";
import { test } from "node:test";

import { mentionPattern, Unread } from "../../static/js/chat/unread.js";

const ME = 7;
const BOB = 8;
const ROOM = "00000000-0000-4000-8000-000000000001";
const OTHER = "00000000-0000-4000-8000-000000000002";

/**
 * @param {number} id @param {number} sender @param {string} text
 * @param {{status?: string, at?: number}} [options]
 */
function message(id, sender, text, { status = "sent", at = id * 1000 } = {}) {
  return {
    key: `${sender}:${id}`,
    id,
    room: ROOM,
    sender,
    senderName: sender === ME ? "me" : "bob",
    sentAt: at,
    text: status === "sent" ? text : null,
    status,
    envelope: { server_time: new Date(at).toISOString() },
  };
}

/** @param {Record<string, {read: number, latest: number, active_at?: number, messages?: any[], loaded?: boolean}>} rooms */
function scene(rooms) {
  /** @type {any[]} */
  const asked = [];
  const socket = Object.assign(new EventTarget(), {
    request: async (/** @type {any} */ frame) => {
      asked.push(frame);
      return { type: "read", room: frame.room, up_to: frame.up_to };
    },
  });
  /** @type {string[]} */
  const opened = [];
  const client = Object.assign(new EventTarget(), {
    userId: ME,
    socket,
    rooms: new Map(
      Object.entries(rooms).map(([id, r]) => [
        id,
        {
          room: { id, read: r.read, latest: r.latest, active_at: r.active_at ?? 0 },
          messages: new Map((r.messages ?? []).map((m) => [m.key, m])),
          loaded: r.loaded ?? true,
          reachedStart: true,
          oldestId: r.messages?.[0]?.id ?? null,
        },
      ]),
    ),
    messages: (/** @type {string} */ id) => [...(client.rooms.get(id)?.messages.values() ?? [])].sort((a, b) => a.id - b.id),
    latestMessage: (/** @type {string} */ id) => client.messages(id).at(-1) ?? null,
    nameOf: (/** @type {number} */ id) => (id === BOB ? "bob" : `user ${id}`),
    openRoom: async (/** @type {string} */ id) => {
      opened.push(id);
      const state = client.rooms.get(id);
      if (state) state.loaded = true;
    },
  });
  const unread = new Unread(/** @type {any} */ (client), { username: "me" });
  unread.start();
  client.dispatchEvent(new CustomEvent("rooms", { detail: null }));
  return { client, socket, unread, asked, opened };
}

test("messages of others after the read position count; mine, and those that failed verification, do not", () => {
  const { unread } = scene({
    [ROOM]: {
      read: 2,
      latest: 6,
      messages: [
        message(1, BOB, "old"),
        message(2, BOB, "read already"),
        message(3, ME, "mine"),
        message(4, BOB, "hello @me"),
        message(5, BOB, "forged", { status: "failed" }),
        message(6, BOB, "and again"),
      ],
    },
  });
  assert.deepEqual(unread.counts(ROOM), { unread: 2, mentions: 1, atLeast: false });
  assert.equal(unread.total(), 2);
});

test("reading moves the position at once and asks the server; another tab's read frame clears the count here", async () => {
  const { unread, socket, asked } = scene({
    [ROOM]: { read: 0, latest: 2, messages: [message(1, BOB, "a"), message(2, BOB, "b")] },
    [OTHER]: { read: 0, latest: 9, messages: [{ ...message(9, BOB, "c"), room: OTHER }] },
  });
  assert.equal(unread.total(), 3);
  unread.markRead(ROOM);
  assert.equal(unread.counts(ROOM).unread, 0);
  assert.deepEqual(asked, [{ op: "read", room: ROOM, up_to: 2 }]);
  unread.markRead(ROOM); // nothing new: not asked again
  assert.equal(asked.length, 1);
  /** @type {any[]} */
  const told = [];
  unread.addEventListener("changed", (e) => told.push(/** @type {CustomEvent} */ (e).detail.room));
  socket.dispatchEvent(new CustomEvent("read", { detail: { type: "read", room: OTHER, up_to: 9 } }));
  assert.equal(unread.total(), 0);
  assert.deepEqual(told, [OTHER]);
});

test("a read position never moves back: not by a stale listing, nor by an old frame", () => {
  const { unread, client, socket } = scene({ [ROOM]: { read: 4, latest: 6, messages: [message(5, BOB, "x"), message(6, BOB, "y")] } });
  socket.dispatchEvent(new CustomEvent("read", { detail: { room: ROOM, up_to: 2 } }));
  /** @type {any} */ (client.rooms.get(ROOM)).room.read = 0;
  client.dispatchEvent(new CustomEvent("rooms", { detail: null }));
  assert.equal(unread.position(ROOM), 4);
  assert.equal(unread.counts(ROOM).unread, 2);
});

test("a room not loaded yet with something newer than the read position shows as unread, and is loaded first", async () => {
  const { unread, client, opened } = scene({
    [ROOM]: { read: 3, latest: 3, active_at: 5000, loaded: false },
    [OTHER]: { read: 4, latest: 10, active_at: 1000, loaded: false },
  });
  assert.deepEqual(unread.counts(OTHER), { unread: 1, mentions: 0, atLeast: true });
  assert.deepEqual(unread.counts(ROOM), { unread: 0, mentions: 0, atLeast: false });
  client.dispatchEvent(new CustomEvent("listing", { detail: { listed: 2, done: true } }));
  await unread.warm(); // the one the listing started
  assert.deepEqual(opened, [OTHER, ROOM]);
});

test("the preview is the latest message, one line, and never the text of one that failed verification", () => {
  const long = `${"word ".repeat(60)}end`;
  const { unread } = scene({ [ROOM]: { read: 0, latest: 2, messages: [message(1, BOB, "first\nsecond"), message(2, ME, long)] } });
  const preview = unread.preview(ROOM);
  assert.equal(preview?.sender, "You");
  assert.ok(preview && preview.text.length <= 140 && preview.text.endsWith("…") && !preview.text.includes("\n"));
  const { unread: forged } = scene({ [ROOM]: { read: 0, latest: 1, messages: [message(1, BOB, "secret", { status: "failed" })] } });
  assert.deepEqual(forged.preview(ROOM), { sender: "bob", text: "⚠ message not shown", at: 1000, mine: false });
});

test("rooms are as recent as their newest message, or as the server listed them", () => {
  const { unread } = scene({
    [ROOM]: { read: 0, latest: 0, active_at: 7000 },
    [OTHER]: { read: 0, latest: 9, active_at: 1000, messages: [{ ...message(9, BOB, "c", { at: 9000 }), room: OTHER }] },
  });
  assert.equal(unread.activity(ROOM), 7000);
  assert.equal(unread.activity(OTHER), 9000);
});

test("a mention is @username as a word of its own, in any case", () => {
  const mention = mentionPattern("me");
  for (const text of ["@me", "hi @ME!", "(@me)", "ping @me, now"]) assert.ok(mention.test(text), text);
  for (const text of ["me", "mail@me.example", "@meet", "@me-too", "@@me"]) assert.ok(!mention.test(text), text);
});

test("a message of a kind this page cannot show is previewed as such, never as data", () => {
  const { unread } = scene({ [ROOM]: { read: 0, latest: 1, messages: [{ ...message(1, BOB, ""), text: null, kind: "unsupported" }] } });
  assert.deepEqual(unread.preview(ROOM), { sender: "bob", text: "(needs a newer version)", at: 1000, mine: false });
});

test("counts follow each new message of the room, and only that room's are worked out again", () => {
  const { unread, client } = scene({
    [ROOM]: { read: 0, latest: 1, messages: [message(1, BOB, "a")] },
    [OTHER]: { read: 0, latest: 2, messages: [{ ...message(2, BOB, "b"), room: OTHER }] },
  });
  assert.equal(unread.total(), 2);
  const state = /** @type {any} */ (client.rooms.get(ROOM));
  const arrived = message(3, BOB, "hi @me");
  state.messages.set(arrived.key, arrived);
  client.dispatchEvent(new CustomEvent("messages", { detail: { room: ROOM } }));
  assert.deepEqual(unread.counts(ROOM), { unread: 2, mentions: 1, atLeast: false });
  assert.equal(unread.total(), 3);
  // OTHER's summary was kept: a change to its messages not told by an event is not seen until one is.
  const other = /** @type {any} */ (client.rooms.get(OTHER));
  other.messages.set("x", { ...message(4, BOB, "untold"), room: OTHER });
  assert.equal(unread.counts(OTHER).unread, 1);
});
