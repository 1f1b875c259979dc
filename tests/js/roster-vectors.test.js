// @ts-check
// The browser modules must reproduce tests/vectors/roster-v1.json byte for byte; the Python reference checks the
// same file (chat/tests/test_roster_vectors.py).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  canonicalHeader,
  fromBase64,
  linkAddress,
  linkKeyPair,
  openEnvelope,
  openMeta,
  openMetaWithLink,
  parseLinkSecret,
  signatureInput,
  toBase64,
} from "../../static/js/crypto/index.js";
import { metaAad } from "../../static/js/crypto/meta.js";
import { verifyEntries } from "../../static/js/roster/chain.js";
import { keyPairFromSeed } from "../vectors/make_accounts_vectors.mjs";
import { makeVectors } from "../vectors/make_roster_vectors.mjs";

const V = JSON.parse(readFileSync(new URL("../vectors/roster-v1.json", import.meta.url), "utf8"));
const byId = new Map(V.people.map((/** @type {any} */ p) => [p.id, p]));
/** @type {import("../../static/js/roster/chain.js").KeyFor} */
const keyFor = async (id, version) => (version === 1 ? (byId.get(id)?.signing_public_key ?? null) : null);

/** @param {any} person */
async function agreementKey(person) {
  return (await keyPairFromSeed("X25519", fromBase64(person.agreement_seed))).privateKey;
}

test("regenerating the roster vectors from the modules gives the committed JSON exactly", async () => {
  assert.deepEqual(await makeVectors(), V);
});

test("the vector chain verifies entry by entry, with the documented hashes and states", async () => {
  const steps = await verifyEntries({ room: V.room, entries: V.entries.map((/** @type {any} */ e) => e.entry), state: null, keyFor });
  assert.equal(steps.length, V.entries.length);
  steps.forEach((step, i) => {
    assert.equal(step.hash, V.entries[i].hash);
    assert.equal(toBase64(step.entry.signed), V.entries[i].signed_bytes);
    assert.deepEqual([...step.state.members.keys()].sort((a, b) => a - b), V.entries[i].state.members.map((/** @type {any} */ m) => m[0]));
    assert.equal(step.state.owner, V.entries[i].state.owner);
  });
  const direct = await verifyEntries({ room: V.direct.room, entries: [V.direct.entry], state: null, keyFor });
  assert.equal(direct[0].state.kind, "direct");
});

test("each entry's name is sealed over the rest of it, and opens for exactly its members and through the link while open", async () => {
  for (const vector of V.entries) {
    const body = JSON.parse(vector.entry.body);
    assert.equal(metaAad(body, body.meta.wrap_ids), vector.meta_aad);
    const members = vector.state.members.map((/** @type {any} */ m) => m[0]);
    for (const person of V.people) {
      const opening = openMeta(body, { myId: person.id, agreementPrivateKey: await agreementKey(person) });
      if (members.includes(person.id)) {
        const opened = await opening;
        assert.equal(opened.name, vector.meta_plaintext.name);
        assert.equal(opened.topic, vector.meta_plaintext.topic);
      } else {
        await assert.rejects(opening);
      }
    }
    if (vector.meta_plaintext.link) {
      const viaLink = await openMetaWithLink(body, { link: parseLinkSecret(vector.meta_plaintext.link) });
      assert.equal(viaLink.name, vector.meta_plaintext.name);
    }
  }
  const { publicRaw } = await linkKeyPair(parseLinkSecret(V.link.secret));
  assert.equal(toBase64(publicRaw), V.link.public_key);
  assert.equal(linkAddress(publicRaw), V.link.public_key.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
});

test("the v2 envelope names the roster head in its signed header and opens for the head's members", async () => {
  const env = V.envelope_v2.envelope;
  assert.equal(new TextDecoder().decode(canonicalHeader(env)), V.envelope_v2.header);
  assert.equal(toBase64(signatureInput(env)), V.envelope_v2.signature_input);
  const head = V.entries.at(-1);
  assert.equal(env.roster_seq, head.state.seq);
  assert.equal(env.roster_hash, head.hash);
  for (const id of [11, 40]) {
    const person = byId.get(id);
    const opened = await openEnvelope(env, {
      myId: id,
      agreementPrivateKey: await agreementKey(person),
      senderSigningPublicKey: byId.get(11).signing_public_key,
      expectedRoom: V.room,
      expectedSender: 11,
    });
    assert.equal(opened.text, V.envelope_v2.text);
    assert.equal(opened.header.roster_seq, 8);
  }
});
