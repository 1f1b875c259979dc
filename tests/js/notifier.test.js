// @ts-check
// Desktop notifications: once per new message of someone else, never for the room in view, a muted room, history
// loaded later or a message that failed verification; the text only if the user wants it shown.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Notifier } from "../../static/js/chat/notifier.js";
import { Preferences } from "../../static/js/chat/preferences.js";

const ME = 7;
const BOB = 8;
const ROOM = "00000000-0000-4000-8000-000000000001";
const DM = "00000000-0000-4000-8000-000000000002";

/** @param {string} room @param {number} id @param {number} sender @param {string} text @param {string} [status] */
function message(room, id, sender, text, status = "sent") {
  return { key: `${sender}:${id}`, id, room, sender, sentAt: id, text: status === "sent" ? text : null, status };
}

function memoryStore() {
  /** @type {Map<string, string>} */
  const items = new Map();
  return { getItem: (/** @type {string} */ k) => items.get(k) ?? null, setItem: (/** @type {string} */ k, /** @type {string} */ v) => void items.set(k, v) };
}

function scene({ looking = /** @type {string | null} */ (null), enabled = true } = {}) {
  const client = Object.assign(new EventTarget(), {
    userId: ME,
    rooms: new Map([
      [ROOM, { room: { id: ROOM, kind: "group", latest: 5, read: 5 }, messages: new Map() }],
      [DM, { room: { id: DM, kind: "direct", latest: 0, read: 0 }, messages: new Map() }],
    ]),
    nameOf: (/** @type {number} */ id) => (id === BOB ? "bob" : "me"),
    roomName: (/** @type {any} */ room) => (room.kind === "direct" ? "bob" : "Team"),
  });
  const preferences = new Preferences(memoryStore());
  preferences.set({ notifications: enabled });
  const state = { looking, read: new Map() };
  /** @type {any[]} */
  const shown = [];
  const notifier = new Notifier({
    client: /** @type {any} */ (client),
    unread: { position: (id) => state.read.get(id) ?? 0 },
    preferences,
    looking: () => state.looking,
    show: (s) => shown.push(s),
  });
  notifier.start();
  client.dispatchEvent(new CustomEvent("rooms", { detail: null }));
  /** @param {string} room @param {any[]} messages */
  const arrive = (room, ...messages) => {
    for (const m of messages) client.rooms.get(room)?.messages.set(m.key, m);
    client.dispatchEvent(new CustomEvent("messages", { detail: { room } }));
  };
  return { notifier, preferences, shown, arrive, state };
}

test("a new message of someone else in another room is shown once, with its text and who sent it where", () => {
  const { shown, arrive } = scene({ looking: DM });
  arrive(ROOM, message(ROOM, 6, BOB, "lunch?"));
  arrive(ROOM); // the same messages told again (a re-render): not shown twice
  assert.deepEqual(shown, [{ title: "bob in Team", body: "lunch?", room: ROOM, tag: `${BOB}:6` }]);
});

test("nothing for the room in view, a muted room, my own messages or one that failed verification", () => {
  const { shown, arrive, preferences } = scene({ looking: ROOM });
  arrive(ROOM, message(ROOM, 6, BOB, "seen here"));
  preferences.mute(DM, true);
  arrive(DM, message(DM, 7, BOB, "muted"));
  preferences.mute(DM, false);
  arrive(DM, message(DM, 8, ME, "mine"), message(DM, 9, BOB, "forged", "failed"));
  assert.deepEqual(shown, []);
  arrive(DM, message(DM, 10, BOB, "now"));
  assert.deepEqual(shown.map((s) => [s.title, s.body]), [["bob", "now"]]);
});

test("history that was there before, or read in another tab, is not new", () => {
  const { shown, arrive, state } = scene();
  arrive(ROOM, message(ROOM, 3, BOB, "old"), message(ROOM, 5, BOB, "listed as read"));
  state.read.set(DM, 12);
  arrive(DM, message(DM, 12, BOB, "read elsewhere"));
  assert.deepEqual(shown, []);
});

test("off unless asked for; and the text left out when the user chose so", () => {
  const off = scene({ enabled: false });
  off.arrive(ROOM, message(ROOM, 6, BOB, "quiet"));
  assert.deepEqual(off.shown, []);
  const hidden = scene();
  hidden.preferences.set({ notificationText: false });
  hidden.arrive(ROOM, message(ROOM, 6, BOB, "secret plans"));
  assert.deepEqual(hidden.shown.map((s) => s.body), ["New message"]);
});

test("preferences survive a reload and ignore what is malformed", () => {
  const store = memoryStore();
  new Preferences(store).set({ notifications: true, muted: [ROOM] });
  const again = new Preferences(store);
  assert.equal(again.notifications, true);
  assert.ok(again.isMuted(ROOM));
  store.setItem("securechat.preferences", '{"notifications": "yes", "muted": [1, "x"]}');
  const odd = new Preferences(store);
  assert.equal(odd.notifications, false);
  assert.deepEqual(odd.choices.muted, ["x"]);
});
