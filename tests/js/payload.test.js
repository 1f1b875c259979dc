// @ts-check
// Payload kinds (static/js/crypto/payload.js): what the sender writes for each kind, what a reader accepts, and
// every field's form refused; through envelopes, an old plain message opens exactly as before.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  EnvelopeError,
  generateIdentity,
  openEnvelope,
  publicKeys,
  sealEnvelope,
  utf8,
} from "../../static/js/crypto/index.js";
import { fromBase64 } from "../../static/js/crypto/encoding.js";
import { MAX_EMOJI_BYTES, payloadBytes, PayloadError, readPayload } from "../../static/js/crypto/payload.js";
import { keyPairFromSeed } from "../vectors/make_accounts_vectors.mjs";

const ALICE = 3;
const BOB = 11;
const MINE = "0a0a0a0a-1111-4222-8333-444444444444";
const AUTHOR = { sender: ALICE, client_id: MINE };
const HERS = { sender: ALICE, client_id: "c0ffee00-1234-4abc-8def-0123456789ab" };
const HIS = { sender: BOB, client_id: "b0b0b0b0-1234-4abc-8def-0123456789ab" };

/** @param {unknown} value */
const json = (value) => utf8(JSON.stringify(value));
/** @param {any} payload */
const written = (payload) => new TextDecoder().decode(payloadBytes(payload, AUTHOR));

test("each kind is written as documented: kind first, then its fields in order, a message as it always was", () => {
  assert.equal(written({ kind: "message", text: "hi" }), '{"text":"hi"}');
  assert.equal(
    written({ reply_to: HIS, text: "yes", kind: "reply" }),
    `{"kind":"reply","text":"yes","reply_to":{"sender":11,"client_id":"${HIS.client_id}"}}`,
  );
  assert.equal(
    written({ target: HERS, text: "fixed", kind: "edit" }),
    `{"kind":"edit","text":"fixed","target":{"sender":3,"client_id":"${HERS.client_id}"}}`,
  );
  assert.equal(written({ kind: "delete", target: HERS }), `{"kind":"delete","target":{"sender":3,"client_id":"${HERS.client_id}"}}`);
  assert.equal(
    written({ on: false, emoji: "👍", target: HIS, kind: "reaction" }),
    `{"kind":"reaction","target":{"sender":11,"client_id":"${HIS.client_id}"},"emoji":"👍","on":false}`,
  );
});

test("what is written reads back as the same payload", () => {
  const payloads = [
    { kind: "message", text: "hi" },
    { kind: "reply", text: "yes", reply_to: HIS },
    { kind: "edit", text: "fixed", target: HERS },
    { kind: "delete", target: HERS },
    { kind: "reaction", target: HIS, emoji: "👨‍👩‍👧‍👦", on: true },
  ];
  for (const payload of payloads) assert.deepEqual(readPayload(payloadBytes(/** @type {any} */ (payload), AUTHOR), AUTHOR), payload);
});

test("a payload without kind is a message; an explicit message kind is one too", () => {
  assert.deepEqual(readPayload(json({ text: "old" }), AUTHOR), { kind: "message", text: "old" });
  assert.deepEqual(readPayload(json({ kind: "message", text: "new" }), AUTHOR), { kind: "message", text: "new" });
});

test("an unknown kind is unsupported, not an error, and none of its fields come through", () => {
  assert.deepEqual(readPayload(json({ kind: "poll", text: "Where?", options: ["a"] }), AUTHOR), {
    kind: "unsupported",
    name: "poll",
  });
});

test("fields a kind does not have are ignored when read, refused when written", () => {
  const quoted = { kind: "reply", text: "yes", reply_to: { ...HIS, text: "forged quote" }, quote: "forged" };
  assert.deepEqual(readPayload(json(quoted), AUTHOR), { kind: "reply", text: "yes", reply_to: HIS });
  assert.throws(() => payloadBytes(/** @type {any} */ (quoted), AUTHOR), TypeError);
  assert.throws(() => payloadBytes(/** @type {any} */ ({ kind: "delete", target: HERS, text: "x" }), AUTHOR), TypeError);
});

test("every malformed payload is refused with a PayloadError when read and a TypeError when written", () => {
  const long = "😀".repeat(MAX_EMOJI_BYTES / 4) + "a";
  /** @type {Record<string, any>} */
  const cases = {
    "an array": [{ text: "hi" }],
    "null": null,
    "no text": { txt: "hi" },
    "text a number": { text: 5 },
    "kind a number": { kind: 5, text: "hi" },
    "kind null": { kind: null, text: "hi" },
    "kind in capitals": { kind: "Reply", text: "hi", reply_to: HIS },
    "kind too long": { kind: "a".repeat(33) },
    "reply without reply_to": { kind: "reply", text: "hi" },
    "reply without text": { kind: "reply", reply_to: HIS },
    "reply_to an upper-case UUID": { kind: "reply", text: "hi", reply_to: { ...HIS, client_id: HIS.client_id.toUpperCase() } },
    "reply_to sender 0": { kind: "reply", text: "hi", reply_to: { ...HIS, sender: 0 } },
    "reply_to sender a string": { kind: "reply", text: "hi", reply_to: { ...HIS, sender: "11" } },
    "reply_to sender past 2^53": { kind: "reply", text: "hi", reply_to: { ...HIS, sender: 2 ** 53 } },
    "reply to itself": { kind: "reply", text: "hi", reply_to: AUTHOR },
    "edit of someone else's message": { kind: "edit", text: "mine now", target: HIS },
    "edit of itself": { kind: "edit", text: "x", target: AUTHOR },
    "delete of someone else's message": { kind: "delete", target: HIS },
    "delete without target": { kind: "delete" },
    "reaction with no emoji": { kind: "reaction", target: HIS, on: true },
    "reaction with an empty emoji": { kind: "reaction", target: HIS, emoji: "", on: true },
    "reaction with a control character": { kind: "reaction", target: HIS, emoji: "👍\n", on: true },
    "reaction with a lone surrogate": { kind: "reaction", target: HIS, emoji: "\ud83d", on: true },
    "reaction too long": { kind: "reaction", target: HIS, emoji: long, on: true },
    "reaction on as 1": { kind: "reaction", target: HIS, emoji: "👍", on: 1 },
    "reaction without on": { kind: "reaction", target: HIS, emoji: "👍" },
  };
  for (const [name, payload] of Object.entries(cases)) {
    assert.throws(() => readPayload(json(payload), AUTHOR), PayloadError, name);
    assert.throws(() => payloadBytes(payload, AUTHOR), TypeError, name);
  }
  assert.throws(() => readPayload(utf8("{"), AUTHOR), PayloadError);
  assert.throws(() => readPayload(Uint8Array.of(0xff), AUTHOR), PayloadError);
  assert.throws(() => payloadBytes(/** @type {any} */ ({ kind: "poll" }), AUTHOR), TypeError);
});

test("a reaction's emoji may be a whole sequence up to the byte bound, which counts UTF-8 bytes", () => {
  const at = "😀".repeat(MAX_EMOJI_BYTES / 4);
  for (const emoji of ["🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🧑🏻‍❤️‍💋‍🧑🏼", at]) {
    assert.deepEqual(readPayload(json({ kind: "reaction", target: HIS, emoji, on: true }), AUTHOR).kind, "reaction");
  }
});

// --- through envelopes ----------------------------------------------------------------------------

/** @param {number} id */
async function member(id) {
  const identity = await generateIdentity();
  const pub = await publicKeys(identity);
  return { id, identity, recipient: { id, agreementPublicKey: pub.agreementPublicKey }, signingPublicKey: pub.signingPublicKey };
}
const alice = await member(ALICE);
const bob = await member(BOB);
const ROOM = crypto.randomUUID();

/** @param {Record<string, unknown>} content `text` or `payload` */
function seal(content, clientId = crypto.randomUUID()) {
  return sealEnvelope({
    room: ROOM,
    senderId: alice.id,
    clientId,
    sentAt: Date.now(),
    .../** @type {any} */ (content),
    recipients: [alice.recipient, bob.recipient],
    signingPrivateKey: alice.identity.signing.privateKey,
    keyVersion: 1,
    roster: null,
    chain: { seq: 1, prev: null },
  });
}

/** @param {any} envelope */
function openAsBob(envelope) {
  return openEnvelope(envelope, {
    myId: bob.id,
    agreementPrivateKey: bob.identity.agreement.privateKey,
    senderSigningPublicKey: alice.signingPublicKey,
    expectedRoom: ROOM,
    expectedSender: alice.id,
  });
}

test("the frozen v1 envelope of a plain {text} still opens exactly as before, with its payload beside", async () => {
  const V = JSON.parse(readFileSync(new URL("../vectors/envelope-v1.json", import.meta.url), "utf8"));
  const m = V.inputs.members.find((/** @type {any} */ x) => x.id === BOB);
  const agreement = await keyPairFromSeed("X25519", fromBase64(m.agreement_seed));
  const opened = await openEnvelope(V.envelope, {
    myId: BOB,
    agreementPrivateKey: agreement.privateKey,
    senderSigningPublicKey: V.inputs.sender.signing_public_key,
    expectedRoom: V.inputs.room,
    expectedSender: V.inputs.sender.id,
  });
  assert.deepEqual(opened, {
    payload: { kind: "message", text: "Hello, Bob! 👋" },
    text: "Hello, Bob! 👋",
    header: { v: 1, room: V.inputs.room, sender: 3, client_id: V.inputs.client_id, sent_at: V.inputs.sent_at },
  });
});

test("sealing text or a message payload makes the same plaintext; each kind opens with its text or null", async () => {
  const viaText = await openAsBob(await seal({ text: "hi" }));
  const viaPayload = await openAsBob(await seal({ payload: { kind: "message", text: "hi" } }));
  assert.deepEqual([viaText.payload, viaText.text], [viaPayload.payload, viaPayload.text]);
  const target = { sender: ALICE, client_id: viaText.header.client_id };
  const reply = await openAsBob(await seal({ payload: { kind: "reply", text: "also", reply_to: HIS } }));
  assert.deepEqual([reply.payload, reply.text], [{ kind: "reply", text: "also", reply_to: HIS }, "also"]);
  const edit = await openAsBob(await seal({ payload: { kind: "edit", text: "hey", target } }));
  assert.equal(edit.text, "hey");
  const gone = await openAsBob(await seal({ payload: { kind: "delete", target } }));
  assert.deepEqual([gone.payload, gone.text], [{ kind: "delete", target }, null]);
  const liked = await openAsBob(await seal({ payload: { kind: "reaction", target: HIS, emoji: "❤️", on: true } }));
  assert.equal(liked.text, null);
  assert.equal(liked.payload.kind, "reaction");
});

test("the sealer refuses text with a payload, an edit of another's message, and an unknown kind", async () => {
  await assert.rejects(seal({ text: "a", payload: { kind: "message", text: "b" } }), TypeError);
  await assert.rejects(seal({ payload: { kind: "edit", text: "mine", target: HIS } }), TypeError);
  await assert.rejects(seal({ payload: { kind: "poll" } }), TypeError);
});

test("an authentic edit of someone else's message is malformed; an unknown kind opens as unsupported", async () => {
  const forged = await sealEnvelope(
    {
      room: ROOM,
      senderId: alice.id,
      clientId: crypto.randomUUID(),
      sentAt: Date.now(),
      text: "placeholder",
      recipients: [alice.recipient, bob.recipient],
      signingPrivateKey: alice.identity.signing.privateKey,
    },
    { payloadJson: JSON.stringify({ kind: "edit", text: "I said this", target: HIS }) },
  );
  await assert.rejects(openAsBob(forged), (error) => error instanceof EnvelopeError && error.reason === "malformed");
  const poll = await sealEnvelope(
    {
      room: ROOM,
      senderId: alice.id,
      clientId: crypto.randomUUID(),
      sentAt: Date.now(),
      text: "placeholder",
      recipients: [alice.recipient, bob.recipient],
      signingPrivateKey: alice.identity.signing.privateKey,
    },
    { payloadJson: JSON.stringify({ kind: "poll", question: "Where?" }) },
  );
  const opened = await openAsBob(poll);
  assert.deepEqual([opened.payload, opened.text], [{ kind: "unsupported", name: "poll" }, null]);
});
