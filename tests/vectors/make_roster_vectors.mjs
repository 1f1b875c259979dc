// @ts-check
// Writes tests/vectors/roster-v1.json from FIXED inputs through the real browser modules (static/js/crypto/roster.js,
// meta.js, link.js, static/js/roster/changes.js and chain.js, and envelope v2 in envelope.js). The JSON is then a
// frozen contract, checked by tests/js/roster-vectors.test.js and by the Python reference in
// chat/tests/test_roster_vectors.py. Refuses to overwrite unless given --force.
//
//   node tests/vectors/make_roster_vectors.mjs [--force]

import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import {
  canonicalHeader,
  linkKeyPair,
  linkSecretText,
  sealEnvelope,
  signatureInput,
  toBase64,
} from "../../static/js/crypto/index.js";
import { LABEL_ROSTER } from "../../static/js/crypto/labels.js";
import { metaAad } from "../../static/js/crypto/meta.js";
import { memberIds } from "../../static/js/roster/chain.js";
import { makeEntry } from "../../static/js/roster/changes.js";
import { counting, keyPairFromSeed } from "./make_accounts_vectors.mjs";

const subtle = globalThis.crypto.subtle;
const OUT = fileURLToPath(new URL("./roster-v1.json", import.meta.url));

export const ROOM = "5e1f3a2b-6c7d-4e8f-9a0b-1c2d3e4f5a6b";
export const DIRECT_ROOM = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";
export const FIRST_AT = 1764000000000;
const PEOPLE = [
  { name: "alice", id: 3, seed: 0x01 },
  { name: "bob", id: 11, seed: 0x11 },
  { name: "carol", id: 25, seed: 0x21 },
  { name: "dave", id: 40, seed: 0x31 },
];

/** @param {CryptoKey} key */
async function rawPublic(key) {
  return new Uint8Array(await subtle.exportKey("raw", key));
}

async function cast() {
  /** @type {Map<string, any>} */
  const people = new Map();
  for (const { name, id, seed } of PEOPLE) {
    const signingSeed = counting(seed, 32);
    const agreementSeed = counting(seed + 0x40, 32);
    const signing = await keyPairFromSeed("Ed25519", signingSeed);
    const agreement = await keyPairFromSeed("X25519", agreementSeed);
    people.set(name, {
      name,
      id,
      keyVersion: 1,
      signingPrivateKey: signing.privateKey,
      agreementPrivateKey: agreement.privateKey,
      signingSeed,
      agreementSeed,
      signingPublicKey: toBase64(await rawPublic(signing.publicKey)),
      agreementPublicKey: toBase64(await rawPublic(agreement.publicKey)),
    });
  }
  return people;
}

/** @param {number} index the entry's place in the vectors: every random input of it is fixed from it */
async function fixed(index) {
  const ephemeralSeed = counting(0x80 + index, 32);
  return {
    ephemeralSeed,
    testOnly: {
      ephemeralPrivateKey: (await keyPairFromSeed("X25519", ephemeralSeed)).privateKey,
      contentKeyBytes: counting(0xa0 + index, 32),
      iv: counting(0xc0 + index, 12),
    },
  };
}

/** @param {import("../../static/js/roster/chain.js").RosterState} state */
function stateJson(state) {
  return {
    seq: state.seq,
    hash: state.hash,
    kind: state.kind,
    owner: state.owner,
    link: state.link,
    members: memberIds(state).map((id) => {
      const info = /** @type {import("../../static/js/roster/chain.js").MemberInfo} */ (state.members.get(id));
      return [id, info.key, info.role];
    }),
  };
}

export async function makeVectors() {
  const people = await cast();
  const who = (/** @type {string} */ name) => people.get(name);
  const byId = new Map([...people.values()].map((p) => [p.id, p]));
  const recipientsFor = async (/** @type {number[]} */ ids) =>
    ids.map((id) => ({ id, agreementPublicKey: byId.get(id).agreementPublicKey }));
  const linkSecret = counting(0xe0, 32);
  const link = await linkKeyPair(linkSecret);
  const linkKey = toBase64(link.publicRaw);
  // The removal replaces the open link: carol could read it.
  const nextSecret = counting(0xf0, 32);
  const nextKey = toBase64((await linkKeyPair(nextSecret)).publicRaw);
  const member = (/** @type {string} */ name) => /** @type {[number, number]} */ ([who(name).id, 1]);

  // The story: alice makes a room with bob, adds carol, makes bob an admin; bob opens an invite link, dave joins by
  // it, bob renames the room and removes carol (replacing the link); alice hands the room to bob and leaves.
  const story = [
    { actor: "alice", change: { op: "create", kind: "group", members: [member("alice"), member("bob")] } },
    { actor: "alice", change: { op: "add", members: [member("carol")] } },
    { actor: "alice", change: { op: "role", members: [member("bob")], role: "admin" } },
    { actor: "bob", change: { op: "link", link: linkKey }, opens: true },
    { actor: "dave", change: { op: "join", members: [member("dave")], link: linkKey }, joins: true },
    { actor: "bob", change: { op: "rename" }, name: "Garden plans 2026", topic: "Seeds, soil and sheds" },
    { actor: "bob", change: { op: "remove", members: [member("carol")], link: nextKey }, rotates: true },
    { actor: "alice", change: { op: "owner", members: [member("bob")] } },
    { actor: "alice", change: { op: "leave", members: [member("alice")] } },
  ];
  let state = null;
  let meta = { name: "Garden plans", topic: "", link: /** @type {Uint8Array | null} */ (null) };
  const entries = [];
  for (const [index, step] of story.entries()) {
    if (step.opens) meta = { ...meta, link: linkSecret };
    if (step.rotates) meta = { ...meta, link: nextSecret };
    if (step.name) meta = { ...meta, name: step.name, topic: step.topic ?? "" };
    const { ephemeralSeed, testOnly } = await fixed(index);
    const at = FIRST_AT + index * 60_000;
    const made = await makeEntry(
      {
        room: ROOM,
        state,
        change: /** @type {any} */ (step.change),
        actor: who(step.actor),
        meta,
        recipientsFor,
        linkPrivateKey: step.joins ? link.privateKey : undefined,
        at,
      },
      testOnly,
    );
    state = made.step.state;
    const { body } = made.step.entry;
    entries.push({
      actor: step.actor,
      at,
      meta_plaintext: {
        name: meta.name,
        topic: meta.topic,
        link: meta.link ? linkSecretText(meta.link) : "",
      },
      ephemeral_seed: toBase64(ephemeralSeed),
      content_key: toBase64(testOnly.contentKeyBytes),
      iv: toBase64(testOnly.iv),
      meta_aad: metaAad(body, body.meta.wrap_ids),
      entry: made.wire,
      signed_bytes: toBase64(made.step.entry.signed),
      hash: made.step.hash,
      state: stateJson(made.step.state),
    });
  }

  const { ephemeralSeed, testOnly } = await fixed(story.length);
  const direct = await makeEntry(
    {
      room: DIRECT_ROOM,
      state: null,
      change: { op: "create", kind: "direct", members: [member("alice"), member("bob")] },
      actor: who("alice"),
      meta: { name: "", topic: "", link: null },
      recipientsFor,
      at: FIRST_AT,
    },
    testOnly,
  );

  // Envelope v2: bob writes to the room at its last roster head, to its members then (bob and dave).
  const head = /** @type {import("../../static/js/roster/chain.js").RosterState} */ (state);
  const envelopeFixed = await fixed(story.length + 1);
  const envelope = await sealEnvelope(
    {
      room: ROOM,
      senderId: who("bob").id,
      clientId: "b0b0b0b0-1234-4abc-8def-0123456789ab",
      sentAt: FIRST_AT + 3_600_000,
      text: "Only bob and dave read this.",
      recipients: await recipientsFor(memberIds(head)),
      signingPrivateKey: who("bob").signingPrivateKey,
      roster: { seq: head.seq, hash: head.hash },
    },
    envelopeFixed.testOnly,
  );

  return {
    description:
      "SecureChat roster v1 and envelope v2 (docs/PROTOCOL.md). Generated once by make_roster_vectors.mjs from " +
      "fixed seeds (Ed25519/X25519 private keys are the raw 32-byte seeds of RFC 8032/7748; each entry's meta is " +
      "sealed with the ephemeral seed, content key and IV given, its associated data `meta_aad` as UTF-8); byte " +
      "strings are standard base64.",
    label: LABEL_ROSTER,
    room: ROOM,
    people: [...people.values()].map((p) => ({
      name: p.name,
      id: p.id,
      key_version: p.keyVersion,
      signing_seed: toBase64(p.signingSeed),
      signing_public_key: p.signingPublicKey,
      agreement_seed: toBase64(p.agreementSeed),
      agreement_public_key: p.agreementPublicKey,
    })),
    link: { secret: linkSecretText(linkSecret), public_key: linkKey },
    next_link: { secret: linkSecretText(nextSecret), public_key: nextKey },
    entries,
    direct: {
      room: DIRECT_ROOM,
      ephemeral_seed: toBase64(ephemeralSeed),
      content_key: toBase64(testOnly.contentKeyBytes),
      iv: toBase64(testOnly.iv),
      entry: direct.wire,
      hash: direct.step.hash,
      state: stateJson(direct.step.state),
    },
    envelope_v2: {
      ephemeral_seed: toBase64(envelopeFixed.ephemeralSeed),
      content_key: toBase64(envelopeFixed.testOnly.contentKeyBytes),
      iv: toBase64(envelopeFixed.testOnly.iv),
      text: "Only bob and dave read this.",
      header: new TextDecoder().decode(canonicalHeader(envelope)),
      signature_input: toBase64(signatureInput(envelope)),
      envelope,
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (existsSync(OUT) && !process.argv.includes("--force")) {
    console.error(`${OUT} exists; the vectors are frozen. Pass --force only for a new format version or shape.`);
    process.exit(1);
  }
  writeFileSync(OUT, JSON.stringify(await makeVectors(), null, 2) + "\n");
  console.log(`wrote ${OUT}`);
}
