// @ts-check
// Which key opens a message, in the chat client: a v3 envelope verifies only under the accepted key of the version it
// names, and a key retired (a newer one accepted) before the envelope was stored no longer speaks for its sender, in
// any envelope format. And a send the server refuses because the sender's chain moved on follows on from the envelope
// it names, once that verifies as the sender's own.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient } from "../../static/js/chat/client.js";
import { timeline } from "../../static/js/chat/timeline.js";
import { envelopeHash, generateIdentity, publicKeys, sealEnvelope, toBase64 } from "../../static/js/crypto/index.js";
import { SocketError } from "../../static/js/net/socket.js";

const ROOM = crypto.randomUUID();
const ACCEPTED_V2 = Date.parse("2026-12-01T12:00:00Z");

async function identity() {
  const keys = await generateIdentity();
  return { identity: keys, pub: await publicKeys(keys) };
}

const aliceOld = await identity(); // alice's key version 1, retired when she reset
const aliceNew = await identity(); // version 2, which bob accepted at ACCEPTED_V2
const bob = await identity();
const ALICE = 3;
const BOB = 11;

/** @param {{pub: any}} who @param {number} version @param {number} acceptedAt */
const pinned = (who, version, acceptedAt) => ({
  signing_public_key: who.pub.signingPublicKey,
  agreement_public_key: who.pub.agreementPublicKey,
  key_version: version,
  accepted_at: new Date(acceptedAt).toISOString(),
});

const aliceContact = {
  id: ALICE,
  username: "alice",
  status: "trusted",
  verified: false,
  served: null,
  agreementPublicKey: aliceNew.pub.agreementPublicKey,
  signingKeys: [aliceOld.pub.signingPublicKey, aliceNew.pub.signingPublicKey],
  keys: [pinned(aliceOld, 1, 0), pinned(aliceNew, 2, ACCEPTED_V2)],
  wasVerified: false,
};
const bobContact = {
  ...aliceContact,
  id: BOB,
  username: "bob",
  agreementPublicKey: bob.pub.agreementPublicKey,
  signingKeys: [bob.pub.signingPublicKey],
  keys: [pinned(bob, 1, 0)],
};

/**
 * @param {number} me @param {{identity: any, pub: any}} myKeys @param {(frame: any) => Promise<any>} [request]
 * @param {(room: string, envelope: any) => Promise<any>} [sendEnvelope]
 */
function clientOf(me, myKeys, request = async () => ({ items: [], more: false }), sendEnvelope = async () => ({})) {
  const socket = Object.assign(new EventTarget(), { pending: new Map(), request, sendEnvelope, start() {} });
  const contacts = new Map([
    [ALICE, aliceContact],
    [BOB, bobContact],
  ]);
  const trust = {
    contacts: async (/** @type {number[]} */ ids) => new Map(ids.map((id) => [id, contacts.get(id)])),
    recipients: async (/** @type {number[]} */ ids) =>
      ids.map((id) => ({ id, agreementPublicKey: /** @type {any} */ (contacts.get(id)).agreementPublicKey })),
  };
  const keys = {
    signingPrivateKey: myKeys.identity.signing.privateKey,
    agreementPrivateKey: myKeys.identity.agreement.privateKey,
    identity: { key_version: me === ALICE ? 2 : 1, signing_public_key: myKeys.pub.signingPublicKey },
  };
  const client = new ChatClient({ socket: /** @type {any} */ (socket), trust: /** @type {any} */ (trust), keys });
  client.userId = me;
  client.rosters.sync = async () => {};
  client.upsertRoom({
    id: ROOM,
    name: "Plans",
    kind: "group",
    policy: "invite",
    owner: ALICE,
    members: [
      { id: ALICE, username: "alice" },
      { id: BOB, username: "bob" },
    ],
    joined_after: 0,
  });
  // The room's signed roster, as verified: alice and bob (the roster's own checks are tested elsewhere).
  const head = { seq: 0, hash: btoa(String.fromCharCode(...new Uint8Array(32))) };
  Object.assign(client.rosters, {
    recipients: async () => ({ members: [ALICE, BOB], head }),
    checkEnvelope: async () => ({ reason: null }),
    sync: async () => {},
  });
  return client;
}

/**
 * An envelope from alice as the server relays it.
 * @param {{signer: any, id: number, storedAt: number, keyVersion?: number, v3?: boolean, seq?: number, prev?: string | null}} o
 */
async function fromAlice({ signer, id, storedAt, keyVersion = 1, v3 = true, seq = 1, prev = null }) {
  const sealed = await sealEnvelope({
    room: ROOM,
    senderId: ALICE,
    clientId: crypto.randomUUID(),
    sentAt: storedAt,
    text: `message ${id}`,
    recipients: [
      { id: ALICE, agreementPublicKey: signer.pub.agreementPublicKey },
      { id: BOB, agreementPublicKey: bob.pub.agreementPublicKey },
    ],
    signingPrivateKey: signer.identity.signing.privateKey,
    ...(v3 ? { keyVersion, roster: null, chain: { seq, prev } } : {}),
  });
  return { ...sealed, id, server_time: new Date(storedAt).toISOString() };
}

/** @param {ChatClient} client @param {any} env */
async function opened(client, env) {
  await client.onEnvelopes(ROOM, [env]);
  return /** @type {any} */ ([...client.state(ROOM).messages.values()].find((m) => m.id === env.id));
}

test("a v3 message verifies only under the accepted key of the version it names", async () => {
  const bobs = clientOf(BOB, bob);
  const before = ACCEPTED_V2 - 60_000;
  assert.equal((await opened(bobs, await fromAlice({ signer: aliceOld, id: 1, storedAt: before }))).text, "message 1");
  const misnamed = await opened(bobs, await fromAlice({ signer: aliceOld, id: 2, storedAt: before, keyVersion: 2 }));
  assert.deepEqual([misnamed.status, misnamed.reason, misnamed.text], ["failed", "bad_signature", null]);
  const unknown = await opened(bobs, await fromAlice({ signer: aliceNew, id: 3, storedAt: before, keyVersion: 7 }));
  assert.equal(unknown.reason, "unknown_key");
});

test("a message signed with a retired key and stored after the newer one was accepted is never shown as hers", async () => {
  const bobs = clientOf(BOB, bob);
  const after = ACCEPTED_V2 + 60_000;
  for (const [id, v3] of /** @type {[number, boolean][]} */ ([[10, true], [11, false]])) {
    const injected = await opened(bobs, await fromAlice({ signer: aliceOld, id, storedAt: after, v3 }));
    assert.deepEqual([injected.status, injected.reason, injected.text], ["failed", "retired_key", null], `v3: ${v3}`);
  }
  const current = await opened(bobs, await fromAlice({ signer: aliceNew, id: 12, storedAt: after, keyVersion: 2 }));
  assert.equal(current.text, "message 12");
  // Without a stored time, the server gives no alibi.
  const undated = await fromAlice({ signer: aliceOld, id: 13, storedAt: ACCEPTED_V2 - 1 });
  assert.equal((await opened(bobs, { ...undated, server_time: undefined })).reason, "retired_key");
});

test("a refused send follows on from the newest envelope the server names, once it verifies as mine", async () => {
  // Bob's other tab wrote places 1 and 2; this tab knows neither.
  const first = await fromBob(1, null, 101);
  const second = await fromBob(2, await envelopeHash(first), 102);
  /** @type {any[]} */
  const sent = [];
  const bobs = clientOf(BOB, bob, undefined, async (_room, envelope) => {
    sent.push(envelope);
    if (envelope.chain_seq !== 3) throw new SocketError({ code: "chain_changed", detail: "moved on", latest: second });
    return { id: 103 };
  });
  await bobs.send(ROOM, "third");
  assert.deepEqual(
    sent.map((e) => [e.chain_seq, e.chain_prev]),
    [
      [1, null],
      [3, await envelopeHash(second)],
    ],
  );
  // A server that names someone else's envelope as mine gets nothing sent.
  const other = clientOf(BOB, bob, undefined, async () => {
    throw new SocketError({ code: "chain_changed", detail: "moved on", latest: await fromAlice({ signer: aliceNew, id: 5, storedAt: 0, keyVersion: 2 }) });
  });
  await assert.rejects(other.send(ROOM, "x"), /does not verify/);
});

/** @param {number} seq @param {string | null} prev @param {number} id */
async function fromBob(seq, prev, id) {
  const sealed = await sealEnvelope({
    room: ROOM,
    senderId: BOB,
    clientId: crypto.randomUUID(),
    sentAt: Date.now(),
    text: `bob ${seq}`,
    recipients: [
      { id: ALICE, agreementPublicKey: aliceNew.pub.agreementPublicKey },
      { id: BOB, agreementPublicKey: bob.pub.agreementPublicKey },
    ],
    signingPrivateKey: bob.identity.signing.privateKey,
    keyVersion: 1,
    roster: null,
    chain: { seq, prev },
  });
  return { ...sealed, id, server_time: new Date().toISOString() };
}

/** The conversation as bob's page draws it: each message with its warning. @param {ChatClient} client */
function drawn(client) {
  return timeline({ messages: client.messages(ROOM), steps: [], reachedStart: true, oldestId: 1 })
    .filter((item) => item.type === "message")
    .map((item) => /** @type {any} */ (item))
    .map(({ message, warning }) => [message.id, message.text, warning]);
}

test("a retired key's message dated before the change but placed after the sender's newer-key ones is retired", async () => {
  const bobs = clientOf(BOB, bob);
  const later = ACCEPTED_V2 + 3_600_000;
  const first = await fromAlice({ signer: aliceOld, id: 1, storedAt: ACCEPTED_V2 - 86_400_000 });
  const second = await fromAlice({ signer: aliceNew, id: 2, storedAt: later, keyVersion: 2, seq: 2, prev: await envelopeHash(first) });
  // Whoever holds alice's old key follows on at the tail of her chain; the server dates it long before the change.
  const forged = await fromAlice({ signer: aliceOld, id: 3, storedAt: later, seq: 3, prev: await envelopeHash(second) });
  await bobs.onEnvelopes(ROOM, [first, second, { ...forged, server_time: "2000-01-01T00:00:00.000Z" }]);
  assert.deepEqual(drawn(bobs), [
    [1, "message 1", null],
    [2, "message 2", null],
    [3, null, "retired"],
  ]);
});

test("a retired key's message placed after anything stored or signed after the change is retired, in any format", async () => {
  const bobs = clientOf(BOB, bob);
  const later = ACCEPTED_V2 + 3_600_000;
  const bobsOwn = await fromBob(1, null, 1);
  const early = "2000-01-01T00:00:00.000Z";
  const v3 = await fromAlice({ signer: aliceOld, id: 2, storedAt: later });
  const v2 = await fromAlice({ signer: aliceOld, id: 3, storedAt: later, v3: false });
  await bobs.onEnvelopes(ROOM, [{ ...bobsOwn, server_time: new Date(later).toISOString() }, { ...v3, server_time: early }, { ...v2, server_time: early }]);
  assert.deepEqual(
    drawn(bobs).map(([id, , warning]) => [id, warning]),
    [
      [1, null],
      [2, "retired"],
      [3, "retired"],
    ],
  );
});

test("a current key's v2 envelope after the sender's v3 ones is marked: its place is not checked", async () => {
  const bobs = clientOf(BOB, bob);
  const later = ACCEPTED_V2 + 3_600_000;
  const v3 = await fromAlice({ signer: aliceNew, id: 1, storedAt: later, keyVersion: 2 });
  const v2 = await fromAlice({ signer: aliceNew, id: 2, storedAt: later, v3: false });
  await bobs.onEnvelopes(ROOM, [v3, v2]);
  assert.deepEqual(
    drawn(bobs).map(([id, , warning]) => [id, warning]),
    [
      [1, null],
      [2, "downgraded"],
    ],
  );
});

test("a send follows on from no 'latest' signed with my retired key, nor one older than my newest it knows", async () => {
  const { bobOld, bobWithReset } = await resetBob();
  const forged = await sealEnvelope({
    room: ROOM,
    senderId: BOB,
    clientId: crypto.randomUUID(),
    sentAt: ACCEPTED_V2 + 1,
    text: "forged as bob",
    recipients: [{ id: BOB, agreementPublicKey: bob.pub.agreementPublicKey }],
    signingPrivateKey: bobOld.identity.signing.privateKey,
    keyVersion: 1,
    roster: null,
    chain: { seq: 7, prev: toBase64(new Uint8Array(32).fill(7)) },
  });
  const retiredLatest = { ...forged, id: 50, server_time: new Date(ACCEPTED_V2 + 1).toISOString() };
  const refusing = bobWithReset(async () => {
    throw new SocketError({ code: "chain_changed", detail: "moved on", latest: retiredLatest });
  });
  await assert.rejects(refusing.send(ROOM, "hello"), /does not verify/);

  // This tab had place 3 stored; the server names place 2 as my newest.
  const one = await fromBob(1, null, 1);
  const second = await fromBob(2, await envelopeHash(one), 2);
  const third = await fromBob(3, await envelopeHash(second), 3);
  const behind = clientOf(BOB, bob, undefined, async () => {
    throw new SocketError({ code: "chain_changed", detail: "moved on", latest: second });
  });
  await behind.onEnvelopes(ROOM, [one, second, third]);
  await assert.rejects(behind.send(ROOM, "hello"), /older message/);
});

test("an envelope served without a valid place in the room is not shown, and the page says so", async () => {
  const bobs = clientOf(BOB, bob);
  /** @type {string[]} */
  const problems = [];
  bobs.addEventListener("problem", (event) => problems.push(/** @type {CustomEvent} */ (event).detail.message));
  const env = await fromAlice({ signer: aliceNew, id: 1, storedAt: ACCEPTED_V2 + 1, keyVersion: 2 });
  await bobs.onEnvelopes(ROOM, [{ ...env, id: null }, { ...env, id: 2 ** 53 }, { ...env, id: "7" }]);
  assert.equal(bobs.messages(ROOM).length, 0);
  assert.match(problems[0], /without a valid place/);
});

/** Bob after a key reset: his old key (version 1) retired when his own browser accepted the new one. */
async function resetBob() {
  const bobOld = await identity();
  const own = {
    ...bobContact,
    signingKeys: [bobOld.pub.signingPublicKey, bob.pub.signingPublicKey],
    keys: [pinned(bobOld, 1, 0), pinned(bob, 2, ACCEPTED_V2)],
  };
  /** @param {(room: string, envelope: any) => Promise<any>} sendEnvelope */
  const bobWithReset = (sendEnvelope) => {
    const client = clientOf(BOB, bob, undefined, sendEnvelope);
    const contacts = new Map([
      [ALICE, aliceContact],
      [BOB, own],
    ]);
    client.trust.contacts = async (/** @type {number[]} */ ids) => new Map(ids.map((id) => [id, contacts.get(id)]));
    return client;
  };
  return { bobOld, bobWithReset };
}

test("a room's sends go out one at a time, each following on from the one before, and all count as waiting", async () => {
  /** @type {any[]} */
  const sent = [];
  /** @type {((ack: any) => void)[]} */
  const acks = [];
  /** @type {(() => void)[]} */
  const arrived = [];
  const [firstSent, secondSent] = [0, 1].map(() => new Promise((resolve) => arrived.push(() => resolve(undefined))));
  const bobs = clientOf(BOB, bob, undefined, (_room, envelope) => {
    sent.push(envelope);
    arrived[sent.length - 1]?.();
    return new Promise((resolve) => acks.push(resolve));
  });
  const first = bobs.send(ROOM, "one");
  const second = bobs.send(ROOM, "two");
  assert.equal(bobs.waiting(), 2, "both show as waiting, the second before it goes out");
  // The first is stored only now; the second, sealed after it, names it (sealed ahead, it could not know its place).
  await firstSent;
  acks[0]({ id: 1 });
  await first;
  await secondSent;
  assert.deepEqual(
    sent.map((e) => [e.chain_seq, e.chain_prev]),
    [
      [1, null],
      [2, await envelopeHash(sent[0])],
    ],
  );
  acks[1]({ id: 2 });
  await second;
  assert.equal(bobs.waiting(), 0);
});
