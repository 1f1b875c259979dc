// @ts-check
// Envelope v1: round trips, every tampering refused with the documented reason, sizes, and the frozen
// vector tests/vectors/envelope-v1.json (also opened by Python in chat/tests/test_envelope_vectors.py).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  canonicalHeader,
  concatBytes,
  ENVELOPE_VERSION,
  EnvelopeError,
  fromBase64,
  generateIdentity,
  MAX_MEMBERS,
  MAX_PADDED_PAYLOAD,
  openEnvelope,
  pad,
  PAD_BLOCK,
  publicKeys,
  sealEnvelope,
  signatureInput,
  toBase64,
  utf8,
  verifyEnvelope,
} from "../../static/js/crypto/index.js";
import { keyPairFromSeed } from "../vectors/make_accounts_vectors.mjs";
import { makeVectors } from "../vectors/make_envelope_vectors.mjs";

const V = JSON.parse(readFileSync(new URL("../vectors/envelope-v1.json", import.meta.url), "utf8"));
const subtle = globalThis.crypto.subtle;

/**
 * @typedef {import("../../static/js/crypto/envelope.js").Envelope} Envelope
 * @typedef {{id: number, identity: import("../../static/js/crypto/identity.js").Identity,
 *   recipient: {id: number, agreementPublicKey: string}, signingPublicKey: string}} Member
 */

/**
 * @param {number} id
 * @returns {Promise<Member>}
 */
async function member(id) {
  const identity = await generateIdentity();
  const pub = await publicKeys(identity);
  return {
    id,
    identity,
    recipient: { id, agreementPublicKey: pub.agreementPublicKey },
    signingPublicKey: pub.signingPublicKey,
  };
}

const alice = await member(3);
const bob = await member(11);
const carol = await member(25);
const mallory = await member(66);
const ROOM = crypto.randomUUID();

/**
 * @param {Member} sender
 * @param {Member[]} members
 * @param {string} [text]
 * @param {object} [testOnly]
 */
function seal(sender, members, text = "hi", testOnly) {
  return sealEnvelope(
    {
      room: ROOM,
      senderId: sender.id,
      clientId: crypto.randomUUID(),
      sentAt: Date.now(),
      text,
      recipients: members.map((m) => m.recipient),
      signingPrivateKey: sender.identity.signing.privateKey,
    },
    testOnly,
  );
}

/**
 * Opens as `reader`, by default trusting exactly what the envelope claims (room, sender, the sender's key).
 * @param {any} envelope
 * @param {Member} reader
 * @param {{expectedRoom?: string, expectedSender?: number, senderKey?: CryptoKey | string,
 *   agreementPrivateKey?: CryptoKey}} [overrides]
 */
function openAs(envelope, reader, overrides = {}) {
  const expectedSender = overrides.expectedSender ?? envelope.sender;
  const claimed = [alice, bob, carol, mallory].find((m) => m.id === expectedSender);
  return openEnvelope(envelope, {
    myId: reader.id,
    agreementPrivateKey: overrides.agreementPrivateKey ?? reader.identity.agreement.privateKey,
    senderSigningPublicKey: overrides.senderKey ?? /** @type {Member} */ (claimed).signingPublicKey,
    expectedRoom: overrides.expectedRoom ?? envelope.room,
    expectedSender,
  });
}

/**
 * @param {Promise<unknown>} promise
 * @param {string} reason
 * @param {string} [label]
 */
async function rejectsWith(promise, reason, label) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof EnvelopeError, `${label}: ${error}`);
    assert.equal(error.reason, reason, label);
    return true;
  });
}

/**
 * @param {string} b64
 * @param {number} [index]
 */
function flipped(b64, index = 0) {
  const bytes = fromBase64(b64);
  bytes[index] ^= 0x01;
  return toBase64(bytes);
}

/**
 * The sender re-signs after editing: the envelope is authentic but its content is whatever was put in.
 * @param {Envelope} envelope
 * @param {Member} signer
 */
async function resign(envelope, signer) {
  const signature = await subtle.sign("Ed25519", signer.identity.signing.privateKey, signatureInput(envelope));
  envelope.signature = toBase64(new Uint8Array(signature));
  return envelope;
}

/** @param {unknown} value */
const clone = (value) => JSON.parse(JSON.stringify(value));

/**
 * @param {Envelope} envelope
 * @returns {[number, Uint8Array][]} each member id with its 40-byte wrap, in wire order
 */
function wrapsOf(envelope) {
  const blob = fromBase64(envelope.wraps);
  assert.equal(blob.length, 40 * envelope.wrap_ids.length);
  return envelope.wrap_ids.map((id, i) => [id, blob.slice(40 * i, 40 * (i + 1))]);
}

/**
 * Rewrites `wrap_ids` and the `wraps` blob from (id, wrap) pairs, in the order given.
 * @param {Envelope} envelope
 * @param {[number, Uint8Array][]} entries
 */
function setWraps(envelope, entries) {
  envelope.wrap_ids = entries.map(([id]) => id);
  envelope.wraps = toBase64(concatBytes(...entries.map(([, wrap]) => wrap)));
  return envelope;
}

/** @param {unknown} envelope */
const jsonBytes = (envelope) => utf8(JSON.stringify(envelope)).length;

// --- the frozen vector --------------------------------------------------------------------------

test("regenerating the vector from the module gives the committed JSON exactly", async () => {
  assert.deepEqual(await makeVectors(), V);
});

test("the vector's header, payload padding and signature input are reproduced", async () => {
  assert.equal(new TextDecoder().decode(canonicalHeader(V.envelope)), V.header);
  assert.equal(toBase64(pad(utf8(V.payload.json))), V.payload.padded);
  assert.equal(toBase64(signatureInput(V.envelope)), V.signature_input);
  assert.equal(await verifyEnvelope(V.envelope, V.inputs.sender.signing_public_key), true);
  assert.deepEqual(V.envelope.wrap_ids, [3, 11]);
  assert.equal(fromBase64(V.envelope.wraps).length, 80);
});

test("the vector opens for both members, Alice (3) and Bob (11)", async () => {
  for (const m of V.inputs.members) {
    const agreement = await keyPairFromSeed("X25519", fromBase64(m.agreement_seed));
    const opened = await openEnvelope(V.envelope, {
      myId: m.id,
      agreementPrivateKey: agreement.privateKey,
      senderSigningPublicKey: V.inputs.sender.signing_public_key,
      expectedRoom: V.inputs.room,
      expectedSender: V.inputs.sender.id,
    });
    assert.equal(opened.text, "Hello, Bob! 👋");
    assert.deepEqual(opened.header, {
      v: 1,
      room: V.inputs.room,
      sender: 3,
      client_id: V.inputs.client_id,
      sent_at: V.inputs.sent_at,
    });
  }
});

// --- round trips ---------------------------------------------------------------------------------

test("exports the documented constants", () => {
  assert.equal(ENVELOPE_VERSION, 1);
  assert.equal(PAD_BLOCK, 256);
  assert.equal(MAX_PADDED_PAYLOAD, 98304);
  assert.equal(MAX_MEMBERS, 256);
});

for (const count of [1, 2, 50]) {
  test(`round trip with ${count} recipient(s): every recipient opens it`, async () => {
    const others = await Promise.all(Array.from({ length: count - 1 }, (_, i) => member(100 + i)));
    const members = [alice, ...others];
    const text = `hello ${count}`;
    const envelope = await seal(alice, members, text);
    assert.deepEqual(
      Object.keys(envelope),
      ["v", "room", "sender", "client_id", "sent_at", "eph_pub", "iv", "ciphertext", "wrap_ids", "wraps", "signature"],
    );
    assert.equal(envelope.wrap_ids.length, count);
    assert.equal(fromBase64(envelope.wraps).length, 40 * count);
    for (const m of members) {
      const { text: opened, header } = await openAs(envelope, m);
      assert.equal(opened, text, `member ${m.id}`);
      assert.equal(header.sender, alice.id);
      assert.equal(header.room, ROOM);
    }
  });
}

test("wrap_ids are in ascending numeric order whatever the order given, and wraps 40 bytes each", async () => {
  const envelope = await seal(alice, [carol, bob, alice]);
  assert.deepEqual(envelope.wrap_ids, [3, 11, 25]);
  assert.equal(typeof envelope.wraps, "string");
  assert.equal(fromBase64(envelope.wraps).length, 3 * 40);
  assert.equal(fromBase64(envelope.eph_pub).length, 32);
  assert.equal(fromBase64(envelope.iv).length, 12);
  assert.equal(fromBase64(envelope.signature).length, 64);
  assert.equal(fromBase64(envelope.ciphertext).length, 256 + 16);
});

test("two seals of the same text share no ephemeral key, IV, ciphertext or wrap", async () => {
  const a = await seal(alice, [alice, bob], "same");
  const b = await seal(alice, [alice, bob], "same");
  for (const field of ["eph_pub", "iv", "ciphertext", "signature"]) {
    assert.notEqual(a[/** @type {"iv"} */ (field)], b[/** @type {"iv"} */ (field)], field);
  }
  assert.notDeepEqual(wrapsOf(a)[1], wrapsOf(b)[1]);
  assert.notEqual(a.wraps, b.wraps);
});

test("a non-recipient gets no_wrap; a wrong agreement key gets decrypt_failed", async () => {
  const envelope = await seal(alice, [alice, bob]);
  await rejectsWith(openAs(envelope, carol), "no_wrap");
  const carolKey = carol.identity.agreement.privateKey;
  await rejectsWith(openAs(envelope, bob, { agreementPrivateKey: carolKey }), "decrypt_failed");
});

test("unicode text round-trips exactly", async () => {
  const texts = [
    "👋🏽 family: 👨‍👩‍👧‍👦, flag: 🇫🇷",
    "مرحبا بالعالم — שלום עולם",
    '<img src=x onerror=alert(1)> & "quotes" \\ </script>',
    "e\u0301 vs é, NUL:\u0000, line\u2028separator, tab\t, lone surrogate \ud800!",
    "",
  ];
  for (const text of texts) {
    const envelope = await seal(alice, [alice, bob], text);
    assert.equal((await openAs(envelope, bob)).text, text, JSON.stringify(text));
  }
});

test("the envelope never contains the plaintext", async () => {
  const text = "the secret plan is hidden in plain sight";
  const envelope = await seal(alice, [alice, bob], text);
  const json = JSON.stringify(envelope);
  assert.ok(!json.includes(text));
  assert.ok(!json.includes("secret"));
  assert.ok(!json.includes(toBase64(utf8(text)).slice(4, 40)));
});

test("16 000 characters fit: ciphertext lengths for ASCII, emoji and the worst case", async (t) => {
  const cases = [
    // {"text":"…"} is 11 bytes of JSON around the text, then padding to the next multiple of 256, then the tag.
    ["ASCII", "a".repeat(16000), 16144],
    ["3-byte CJK", "中".repeat(16000), 48144],
    ["emoji (2 UTF-16 units each)", "😀".repeat(8000), 32272],
    // Control characters become \u00XX in JSON: 6 bytes each, the most any character can cost.
    ["control characters", "\u0001".repeat(16000), 96272],
  ];
  for (const [name, text, expected] of cases) {
    assert.equal(text.length, 16000);
    const envelope = await seal(alice, [alice, bob], /** @type {string} */ (text));
    const length = fromBase64(envelope.ciphertext).length;
    t.diagnostic(`${name}: ciphertext ${length} bytes`);
    assert.equal(length, expected, /** @type {string} */ (name));
    assert.ok(length <= 98320);
    assert.equal((await openAs(envelope, bob)).text, text);
  }
});

test("a text whose padded payload exceeds 96 KiB is refused before anything is encrypted", async () => {
  await assert.rejects(seal(alice, [alice], "a".repeat(98304 - 11)), RangeError);
  const largest = await seal(alice, [alice], "a".repeat(98304 - 12));
  assert.equal(fromBase64(largest.ciphertext).length, 98320);
});

test("per recipient an envelope grows by 40 bytes of base64 (53⅓ characters) and one id in wrap_ids", async (t) => {
  const members = await Promise.all(Array.from({ length: 100 }, (_, i) => member(i + 1)));
  const [sender] = members;
  const one = await seal(sender, [sender], "size");
  const started = performance.now();
  const hundred = await seal(sender, members, "size");
  const sealMs = performance.now() - started;
  const perRecipient = (jsonBytes(hundred) - jsonBytes(one)) / 99;
  t.diagnostic(`per recipient: ${perRecipient.toFixed(2)} bytes; sealing for 100: ${sealMs.toFixed(1)} ms`);
  // ",<id>" in wrap_ids, and the blob's base64 grows from 4·⌈40/3⌉ to 4·⌈4000/3⌉ characters.
  const ids = members.slice(1).reduce((sum, m) => sum + 1 + String(m.id).length, 0);
  const blob = 4 * Math.ceil((40 * 100) / 3) - 4 * Math.ceil(40 / 3);
  assert.equal(jsonBytes(hundred) - jsonBytes(one), ids + blob);
  assert.ok(perRecipient <= 60, `${perRecipient} bytes per recipient`);
  for (const m of [members[0], members[57], members[99]]) {
    assert.equal((await openAs(hundred, m, { senderKey: sender.signingPublicKey })).text, "size");
  }
});

// --- tampering ----------------------------------------------------------------------------------

test("tampering with anything signed is refused as bad_signature", async () => {
  const original = await seal(alice, [alice, bob, carol]);
  /** @type {Record<string, (e: any) => void>} */
  const tamperings = {
    "ciphertext bit": (e) => (e.ciphertext = flipped(e.ciphertext, 40)),
    "ciphertext tag": (e) => (e.ciphertext = flipped(e.ciphertext, 256 + 15)),
    iv: (e) => (e.iv = flipped(e.iv)),
    eph_pub: (e) => (e.eph_pub = flipped(e.eph_pub)),
    "Bob's wrap": (e) => (e.wraps = flipped(e.wraps, 40)),
    "Carol's wrap": (e) => (e.wraps = flipped(e.wraps, 2 * 40 + 39)),
    "wraps swapped": (e) => {
      const [a, b, c] = wrapsOf(e);
      setWraps(e, [a, [b[0], c[1]], [c[0], b[1]]]);
    },
    "a wrap relabelled (25 → 26)": (e) => (e.wrap_ids = [3, 11, 26]),
    "a wrap added": (e) => {
      const [a, b, c] = wrapsOf(e);
      setWraps(e, [a, b, [12, b[1]], c]);
    },
    "a wrap removed": (e) => setWraps(e, wrapsOf(e).slice(0, 2)),
    room: (e) => (e.room = crypto.randomUUID()),
    "sender (claimed to be Carol)": (e) => (e.sender = carol.id),
    client_id: (e) => (e.client_id = crypto.randomUUID()),
    sent_at: (e) => (e.sent_at += 1),
    signature: (e) => (e.signature = flipped(e.signature, 63)),
  };
  for (const [name, tamper] of Object.entries(tamperings)) {
    const envelope = clone(original);
    tamper(envelope);
    await rejectsWith(openAs(envelope, bob), "bad_signature", name);
    assert.equal(await verifyEnvelope(envelope, alice.signingPublicKey), false, name);
  }
  assert.equal((await openAs(clone(original), bob)).text, "hi");
});

test("an envelope signed by another key is bad_signature, even if well formed", async () => {
  const forged = await seal(mallory, [mallory, alice, bob], "it's me, Alice");
  forged.sender = alice.id;
  await resign(forged, mallory);
  await rejectsWith(openAs(forged, bob), "bad_signature");
  const own = await seal(alice, [alice, bob]);
  await rejectsWith(openAs(own, bob, { senderKey: mallory.signingPublicKey }), "bad_signature");
});

test("routing that disagrees with the header is wrong_room or wrong_sender", async () => {
  const envelope = await seal(alice, [alice, bob]);
  await rejectsWith(openAs(envelope, bob, { expectedRoom: crypto.randomUUID() }), "wrong_room");
  await rejectsWith(openAs(envelope, bob, { expectedSender: carol.id }), "wrong_sender");
  // A server that moves an envelope into another room must also rewrite it, which the signature catches.
  const moved = clone(envelope);
  moved.room = crypto.randomUUID();
  await rejectsWith(openAs(moved, bob, { expectedRoom: ROOM }), "wrong_room");
  await rejectsWith(openAs(moved, bob, { expectedRoom: moved.room }), "bad_signature");
});

test("reasons come in the documented order", async () => {
  const envelope = await seal(alice, [alice, bob]);
  const broken = clone(envelope);
  broken.ciphertext = flipped(broken.ciphertext);
  // Shape first, then room, sender, signature, wrap.
  await rejectsWith(openAs({ ...broken, iv: "short" }, carol, { expectedRoom: crypto.randomUUID() }), "malformed");
  await rejectsWith(openAs(broken, carol, { expectedRoom: crypto.randomUUID(), expectedSender: 25 }), "wrong_room");
  await rejectsWith(openAs(broken, carol, { expectedSender: carol.id }), "wrong_sender");
  await rejectsWith(openAs(broken, carol), "bad_signature");
  await rejectsWith(openAs(envelope, carol), "no_wrap");
});

test("an authentic envelope whose wrap does not unwrap is decrypt_failed", async () => {
  const envelope = await seal(alice, [alice, bob]);
  const [own] = wrapsOf(envelope);
  setWraps(envelope, [own, [bob.id, crypto.getRandomValues(new Uint8Array(40))]]);
  await resign(envelope, alice);
  await rejectsWith(openAs(envelope, bob), "decrypt_failed");
  assert.equal((await openAs(envelope, alice)).text, "hi");
});

test("an authentic envelope whose payload is not padded JSON text is malformed", async () => {
  const contentKeyBytes = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const envelope = await seal(alice, [alice, bob], "hi", { contentKeyBytes, iv });
  const key = await subtle.importKey("raw", contentKeyBytes, "AES-GCM", false, ["encrypt"]);
  const payloads = {
    "no padding marker": new Uint8Array(256).fill(0x41),
    "not UTF-8": pad(Uint8Array.of(0xff, 0xfe)),
    "not JSON": pad(utf8("hi")),
    "no text": pad(utf8('{"txt":"hi"}')),
    "text not a string": pad(utf8('{"text":5}')),
    "an array": pad(utf8('["hi"]')),
  };
  for (const [name, payload] of Object.entries(payloads)) {
    const tampered = clone(envelope);
    const params = { name: "AES-GCM", iv, additionalData: canonicalHeader(envelope) };
    const ciphertext = await subtle.encrypt(params, key, payload);
    tampered.ciphertext = toBase64(new Uint8Array(ciphertext));
    await resign(tampered, alice);
    await rejectsWith(openAs(tampered, bob), "malformed", name);
  }
});

test("the wire object is validated strictly: malformed", async () => {
  const good = await seal(alice, [alice, bob]);
  const short = toBase64(fromBase64(good.ciphertext).subarray(0, 271));
  const uneven = toBase64(new Uint8Array(256 + 16 + 1));
  /** @type {Record<string, (e: any) => unknown>} */
  const defects = {
    "not an object": () => null,
    "an array": () => [good],
    "unknown field": (e) => ({ ...e, text: "hi" }),
    "missing iv": ({ iv, ...rest }) => rest,
    "v 2": (e) => ({ ...e, v: 2 }),
    "v as string": (e) => ({ ...e, v: "1" }),
    "upper-case room": (e) => ({ ...e, room: e.room.toUpperCase() }),
    "sender as string": (e) => ({ ...e, sender: "3" }),
    "sender 0": (e) => ({ ...e, sender: 0 }),
    "sender 1.5": (e) => ({ ...e, sender: 1.5 }),
    "client_id not a UUID": (e) => ({ ...e, client_id: "x" }),
    "sent_at negative": (e) => ({ ...e, sent_at: -1 }),
    "sent_at beyond 2^53": (e) => ({ ...e, sent_at: 2 ** 53 }),
    "eph_pub 31 bytes": (e) => ({ ...e, eph_pub: toBase64(new Uint8Array(31)) }),
    "iv 16 bytes": (e) => ({ ...e, iv: toBase64(new Uint8Array(16)) }),
    "signature 63 bytes": (e) => ({ ...e, signature: toBase64(new Uint8Array(63)) }),
    "ciphertext too short": (e) => ({ ...e, ciphertext: short }),
    "ciphertext not n·256 + 16": (e) => ({ ...e, ciphertext: uneven }),
    "ciphertext url-safe base64": (e) => ({ ...e, ciphertext: e.ciphertext.replace(/\+/g, "-").replace(/\//g, "_") }),
    "signature without base64 padding": (e) => ({ ...e, signature: e.signature.replace(/=+$/, "") }),
    "missing wrap_ids": ({ wrap_ids, ...rest }) => rest,
    "missing wraps": ({ wraps, ...rest }) => rest,
    "wraps in the old shape (a map)": (e) => {
      const { wrap_ids, ...rest } = e;
      return { ...rest, wraps: Object.fromEntries(wrapsOf(e).map(([id, w]) => [String(id), toBase64(w)])) };
    },
    "no wraps": (e) => ({ ...e, wrap_ids: [], wraps: "" }),
    "wrap_ids not an array": (e) => ({ ...e, wrap_ids: "3,11" }),
    "wrap_ids an object": (e) => ({ ...e, wrap_ids: { 0: 3, 1: 11, length: 2 } }),
    "wrap_ids descending": (e) => ({ ...e, wrap_ids: [11, 3] }),
    "wrap_ids duplicate": (e) => ({ ...e, wrap_ids: [3, 3] }),
    "wrap id 0": (e) => ({ ...e, wrap_ids: [0, 11] }),
    "wrap id negative": (e) => ({ ...e, wrap_ids: [-3, 11] }),
    "wrap id 1.5": (e) => ({ ...e, wrap_ids: [1.5, 11] }),
    "wrap id as string": (e) => ({ ...e, wrap_ids: ["3", 11] }),
    "wrap id true": (e) => ({ ...e, wrap_ids: [true, 11] }),
    "wrap id null": (e) => ({ ...e, wrap_ids: [3, null] }),
    "wrap id beyond 2^53": (e) => ({ ...e, wrap_ids: [3, 2 ** 53] }),
    "more wrap ids than MAX_MEMBERS": (e) => ({
      ...e,
      wrap_ids: Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => i + 1),
      wraps: toBase64(new Uint8Array(40 * (MAX_MEMBERS + 1))),
    }),
    "wraps one byte short": (e) => ({ ...e, wraps: toBase64(fromBase64(e.wraps).subarray(0, 79)) }),
    "wraps one wrap too many": (e) => ({ ...e, wraps: toBase64(concatBytes(fromBase64(e.wraps), new Uint8Array(40))) }),
    "wraps for one id only": (e) => ({ ...e, wrap_ids: [3] }),
    "wraps not base64": (e) => ({ ...e, wraps: "!".repeat(108) }),
    "wraps without base64 padding": (e) => ({ ...e, wraps: e.wraps.replace(/=+$/, "") }),
    "wraps an array": (e) => ({ ...e, wraps: [e.wraps] }),
  };
  for (const [name, defect] of Object.entries(defects)) {
    const envelope = defect(clone(good));
    await rejectsWith(openAs(envelope, bob, { expectedRoom: ROOM, expectedSender: alice.id }), "malformed", name);
    assert.equal(await verifyEnvelope(envelope, alice.signingPublicKey), false, name);
    assert.throws(() => signatureInput(/** @type {any} */ (envelope)), EnvelopeError, name);
  }
});

test("MAX_MEMBERS wraps parse: random ones fail at the signature, and once re-signed at the unwrap", async () => {
  const envelope = await seal(alice, [alice, bob]);
  const ids = Array.from({ length: MAX_MEMBERS }, (_, i) => i + 1);
  setWraps(envelope, ids.map((id) => [id, crypto.getRandomValues(new Uint8Array(40))]));
  await rejectsWith(openAs(clone(envelope), bob), "bad_signature");
  await resign(envelope, alice);
  await rejectsWith(openAs(envelope, bob), "decrypt_failed");
});

test("the server's unsigned id and server_time are allowed and ignored", async () => {
  const envelope = { ...(await seal(alice, [alice, bob])), id: 17, server_time: "2025-11-22T05:40:00.123Z" };
  assert.equal((await openAs(envelope, bob)).text, "hi");
  assert.equal(await verifyEnvelope(envelope, alice.signingPublicKey), true);
});

test("verifyEnvelope takes the signing key as base64 or CryptoKey", async () => {
  const envelope = await seal(alice, [alice, bob]);
  assert.equal(await verifyEnvelope(envelope, alice.signingPublicKey), true);
  assert.equal(await verifyEnvelope(envelope, alice.identity.signing.publicKey), true);
  assert.equal(await verifyEnvelope(envelope, bob.signingPublicKey), false);
  await assert.rejects(verifyEnvelope(envelope, "nope"), TypeError);
  await assert.rejects(verifyEnvelope(envelope, /** @type {any} */ (alice.identity.signing.privateKey)), TypeError);
});

// --- bad input to seal --------------------------------------------------------------------------

test("sealEnvelope refuses bad input with a TypeError", async () => {
  const base = {
    room: ROOM,
    senderId: alice.id,
    clientId: crypto.randomUUID(),
    sentAt: 1763790000000,
    text: "hi",
    recipients: [alice.recipient, bob.recipient],
    signingPrivateKey: alice.identity.signing.privateKey,
  };
  const badKey = { id: bob.id, agreementPublicKey: toBase64(new Uint8Array(31)) };
  // u = 0 is a low-order point: X25519 with it yields all zeros, which WebCrypto refuses.
  const lowOrder = { id: bob.id, agreementPublicKey: toBase64(new Uint8Array(32)) };
  /** @type {Record<string, object>} */
  const cases = {
    "empty recipients": { recipients: [] },
    "recipients not an array": { recipients: alice.recipient },
    "duplicate ids": { recipients: [alice.recipient, bob.recipient, { ...bob.recipient }] },
    "more than MAX_MEMBERS recipients": {
      recipients: Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => ({ ...alice.recipient, id: i + 1 })),
    },
    "sender not a recipient": { recipients: [bob.recipient] },
    "id as string": { recipients: [alice.recipient, { ...bob.recipient, id: "11" }] },
    "agreement key 31 bytes": { recipients: [alice.recipient, badKey] },
    "low-order agreement key": { recipients: [alice.recipient, lowOrder] },
    "text not a string": { text: 42 },
    "text missing": { text: undefined },
    "upper-case room": { room: ROOM.toUpperCase() },
    "clientId not a UUID": { clientId: "c1" },
    "sentAt not an integer": { sentAt: 1.5 },
    "senderId 0": { senderId: 0 },
  };
  for (const [name, change] of Object.entries(cases)) {
    await assert.rejects(sealEnvelope(/** @type {any} */ ({ ...base, ...change })), TypeError, name);
  }
  assert.throws(() => canonicalHeader(/** @type {any} */ ({ v: 1, room: ROOM })), TypeError);
  const envelope = await sealEnvelope(base);
  assert.equal((await openAs(envelope, bob)).text, "hi");
});

// --- v2: the roster head is signed -----------------------------------------------------------------------------

const HEAD = { seq: 4, hash: toBase64(new Uint8Array(32).fill(7)) };

/** @param {Member} sender @param {Member[]} members */
function sealV2(sender, members) {
  return sealEnvelope({
    room: ROOM,
    senderId: sender.id,
    clientId: crypto.randomUUID(),
    sentAt: Date.now(),
    text: "for the signed member list",
    recipients: members.map((m) => m.recipient),
    signingPrivateKey: sender.identity.signing.privateKey,
    roster: HEAD,
  });
}

test("a v2 envelope names its roster head in the signed header, and opens as v1 does", async () => {
  const env = await sealV2(alice, [alice, bob]);
  assert.equal(env.v, 2);
  assert.equal(env.roster_seq, HEAD.seq);
  assert.equal(env.roster_hash, HEAD.hash);
  assert.match(new TextDecoder().decode(canonicalHeader(env)), /,"roster_seq":4,"roster_hash":"[^"]+"\}$/);
  const opened = await openAs(env, bob);
  assert.equal(opened.text, "for the signed member list");
  assert.equal(opened.header.roster_seq, HEAD.seq);
  assert.equal(opened.header.roster_hash, HEAD.hash);
});

test("a server that moves a v2 envelope to another roster head breaks its signature", async () => {
  const env = await sealV2(alice, [alice, bob]);
  await rejectsWith(openAs({ ...env, roster_seq: HEAD.seq + 1 }, bob), "bad_signature", "seq");
  await rejectsWith(openAs({ ...env, roster_hash: flipped(env.roster_hash) }, bob), "bad_signature", "hash");
  // Signed as v1, the same bytes do not verify as v2: the label differs.
  const asV1 = clone(env);
  delete asV1.roster_seq;
  delete asV1.roster_hash;
  await rejectsWith(openAs({ ...asV1, v: 1 }, bob), "bad_signature", "downgraded");
});

test("the roster fields belong to v2 only, in their one form", async () => {
  const env = await sealV2(alice, [alice, bob]);
  const v1 = await seal(alice, [alice, bob]);
  await rejectsWith(openAs({ ...v1, roster_seq: 1, roster_hash: HEAD.hash }, bob), "malformed", "v1 with a head");
  const missing = clone(env);
  delete missing.roster_hash;
  await rejectsWith(openAs(missing, bob), "malformed", "v2 without its hash");
  await rejectsWith(openAs({ ...env, roster_seq: -1 }, bob), "malformed", "negative seq");
  await rejectsWith(openAs({ ...env, roster_hash: toBase64(new Uint8Array(31)) }, bob), "malformed", "short hash");
  await assert.rejects(sealEnvelope({ ...baseMessage(), roster: { seq: 1, hash: "nope" } }), TypeError);
});

function baseMessage() {
  return {
    room: ROOM,
    senderId: alice.id,
    clientId: crypto.randomUUID(),
    sentAt: Date.now(),
    text: "x",
    recipients: [alice.recipient],
    signingPrivateKey: alice.identity.signing.privateKey,
  };
}
