// @ts-check
// The chat client's catching up after a reconnect, against a scripted server: real sealed envelopes, a socket that
// answers `sync` as the server does (pages of 100 after an id) and delivers a live message while a page is on its way.
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

/** The envelope as the server relays it: alice's sealed envelope with the id it was stored under. @param {number} id */
async function stored(id) {
  const sealed = await sealEnvelope({
    room: ROOM,
    senderId: alice.id,
    clientId: crypto.randomUUID(),
    sentAt: Date.now(),
    text: `message ${id}`,
    recipients: [alice, bob].map((m) => ({ id: m.id, agreementPublicKey: m.keys.agreementPublicKey })),
    signingPrivateKey: alice.identity.signing.privateKey,
  });
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
  const client = bobsClient(async (frame) => {
    assert.equal(frame.op, "sync");
    asked.push(frame.after);
    const newer = [...missed, live].filter((env) => env.id > frame.after);
    if (asked.length === 1) await client.onEnvelopes(ROOM, [live]); // relayed while the first page is on its way
    return { items: newer.slice(0, SYNC_PAGE), more: newer.length > SYNC_PAGE };
  });
  const members = [
    { id: alice.id, username: "alice" },
    { id: bob.id, username: "bob" },
  ];
  const state = client.upsertRoom({
    id: ROOM,
    name: "Plans",
    kind: "group",
    policy: "invite",
    owner: alice.id,
    members,
    joined_after: 0,
  });
  state.newestId = 5;
  state.loaded = true;

  await client.catchUp(ROOM);

  assert.deepEqual(asked, [5, 105]);
  const shown = [...state.messages.values()].filter((m) => m.status === "sent").map((m) => Number(m.id));
  assert.deepEqual(
    shown.sort((a, b) => a - b),
    Array.from({ length: 151 }, (_, i) => 6 + i),
  );
  assert.equal(state.newestId, 156);
});
