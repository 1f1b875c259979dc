// @ts-check
// The chat client's catching up and live frames, against a scripted server: real sealed envelopes, a socket that
// answers `sync` as the server does (pages of 100 after an id) and relays `messages` frames when the test says.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient } from "../../static/js/chat/client.js";
import { generateIdentity, publicKeys, sealEnvelope } from "../../static/js/crypto/index.js";

const ROOM = crypto.randomUUID();
const SYNC_PAGE = 100; // chat.protocol.PAGE_MAX: what the server sends per `sync` page

/** @param {number} id */
async function member(id) {
  const identity = await generateIdentity();
  const keys = await publicKeys(identity);
  return { id, identity, keys };
}

const alice = await member(3);
const bob = await member(11);

/**
 * The envelope as the server relays it: alice's sealed envelope with the id it was stored under.
 * @param {number} id @param {{payloadJson?: string}} [testOnly] a payload no page writes (sealEnvelope's test option)
 */
async function stored(id, testOnly = {}) {
  const sealed = await sealEnvelope(
    {
      room: ROOM,
      senderId: alice.id,
      clientId: crypto.randomUUID(),
      sentAt: Date.now(),
      text: `message ${id}`,
      recipients: [alice, bob].map((m) => ({ id: m.id, agreementPublicKey: m.keys.agreementPublicKey })),
      signingPrivateKey: alice.identity.signing.privateKey,
    },
    testOnly,
  );
  return { ...sealed, id, server_time: new Date().toISOString() };
}

/** Bob's client, its trust store holding alice's accepted key, on a socket that answers with `answer`. */
function bobsClient(/** @type {(frame: any) => Promise<any>} */ answer) {
  const socket = Object.assign(new EventTarget(), { pending: new Map(), request: answer });
  const contact = {
    id: alice.id,
    username: "alice",
    status: "trusted",
    verified: false,
    served: null,
    agreementPublicKey: alice.keys.agreementPublicKey,
    signingKeys: [alice.keys.signingPublicKey],
    keys: [
      {
        signing_public_key: alice.keys.signingPublicKey,
        agreement_public_key: alice.keys.agreementPublicKey,
        key_version: 1,
        accepted_at: new Date(0).toISOString(),
      },
    ],
    wasVerified: false,
  };
  const trust = { contacts: async () => new Map([[alice.id, contact]]) };
  const keys = {
    signingPrivateKey: bob.identity.signing.privateKey,
    agreementPrivateKey: bob.identity.agreement.privateKey,
  };
  const client = new ChatClient({ socket: /** @type {any} */ (socket), trust: /** @type {any} */ (trust), keys });
  client.userId = bob.id;
  return client;
}

test("catching up over several pages while a live message arrives misses none of the pages", async () => {
  // Bob's tab had messages up to 5; 150 more were stored while it was away, and 156 arrives live during the catch-up.
  const missed = await Promise.all(Array.from({ length: 150 }, (_, i) => stored(6 + i)));
  const live = await stored(156);
  const asked = [];
  const { client, state } = loadedClient([...missed, live], 5, asked, async () => {
    if (asked.length === 1) {
      // Relayed while the first page is on its way.
      client.socket.dispatchEvent(
        new CustomEvent("messages", { detail: { type: "messages", room: ROOM, after: 155, envelopes: [live] } }),
      );
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  });

  await client.catchUp(ROOM);
  await client.live;
  await state.syncing;

  // Page after page from where the last ended, then once more for the live frame that did not follow on.
  assert.deepEqual(asked, [5, 105, 156]);
  const shown = [...state.messages.values()].filter((m) => m.status === "sent").map((m) => Number(m.id));
  assert.deepEqual(
    shown.sort((a, b) => a - b),
    Array.from({ length: 151 }, (_, i) => 6 + i),
  );
  assert.equal(state.newestId, 156);
});

/**
 * Bob's client with room ROOM loaded up to `newestId` (null: as the room came, Bob joining after `joinedAfter`),
 * listening to its socket; `sync` answers from `storedSoFar` (after `meanwhile`, if given), and each `after` it was
 * asked for goes into `asked`.
 * @param {any[]} storedSoFar @param {number | null} newestId @param {number[]} asked
 * @param {() => Promise<void>} [meanwhile] @param {number} [joinedAfter]
 */
function loadedClient(storedSoFar, newestId, asked, meanwhile, joinedAfter = 0) {
  const client = bobsClient(async (frame) => {
    assert.equal(frame.op, "sync");
    asked.push(frame.after);
    if (meanwhile) await meanwhile();
    const newer = storedSoFar.filter((env) => env.id > frame.after);
    return { items: newer.slice(0, SYNC_PAGE), more: newer.length > SYNC_PAGE };
  });
  Object.assign(client.socket, { start() {} });
  client.start();
  const state = client.upsertRoom({
    id: ROOM,
    name: "Plans",
    kind: "group",
    policy: "invite",
    owner: alice.id,
    members: [
      { id: alice.id, username: "alice" },
      { id: bob.id, username: "bob" },
    ],
    joined_after: joinedAfter,
  });
  Object.assign(state, newestId === null ? { loaded: true } : { newestId, loaded: true });
  return { client, state };
}

/** @param {ChatClient} client @param {number} after @param {any[]} envelopes */
async function relay(client, after, envelopes) {
  const detail = { type: "messages", room: ROOM, after, envelopes };
  client.socket.dispatchEvent(new CustomEvent("messages", { detail }));
  await client.live;
  await client.rooms.get(ROOM)?.syncing; // the gap it found, if any, fetched
}

test("a live frame relayed before an earlier commit's is shown and the gap between is fetched", async () => {
  const [ten, eleven, twelve] = [await stored(10), await stored(11), await stored(12)];
  const asked = [];
  const { client, state } = loadedClient([ten, eleven], 9, asked);

  await relay(client, 10, [eleven]); // 10 was committed first, but its frame is still on the way
  assert.deepEqual(asked, [9]); // the tab asked for what follows 9, and got 10 as well
  assert.equal(state.newestId, 11);
  await relay(client, 9, [ten]); // the late frame: nothing new, nothing asked
  await relay(client, 11, [twelve]); // follows on: no request
  assert.deepEqual(asked, [9]);
  assert.equal(state.newestId, 12);
  const shown = [...state.messages.values()].map((m) => [m.id, m.status, m.text]);
  assert.deepEqual(
    shown.sort((a, b) => Number(a[0]) - Number(b[0])),
    [10, 11, 12].map((id) => [id, "sent", `message ${id}`]),
  );
});

test("frames that follow on are filed without asking the server", async () => {
  const envelopes = await Promise.all([21, 22, 23].map(stored));
  const asked = [];
  const { client, state } = loadedClient(envelopes, 20, asked);
  for (const [index, env] of envelopes.entries()) await relay(client, 20 + index, [env]);
  assert.deepEqual(asked, []);
  assert.equal(state.newestId, 23);
  assert.equal(state.messages.size, 3);
});

test("a member who joined later takes the first live frame after joining as following on", async () => {
  // Nothing before joining is Bob's to read: the room's envelope 40 came before he joined, his history is empty.
  const first = await stored(41);
  const asked = [];
  const { client, state } = loadedClient([first], null, asked, undefined, 40);
  await relay(client, 40, [first]);
  assert.deepEqual(asked, []);
  assert.equal(state.newestId, 41);
});

test("a genuine message of a kind this page does not show says so, with no text", async () => {
  const later = JSON.stringify({ kind: "poll", question: "lunch?", options: ["yes", "no"] });
  const reaction = JSON.stringify({ kind: "reaction", target: { sender: bob.id, client_id: crypto.randomUUID() }, emoji: "👍", on: true });
  const envelopes = [await stored(51), await stored(52, { payloadJson: later }), await stored(53, { payloadJson: reaction })];
  const { client, state } = loadedClient(envelopes, 50, []);
  await relay(client, 50, envelopes);
  const shown = [...state.messages.values()].sort((a, b) => Number(a.id) - Number(b.id));
  assert.deepEqual(
    shown.map((m) => [m.id, m.status, m.kind ?? "message", m.text]),
    [
      [51, "sent", "message", "message 51"],
      [52, "sent", "unsupported", null],
      [53, "sent", "unsupported", null],
    ],
  );
});
