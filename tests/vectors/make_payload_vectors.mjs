// @ts-check
// Writes tests/vectors/payload-kinds-v1.json from FIXED inputs through the real browser modules
// (static/js/crypto/envelope.js and payload.js): one v3 envelope per payload kind, an unknown kind, what readers
// ignore, and malformed payloads, all from Alice's chain in one room. Run once; the JSON is then a frozen contract
// checked by tests/js/payload-vectors.test.js and chat/tests/test_payload_vectors.py. Writes only a missing file,
// unless given --force.
//
//   node tests/vectors/make_payload_vectors.mjs [--force]

import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { envelopeHash, openEnvelope, sealEnvelope, toBase64 } from "../../static/js/crypto/index.js";
import { payloadBytes } from "../../static/js/crypto/payload.js";
import { ALICE_ID, BOB_ID, KEY_VERSION, ROOM, ROSTER_HEAD, SENT_AT, vectorKeys } from "./make_envelope_vectors.mjs";

const OUT = fileURLToPath(new URL("./payload-kinds-v1.json", import.meta.url));
const subtle = globalThis.crypto.subtle;

/** @param {number} n @returns {string} the n-th case's client_id */
export const clientId = (n) => `c0ffee00-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
// Alice's first message, which later cases answer, edit, delete; and a message of Bob's she replies and reacts to.
const HERS = { sender: ALICE_ID, client_id: clientId(1) };
const HIS = { sender: BOB_ID, client_id: "b0b0b0b0-0000-4000-8000-000000000001" };
const HIS_JSON = JSON.stringify(HIS);

/**
 * `payload`: what the sender passes to sealEnvelope; `json`: what is encrypted in its place, for payloads no sender
 * writes. Each case is opened by Bob: `opened` is openEnvelope's payload, `error` its EnvelopeError reason.
 * @type {{name: string, payload?: any, json?: string}[]}
 */
const CASES = [
  { name: "message", payload: { kind: "message", text: "Lunch at noon? 🍜" } },
  { name: "reply", payload: { kind: "reply", text: "Yes, see you there", reply_to: HIS } },
  { name: "edit", payload: { kind: "edit", text: "Lunch at 12:30? 🍜", target: HERS } },
  { name: "delete", payload: { kind: "delete", target: HERS } },
  { name: "reaction", payload: { kind: "reaction", target: HIS, emoji: "👍🏽", on: true } },
  { name: "reaction taken back", payload: { kind: "reaction", target: HIS, emoji: "👍🏽", on: false } },
  { name: "message with its kind named", json: '{"kind":"message","text":"Named"}' },
  { name: "unknown kind", json: '{"kind":"poll","question":"Where?","options":["here","there"]}' },
  {
    name: "fields a kind does not have are ignored",
    json: `{"kind":"reply","text":"Agreed","reply_to":{"sender":11,"client_id":"${HIS.client_id}","text":"I never said this"},"quote":"nor this"}`,
  },
  { name: "an integral number with a fraction part is that integer", json: `{"kind":"reaction","target":{"sender":11.0,"client_id":"${HIS.client_id}"},"emoji":"🎉","on":true}` },
  { name: "one byte-order mark is skipped", json: '\ufeff{"text":"BOM"}' },
  { name: "not JSON", json: '{"text":"hi"' },
  { name: "NaN is not JSON", json: '{"text":"hi","n":NaN}' },
  { name: "not an object", json: '["hi"]' },
  { name: "no text", json: '{"txt":"hi"}' },
  { name: "kind not a string", json: '{"kind":1,"text":"hi"}' },
  { name: "kind null", json: '{"kind":null,"text":"hi"}' },
  { name: "kind in capitals", json: `{"kind":"Reply","text":"hi","reply_to":${HIS_JSON}}` },
  { name: "reply without reply_to", json: '{"kind":"reply","text":"hi"}' },
  { name: "reply_to an upper-case client_id", json: `{"kind":"reply","text":"hi","reply_to":{"sender":11,"client_id":"${HIS.client_id.toUpperCase()}"}}` },
  { name: "reply_to sender 0", json: `{"kind":"reply","text":"hi","reply_to":{"sender":0,"client_id":"${HIS.client_id}"}}` },
  { name: "reply_to sender as a string", json: `{"kind":"reply","text":"hi","reply_to":{"sender":"11","client_id":"${HIS.client_id}"}}` },
  { name: "edit of another sender's message", json: `{"kind":"edit","text":"I said this","target":${HIS_JSON}}` },
  { name: "delete of another sender's message", json: `{"kind":"delete","target":${HIS_JSON}}` },
  { name: "reaction to itself", json: `{"kind":"reaction","target":${JSON.stringify({ sender: ALICE_ID, client_id: "SELF" })},"emoji":"👍","on":true}` },
  { name: "reaction with an empty emoji", json: `{"kind":"reaction","target":${HIS_JSON},"emoji":"","on":true}` },
  { name: "reaction with a lone surrogate", json: `{"kind":"reaction","target":${HIS_JSON},"emoji":"\\ud83d","on":true}` },
  { name: "reaction with a control character", json: `{"kind":"reaction","target":${HIS_JSON},"emoji":"👍\\u0085","on":true}` },
  { name: "reaction of 65 bytes", json: `{"kind":"reaction","target":${HIS_JSON},"emoji":"${"😀".repeat(16)}!","on":true}` },
  { name: "reaction with on as 1", json: `{"kind":"reaction","target":${HIS_JSON},"emoji":"👍","on":1}` },
];

/** @param {CryptoKey} key */
async function rawPublic(key) {
  return toBase64(new Uint8Array(await subtle.exportKey("raw", key)));
}

export async function makeVectors() {
  const keys = await vectorKeys();
  const alice = { id: ALICE_ID, agreementPublicKey: await rawPublic(keys.aliceAgreement.publicKey) };
  const bob = { id: BOB_ID, agreementPublicKey: await rawPublic(keys.bobAgreement.publicKey) };
  const testOnly = { ephemeralPrivateKey: keys.ephemeral.privateKey, contentKeyBytes: keys.contentKey, iv: keys.iv };
  const cases = [];
  /** @type {string | null} */
  let prev = null;
  for (const [i, { name, payload, json: raw }] of CASES.entries()) {
    const seq = i + 1;
    const id = clientId(seq);
    const author = { sender: ALICE_ID, client_id: id };
    const json = raw?.replace("SELF", id) ?? new TextDecoder().decode(payloadBytes(payload, author));
    const envelope = await sealEnvelope(
      {
        room: ROOM,
        senderId: ALICE_ID,
        clientId: id,
        sentAt: SENT_AT + 1000 * i,
        ...(payload ? { payload } : { text: "" }),
        recipients: [alice, bob],
        signingPrivateKey: keys.aliceSigning.privateKey,
        keyVersion: KEY_VERSION,
        roster: ROSTER_HEAD,
        chain: { seq, prev },
      },
      { ...testOnly, ...(payload ? {} : { payloadJson: json }) },
    );
    prev = await envelopeHash(envelope);
    let outcome;
    try {
      outcome = {
        opened: (
          await openEnvelope(envelope, {
            myId: BOB_ID,
            agreementPrivateKey: keys.bobAgreement.privateKey,
            senderSigningPublicKey: keys.aliceSigning.publicKey,
            expectedRoom: ROOM,
            expectedSender: ALICE_ID,
          })
        ).payload,
      };
    } catch (error) {
      outcome = { error: /** @type {any} */ (error).reason };
    }
    cases.push({ name, ...(payload ? { payload } : {}), json, ...outcome, envelope });
  }
  return {
    description:
      "SecureChat payload kinds (docs/PROTOCOL.md, \"Payload kinds\"). Generated once by make_payload_vectors.mjs " +
      "from the fixed keys of envelope-v3.json (the same seeds, content key and IV for every case: vectors only). " +
      "Each case is a v3 envelope of Alice's (id 3) to Alice and Bob (id 11), its place in her chain its index + 1 " +
      "and `chain_prev` the hash of the case before; `payload` is what the sender gave the sealer, `json` the " +
      "plaintext before padding, and `opened` the payload Bob's reader returns, or `error` its reason.",
    inputs: {
      room: ROOM,
      sent_at: SENT_AT,
      key_version: KEY_VERSION,
      roster_head: ROSTER_HEAD,
      sender: { id: ALICE_ID, signing_seed: toBase64(keys.seeds.aliceSigning) },
      members: [
        { id: ALICE_ID, agreement_seed: toBase64(keys.seeds.aliceAgreement) },
        { id: BOB_ID, agreement_seed: toBase64(keys.seeds.bobAgreement) },
      ],
      ephemeral_seed: toBase64(keys.seeds.ephemeral),
      content_key: toBase64(keys.contentKey),
      iv: toBase64(keys.iv),
    },
    cases,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (existsSync(OUT) && !process.argv.includes("--force")) {
    console.log(`${OUT} exists and is frozen; kept (--force only for a new shape)`);
  } else {
    writeFileSync(OUT, JSON.stringify(await makeVectors(), null, 2) + "\n");
    console.log(`wrote ${OUT}`);
  }
}
