// @ts-check
// The user's rooms come in pages: `ready` carries the first, `rooms` asks for the rest from the cursor each page gave.
// Against a scripted server that pages a list of rooms as chat.selectors.my_rooms_page does (by membership id).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient } from "../../static/js/chat/client.js";
import { SocketError } from "../../static/js/net/socket.js";

const ME = 7;
const PAGE = 100; // chat.protocol.ROOMS_PAGE

/** A room from before rosters, as `room_json` has it. @param {number} index */
function room(index) {
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    kind: "group",
    policy: "invite",
    owner: ME,
    members: [{ id: ME, username: "me" }],
    joined_after: 0,
    roster: null,
    name: `Room ${index}`,
  };
}

/**
 * A server whose list is `rooms` (each with its membership id, ascending), and a client on it. `meanwhile` runs as
 * each `rooms` request arrives, before it is answered; every cursor asked for goes into `asked`.
 * @param {{id: number, room: any}[]} memberships
 */
function scene(memberships) {
  /** @type {number[]} */
  const asked = [];
  const server = {
    memberships,
    /** @type {(after: number) => Promise<void>} */
    meanwhile: async () => {},
    /** @param {number} after */
    page(after) {
      const next = server.memberships.filter((m) => m.id > after);
      const taken = next.slice(0, PAGE);
      return { rooms: taken.map((m) => m.room), more: next.length > PAGE, after: taken.at(-1)?.id ?? after };
    },
  };
  const request = async (/** @type {any} */ frame) => {
    if (frame.op === "roster") return { entries: [], more: false }; // rooms from before rosters: no chain
    if (frame.op === "invitations") return { type: "invitations", ref: "i", rooms: [], more: false, after: 0 };
    assert.equal(frame.op, "rooms");
    asked.push(frame.after);
    await server.meanwhile(frame.after);
    return { type: "rooms", ref: "r", ...server.page(frame.after) };
  };
  const socket = Object.assign(new EventTarget(), { pending: new Map(), request, start() {} });
  const trust = { contacts: async () => new Map() };
  const client = new ChatClient({ socket: /** @type {any} */ (socket), trust: /** @type {any} */ (trust), keys: /** @type {any} */ ({}) });
  /** @type {any[]} */
  const listings = [];
  /** @type {string[]} */
  const problems = [];
  client.addEventListener("listing", (e) => listings.push(/** @type {CustomEvent} */ (e).detail));
  client.addEventListener("problem", (e) => problems.push(/** @type {CustomEvent} */ (e).detail.message));
  client.start();
  /** The server says `ready`, with the first page; resolves once the client has listed every page. */
  const ready = async () => {
    socket.dispatchEvent(new CustomEvent("ready", { detail: { type: "ready", user: ME, ...server.page(0) } }));
    await client.listed;
  };
  return { client, server, socket, asked, listings, problems, ready };
}

/** @param {number} count @param {number} [from] */
function memberships(count, from = 1) {
  return Array.from({ length: count }, (_, i) => ({ id: 10 * (from + i), room: room(from + i) }));
}

/** @param {ChatClient} client */
function listed(client) {
  return [...client.rooms.values()].map((state) => state.room.name);
}

test("a ready with more pages lists every room once, asking from each page's cursor", async () => {
  const { client, asked, listings, ready } = scene(memberships(250));
  await ready();
  assert.deepEqual(asked, [1000, 2000]);
  assert.deepEqual(
    listed(client),
    Array.from({ length: 250 }, (_, i) => `Room ${i + 1}`),
  );
  assert.deepEqual(listings, [
    { listed: 100, done: false },
    { listed: 200, done: false },
    { listed: 250, done: true },
  ]);
});

test("a reconnect lists no room twice, keeps a room an event brought, and drops only a room no page named", async () => {
  const { client, server, socket, asked, ready } = scene(memberships(250));
  await ready();
  // While away: she left room 5 and was put in room 251. As the pages come, a room event names room 300, whose
  // membership committed behind the page that would have listed it.
  server.memberships = [...server.memberships.filter((m) => m.room.name !== "Room 5"), ...memberships(1, 251)];
  server.meanwhile = async (after) => {
    if (after !== server.page(0).after) return;
    socket.dispatchEvent(new CustomEvent("room", { detail: { type: "room", event: "added", room: room(300) } }));
  };
  asked.length = 0;
  await ready();
  assert.deepEqual(asked, [1010, 2010]); // each page from where the one before ended
  const names = listed(client);
  assert.equal(new Set(names).size, names.length);
  assert.equal(names.length, 251);
  assert.ok(!names.includes("Room 5"));
  assert.ok(names.includes("Room 251") && names.includes("Room 300"));
});

test("a socket that closes while the pages come leaves the list to the next ready", async () => {
  const { client, server, listings, problems, ready } = scene(memberships(150));
  await ready();
  let closed = true;
  server.meanwhile = async () => {
    if (closed) throw new SocketError({ code: "offline", detail: "The connection was lost." });
  };
  server.memberships = memberships(150, 2); // room 1 left while away
  listings.length = 0;
  // The first page came, the socket closed before the second: nothing is dropped, nothing is a problem.
  await ready();
  assert.deepEqual(
    listed(client),
    Array.from({ length: 150 }, (_, i) => `Room ${i + 1}`),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(listings, [{ listed: 100, done: false }]);
  closed = false;
  await ready();
  assert.deepEqual(
    listed(client),
    Array.from({ length: 150 }, (_, i) => `Room ${i + 2}`),
  );
  assert.deepEqual(listings.at(-1), { listed: 150, done: true });
});
