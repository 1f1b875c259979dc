// @ts-check
// Envelope v3: the frozen vector tests/vectors/envelope-v3.json (also opened by Python in
// chat/tests/test_envelope_v3_vectors.py), the signed key version, chain link and key commitment, and an envelope
// whose ciphertext decrypts under two content keys (an AES-GCM key collision) refused by the commitment.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  canonicalHeader,
  ENVELOPE_VERSION_CHAINED,
  envelopeHash,
  EnvelopeError,
  fromBase64,
  generateIdentity,
  INFO_KEY_COMMIT,
  infoEnvelopeWrap,
  openEnvelope,
  pad,
  publicKeys,
  sealEnvelope,
  signatureInput,
  toBase64,
  utf8,
} from "../../static/js/crypto/index.js";
import { keyPairFromSeed } from "../vectors/make_accounts_vectors.mjs";
import { makeVectors } from "../vectors/make_envelope_vectors.mjs";
import { collidingCiphertext } from "./gcm-collision.js";

const V = JSON.parse(readFileSync(new URL("../vectors/envelope-v3.json", import.meta.url), "utf8"));
const subtle = globalThis.crypto.subtle;
const ROOM = crypto.randomUUID();
const HASH = toBase64(new Uint8Array(32).fill(7));

/** @param {number} id */
async function member(id) {
  const identity = await generateIdentity();
  const pub = await publicKeys(identity);
  return { id, identity, recipient: { id, agreementPublicKey: pub.agreementPublicKey }, signingPublicKey: pub.signingPublicKey };
}
const alice = await member(3);
const bob = await member(11);

/** @param {{text?: string, chain?: {seq: number, prev: string | null}, roster?: {seq: number, hash: string} | null}} [options] */
function seal({ text = "hi", chain = { seq: 1, prev: null }, roster = { seq: 2, hash: HASH } } = {}) {
  return sealEnvelope({
    room: ROOM,
    senderId: alice.id,
    clientId: crypto.randomUUID(),
    sentAt: Date.now(),
    text,
    recipients: [alice.recipient, bob.recipient],
    signingPrivateKey: alice.identity.signing.privateKey,
    keyVersion: 4,
    roster,
    chain,
  });
}

/** @param {any} envelope @param {{id: number, identity: any}} reader @param {string} [signingKey] */
function openAs(envelope, reader, signingKey = alice.signingPublicKey) {
  return openEnvelope(envelope, {
    myId: reader.id,
    agreementPrivateKey: reader.identity.agreement.privateKey,
    senderSigningPublicKey: signingKey,
    expectedRoom: envelope.room,
    expectedSender: envelope.sender,
  });
}

/** @param {Promise<unknown>} promise @param {string} reason @param {string} [label] */
async function rejectsWith(promise, reason, label) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof EnvelopeError, `${label}: ${error}`);
    assert.equal(/** @type {EnvelopeError} */ (error).reason, reason, label);
    return true;
  });
}

/** @param {any} envelope */
async function resign(envelope) {
  const signature = await subtle.sign("Ed25519", alice.identity.signing.privateKey, signatureInput(envelope));
  envelope.signature = toBase64(new Uint8Array(signature));
  return envelope;
}

test("regenerating the v3 vector from the module gives the committed JSON exactly", async () => {
  assert.deepEqual(await makeVectors(3), V);
});

test("the v3 vector's header is laid out as documented and opens for both members", async () => {
  assert.equal(
    V.header,
    '{"v":3,"room":"7d1e5c2a-3b4f-4c6d-8e9f-0a1b2c3d4e5f","sender":3,"client_id":"c0ffee00-1234-4abc-8def-0123456789ab",' +
      `"sent_at":1763790000000,"key_version":2,"roster_seq":4,"roster_hash":"${V.inputs.roster_head.hash}",` +
      `"chain_seq":7,"chain_prev":"${V.inputs.chain.prev}","key_commit":"${V.envelope.key_commit}"}`,
  );
  assert.equal(new TextDecoder().decode(canonicalHeader(V.envelope)), V.header);
  assert.equal(await envelopeHash(V.envelope), V.envelope_hash);
  for (const m of V.inputs.members) {
    const agreement = await keyPairFromSeed("X25519", fromBase64(m.agreement_seed));
    const { text, header } = await openEnvelope(V.envelope, {
      myId: m.id,
      agreementPrivateKey: agreement.privateKey,
      senderSigningPublicKey: V.inputs.sender.signing_public_key,
      expectedRoom: V.inputs.room,
      expectedSender: V.inputs.sender.id,
    });
    assert.equal(text, V.inputs.text);
    assert.equal(header.key_version, 2);
    assert.equal(header.chain_seq, 7);
  }
});

test("the key commitment is HKDF-SHA256 of the content key, no salt, the documented info", async () => {
  const ikm = await subtle.importKey("raw", fromBase64(V.inputs.content_key), "HKDF", false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: utf8(INFO_KEY_COMMIT) }, ikm, 256);
  assert.equal(toBase64(new Uint8Array(bits)), V.envelope.key_commit);
});

test("a v3 envelope round-trips, in a room with a roster and in one from before rosters", async () => {
  for (const roster of [{ seq: 2, hash: HASH }, null]) {
    const envelope = await seal({ roster, text: "chained" });
    assert.equal(envelope.v, ENVELOPE_VERSION_CHAINED);
    assert.equal(envelope.roster_seq, roster ? 2 : null);
    assert.equal((await openAs(envelope, bob)).text, "chained");
  }
});

test("the chain's next link names the hash of the one before, and the hash covers everything signed", async () => {
  const first = await seal();
  const second = await seal({ chain: { seq: 2, prev: await envelopeHash(first) } });
  assert.equal(second.chain_prev, await envelopeHash(first));
  assert.notEqual(await envelopeHash(first), await envelopeHash(await seal()));
  assert.equal((await openAs(second, bob)).header.chain_prev, await envelopeHash(first));
});

test("moving any of the new signed fields breaks the signature", async () => {
  const envelope = await seal({ chain: { seq: 5, prev: HASH } });
  /** @type {[string, any][]} */
  const changes = [
    ["key_version", 3],
    ["chain_seq", 4],
    ["chain_prev", toBase64(new Uint8Array(32).fill(8))],
    ["key_commit", toBase64(new Uint8Array(32).fill(9))],
  ];
  for (const [field, value] of changes) {
    await rejectsWith(openAs({ ...envelope, [field]: value }, bob), "bad_signature", field);
  }
});

test("the chain and key fields take one form only: malformed otherwise", async () => {
  const envelope = await seal({ chain: { seq: 5, prev: HASH } });
  /** @type {[string, Record<string, any>][]} */
  const cases = [
    ["key_version 0", { key_version: 0 }],
    ["key_version a string", { key_version: "4" }],
    ["chain_seq 0", { chain_seq: 0 }],
    ["chain_prev null after the first", { chain_prev: null }],
    ["chain_prev on the first", { chain_seq: 1 }],
    ["chain_prev short", { chain_prev: toBase64(new Uint8Array(31)) }],
    ["key_commit missing", { key_commit: undefined }],
    ["only one of the roster head", { roster_hash: null }],
    ["a v2 envelope naming a key version", { v: 2 }],
    ["an unknown version", { v: 4 }],
    ["a prototype's name as version", { v: "__proto__" }],
  ];
  for (const [label, change] of cases) {
    const edited = JSON.parse(JSON.stringify({ ...envelope, ...change }));
    await rejectsWith(openAs(edited, bob), "malformed", label);
  }
});

test("an envelope whose ciphertext decrypts under two keys is refused by the commitment, not by luck", async () => {
  // A malicious member (alice) wraps one content key for herself and another for bob, with a ciphertext that passes
  // AES-GCM's tag under both: without a commitment, bob would read something alice never showed herself.
  const key1 = crypto.getRandomValues(new Uint8Array(32));
  const key2 = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plaintext = pad(utf8(JSON.stringify({ text: "meet at the north gate at nine, and bring the papers" })));
  const header = {
    v: 3, room: ROOM, sender: alice.id, client_id: crypto.randomUUID(), sent_at: Date.now(), key_version: 4,
    roster_seq: null, roster_hash: null, chain_seq: 1, chain_prev: null, key_commit: toBase64(await commitment(key1)),
  };
  const aad = canonicalHeader(header);
  const ciphertext = await collidingCiphertext({ key1, key2, iv, aad, plaintext });
  const under1 = new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad }, await aes(key1), ciphertext));
  const under2 = new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad }, await aes(key2), ciphertext));
  assert.notDeepEqual(under1, under2, "one ciphertext, two keys, two plaintexts: AES-GCM itself does not commit");

  const ephemeral = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]));
  const ephPub = new Uint8Array(await subtle.exportKey("raw", ephemeral.publicKey));
  const wraps = [await wrapFor(alice, key1, ephemeral.privateKey, ephPub, header), await wrapFor(bob, key2, ephemeral.privateKey, ephPub, header)];
  const envelope = await resign({
    ...header,
    eph_pub: toBase64(ephPub),
    iv: toBase64(iv),
    ciphertext: toBase64(ciphertext),
    wrap_ids: [alice.id, bob.id],
    wraps: toBase64(new Uint8Array([...wraps[0], ...wraps[1]])),
    signature: toBase64(new Uint8Array(64)),
  });
  await rejectsWith(openAs(envelope, bob), "key_mismatch", "bob's key is not the committed one");
  // Alice's key is the committed one: her copy gets past the commitment (its one solved block is noise).
  await rejectsWith(openAs(envelope, alice), "malformed", "alice's copy decrypts");

  // The same envelope without the commitment (v2): bob's copy passes the tag and reaches the payload.
  const { key_version: _k, chain_seq: _s, chain_prev: _p, key_commit: _c, ...v2Header } = header;
  const v2 = { ...v2Header, v: 2, roster_seq: 0, roster_hash: HASH };
  const v2Aad = canonicalHeader(v2);
  const v2Ciphertext = await collidingCiphertext({ key1, key2, iv, aad: v2Aad, plaintext });
  const { key_version: _kv, chain_seq: _cs, chain_prev: _cp, key_commit: _kc, ...v2Body } = envelope;
  const v2Envelope = await resign({ ...v2Body, ...v2, ciphertext: toBase64(v2Ciphertext) });
  await rejectsWith(openAs(v2Envelope, bob), "malformed", "v2: the tag let another key's plaintext through");
});

/** @param {Uint8Array} raw */
async function commitment(raw) {
  const ikm = await subtle.importKey("raw", raw, "HKDF", false, ["deriveBits"]);
  const params = { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: utf8(INFO_KEY_COMMIT) };
  return new Uint8Array(await subtle.deriveBits(params, ikm, 256));
}

/** @param {Uint8Array} raw */
function aes(raw) {
  return subtle.importKey("raw", raw, { name: "AES-GCM" }, true, ["encrypt", "decrypt"]);
}

/**
 * The member's AES-KW wrap of `raw`, as sealing.js makes it.
 * @param {{id: number, recipient: {agreementPublicKey: string}}} who
 * @param {Uint8Array} raw
 * @param {CryptoKey} ephemeralPrivate
 * @param {Uint8Array} ephPub
 * @param {{room: string, client_id: string}} header
 */
async function wrapFor(who, raw, ephemeralPrivate, ephPub, header) {
  const memberPublic = await subtle.importKey("raw", fromBase64(who.recipient.agreementPublicKey), { name: "X25519" }, false, []);
  const shared = await subtle.deriveBits({ name: "X25519", public: memberPublic }, ephemeralPrivate, 256);
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  const info = utf8(infoEnvelopeWrap(header.room, header.client_id, who.id));
  const kek = await subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: ephPub, info }, ikm, { name: "AES-KW", length: 256 }, false, ["wrapKey"]);
  return new Uint8Array(await subtle.wrapKey("raw", await aes(raw), kek, "AES-KW"));
}
