// @ts-check
// Invitations are read in pages after each `ready`, kept apart from the rooms, and follow the `invitation` frames.
// Against a scripted server that pages them as chat.selectors.my_invitations_page does (by membership id).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient } from "../../static/js/chat/client.js";

const ME = 7;
const PAGE = 100; // chat.protocol.ROOMS_PAGE

/** An invitation to a room, as `room_json` has it for its invitee. @param {number} index */
function invited(index) {
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    kind: "group",
    policy: "invite",
    owner: 3,
    members: [{ id: 3, username: "alice" }, { id: ME, username: "me", pending: true }],
    joined_after: 0,
    roster: null,
    name: null,
    invited_by: 3,
  };
}

/** @param {number[]} indexes */
function scene(indexes) {
  /** @type {number[]} */
  const asked = [];
  const server = {
    pending: indexes.map((index) => ({ id: 10 * index, room: invited(index) })),
    /** @param {number} after */
    page(after) {
      const next = server.pending.filter((m) => m.id > after);
      const taken = next.slice(0, PAGE);
      return { rooms: taken.map((m) => m.room), more: next.length > PAGE, after: taken.at(-1)?.id ?? after };
    },
  };
  const request = async (/** @type {any} */ frame) => {
    if (frame.op === "roster") return { entries: [], more: false };
    if (frame.op === "rooms") return { type: "rooms", rooms: [], more: false, after: frame.after };
    assert.equal(frame.op, "invitations");
    asked.push(frame.after);
    return { type: "invitations", ref: "i", ...server.page(frame.after) };
  };
  const socket = Object.assign(new EventTarget(), { pending: new Map(), request, start() {} });
  const trust = { contacts: async () => new Map() };
  const client = new ChatClient({ socket: /** @type {any} */ (socket), trust: /** @type {any} */ (trust), keys: /** @type {any} */ ({}) });
  /** @type {string[]} */
  const problems = [];
  client.addEventListener("problem", (e) => problems.push(/** @type {CustomEvent} */ (e).detail.message));
  client.start();
  const ready = async () => {
    socket.dispatchEvent(new CustomEvent("ready", { detail: { type: "ready", user: ME, rooms: [], more: false, after: 0 } }));
    await client.listed;
    await client.invitations.load(); // the one `ready` started is the same read; this one waits for its end
  };
  return { client, server, socket, asked, problems, ready };
}

test("every invitation is read, page by page from each cursor, and none is listed as a room", async () => {
  const { client, asked, problems, ready } = scene(Array.from({ length: 150 }, (_, i) => i + 1));
  await ready();
  assert.deepEqual(asked.slice(-2), [0, 1000]);
  assert.equal(client.invitations.rooms.size, 150);
  assert.equal(client.rooms.size, 0);
  assert.deepEqual(problems, []);
});

test("an invitation frame adds one and removes one; a reconnect drops only those no page named", async () => {
  const { client, server, socket, ready } = scene([1, 2]);
  await ready();
  const frame = (/** @type {any} */ detail) => socket.dispatchEvent(new CustomEvent("invitation", { detail }));
  frame({ type: "invitation", event: "added", room: invited(3) });
  frame({ type: "invitation", event: "removed", room: { id: invited(1).id } });
  assert.deepEqual([...client.invitations.rooms.keys()], [invited(2).id, invited(3).id]);
  server.pending = [{ id: 30, room: invited(3) }]; // 2 was taken back while away
  await ready();
  assert.deepEqual([...client.invitations.rooms.keys()], [invited(3).id]);
});

test("an invitation to a room already mine is not one", async () => {
  const { client, socket, ready } = scene([]);
  await ready();
  client.upsertRoom({ ...invited(4), members: [{ id: 3, username: "alice" }, { id: ME, username: "me" }] });
  socket.dispatchEvent(new CustomEvent("invitation", { detail: { type: "invitation", event: "added", room: invited(4) } }));
  assert.equal(client.invitations.rooms.size, 0);
});
