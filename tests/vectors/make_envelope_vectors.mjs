// @ts-check
// Writes tests/vectors/envelope-v1.json and envelope-v3.json from FIXED inputs through the real browser module
// (static/js/crypto/envelope.js). Run once; the JSON is then a frozen contract checked by
// tests/js/envelope.test.js and by chat/tests/test_envelope_vectors.py. Writes only the files that are missing,
// unless given --force.
//
//   node tests/vectors/make_envelope_vectors.mjs [--force]

import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import {
  canonicalHeader,
  envelopeHash,
  infoEnvelopeWrap,
  INFO_ENVELOPE_WRAP,
  INFO_KEY_COMMIT,
  LABEL_ENVELOPE,
  LABEL_ENVELOPE_V3,
  pad,
  sealEnvelope,
  signatureInput,
  toBase64,
  utf8,
} from "../../static/js/crypto/index.js";
import { counting, keyPairFromSeed } from "./make_accounts_vectors.mjs";

const subtle = globalThis.crypto.subtle;
const OUT = fileURLToPath(new URL("./envelope-v1.json", import.meta.url));
const OUT_V3 = fileURLToPath(new URL("./envelope-v3.json", import.meta.url));

export const ROOM = "7d1e5c2a-3b4f-4c6d-8e9f-0a1b2c3d4e5f";
export const CLIENT_ID = "c0ffee00-1234-4abc-8def-0123456789ab";
export const SENT_AT = 1763790000000;
export const TEXT = "Hello, Bob! 👋";
export const ALICE_ID = 3;
export const BOB_ID = 11;
// v3: alice's second key, a roster head, and her seventh envelope in the room.
export const KEY_VERSION = 2;
export const ROSTER_HEAD = { seq: 4, hash: toBase64(counting(0xc1, 32)) };
export const CHAIN = { seq: 7, prev: toBase64(counting(0xe1, 32)) };

/** @param {CryptoKey} key */
async function rawPublic(key) {
  return new Uint8Array(await subtle.exportKey("raw", key));
}

/**
 * Every key of the vectors, rebuilt from its fixed seed.
 * @returns {Promise<{seeds: Record<string, Uint8Array>, aliceSigning: CryptoKeyPair, aliceAgreement: CryptoKeyPair,
 *   bobAgreement: CryptoKeyPair, ephemeral: CryptoKeyPair, contentKey: Uint8Array, iv: Uint8Array}>}
 */
export async function vectorKeys() {
  const seeds = {
    aliceSigning: counting(0x01, 32),
    aliceAgreement: counting(0x21, 32),
    bobAgreement: counting(0x41, 32),
    ephemeral: counting(0x61, 32),
  };
  return {
    seeds,
    aliceSigning: await keyPairFromSeed("Ed25519", seeds.aliceSigning),
    aliceAgreement: await keyPairFromSeed("X25519", seeds.aliceAgreement),
    bobAgreement: await keyPairFromSeed("X25519", seeds.bobAgreement),
    ephemeral: await keyPairFromSeed("X25519", seeds.ephemeral),
    contentKey: counting(0x81, 32),
    iv: counting(0xa1, 12),
  };
}

/**
 * The intermediate secrets, computed here with plain WebCrypto calls (the module keeps them inside
 * non-extractable keys), so a second implementation can be debugged step by step.
 * @param {CryptoKey} ephemeralPrivate
 * @param {CryptoKey} memberPublic
 * @param {Uint8Array} ephPub
 * @param {string} info
 */
async function kekSteps(ephemeralPrivate, memberPublic, ephPub, info) {
  const bits = await subtle.deriveBits({ name: "X25519", public: memberPublic }, ephemeralPrivate, 256);
  const shared = new Uint8Array(bits);
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
  const kek = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: ephPub, info: utf8(info) }, ikm, 256);
  return { shared_secret: toBase64(shared), kek: toBase64(new Uint8Array(kek)) };
}

/** @param {3} [version] v1 unless told */
export async function makeVectors(version) {
  const keys = await vectorKeys();
  const v3 = version === 3;
  const alice = { id: ALICE_ID, agreementPublicKey: toBase64(await rawPublic(keys.aliceAgreement.publicKey)) };
  const bob = { id: BOB_ID, agreementPublicKey: toBase64(await rawPublic(keys.bobAgreement.publicKey)) };
  const envelope = await sealEnvelope(
    {
      room: ROOM,
      senderId: ALICE_ID,
      clientId: CLIENT_ID,
      sentAt: SENT_AT,
      text: TEXT,
      // Bob first on purpose: the module must order wraps by numeric id (3 < 11), not as given or as strings.
      recipients: [bob, alice],
      signingPrivateKey: keys.aliceSigning.privateKey,
      ...(v3 ? { keyVersion: KEY_VERSION, roster: ROSTER_HEAD, chain: CHAIN } : {}),
    },
    { ephemeralPrivateKey: keys.ephemeral.privateKey, contentKeyBytes: keys.contentKey, iv: keys.iv },
  );
  const ephPub = await rawPublic(keys.ephemeral.publicKey);
  const payloadJson = JSON.stringify({ text: TEXT });
  const members = [
    { name: "alice", recipient: alice, seed: keys.seeds.aliceAgreement, pair: keys.aliceAgreement },
    { name: "bob", recipient: bob, seed: keys.seeds.bobAgreement, pair: keys.bobAgreement },
  ];

  const chained = v3
    ? { key_version: KEY_VERSION, roster_head: ROSTER_HEAD, chain: CHAIN }
    : {};
  return {
    description:
      `SecureChat envelope v${v3 ? 3 : 1} (docs/PROTOCOL.md). Generated once by make_envelope_vectors.mjs from fixed seeds ` +
      "(Ed25519/X25519 private keys are the raw 32-byte seeds of RFC 8032/7748); byte strings are standard base64. " +
      "Alice (id 3) sends to the room's members Alice and Bob (id 11).",
    labels: v3
      ? { envelope: LABEL_ENVELOPE_V3, wrap: INFO_ENVELOPE_WRAP, key_commit: INFO_KEY_COMMIT }
      : { envelope: LABEL_ENVELOPE, wrap: INFO_ENVELOPE_WRAP },
    inputs: {
      ...chained,
      room: ROOM,
      client_id: CLIENT_ID,
      sent_at: SENT_AT,
      text: TEXT,
      sender: {
        id: ALICE_ID,
        signing_seed: toBase64(keys.seeds.aliceSigning),
        signing_public_key: toBase64(await rawPublic(keys.aliceSigning.publicKey)),
      },
      members: members.map(({ name, recipient, seed }) => ({
        name,
        id: recipient.id,
        agreement_seed: toBase64(seed),
        agreement_public_key: recipient.agreementPublicKey,
      })),
      ephemeral_seed: toBase64(keys.seeds.ephemeral),
      content_key: toBase64(keys.contentKey),
      iv: toBase64(keys.iv),
    },
    header: new TextDecoder().decode(canonicalHeader(envelope)),
    payload: { json: payloadJson, padded: toBase64(pad(utf8(payloadJson))) },
    wraps: await Promise.all(
      members.map(async ({ recipient: { id }, pair }) => {
        const info = infoEnvelopeWrap(ROOM, CLIENT_ID, id);
        return { id, info, ...(await kekSteps(keys.ephemeral.privateKey, pair.publicKey, ephPub, info)) };
      }),
    ),
    signature_input: toBase64(signatureInput(envelope)),
    ...(v3 ? { envelope_hash: await envelopeHash(envelope) } : {}),
    envelope,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Within a version only the JSON shape may change (wraps as one blob since DECISIONS.md "Wraps travel as one
  // blob"): the header, signature input and signature of a regenerated file must stay byte for byte the same.
  for (const [out, version] of /** @type {[string, 3 | undefined][]} */ ([[OUT, undefined], [OUT_V3, 3]])) {
    if (existsSync(out) && !process.argv.includes("--force")) {
      console.log(`${out} exists and is frozen; kept (--force only for a new shape)`);
      continue;
    }
    writeFileSync(out, JSON.stringify(await makeVectors(version), null, 2) + "\n");
    console.log(`wrote ${out}`);
  }
}
