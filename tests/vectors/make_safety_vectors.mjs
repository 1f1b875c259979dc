// @ts-check
// Writes tests/vectors/safety-v1.json from FIXED inputs through the real browser module
// (static/js/crypto/safety.js). Run once; the JSON is then a frozen contract checked by
// tests/js/safety.test.js and by accounts/tests/test_safety_number_vectors.py. Refuses to overwrite
// unless given --force.
//
//   node tests/vectors/make_safety_vectors.mjs [--force]

import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import {
  formatSafetyNumber,
  SAFETY_NUMBER_ITERATIONS,
  SAFETY_NUMBER_VERSION,
  safetyNumber,
  toBase64,
  userFingerprintDigits,
} from "../../static/js/crypto/index.js";
import { keyPairFromSeed } from "./make_accounts_vectors.mjs";

const subtle = globalThis.crypto.subtle;
const OUT = fileURLToPath(new URL("./safety-v1.json", import.meta.url));

/** @param {number} byte @returns {Uint8Array} 32 copies of byte: the Ed25519 seed */
export function seedOf(byte) {
  return new Uint8Array(32).fill(byte);
}

/**
 * @param {string} username
 * @param {number} seedByte
 */
async function party(username, seedByte) {
  const seed = seedOf(seedByte);
  const { publicKey } = await keyPairFromSeed("Ed25519", seed);
  const signingPublicKey = toBase64(new Uint8Array(await subtle.exportKey("raw", publicKey)));
  return {
    username,
    signing_seed: toBase64(seed),
    signing_public_key: signingPublicKey,
    digits: await userFingerprintDigits(signingPublicKey, username),
  };
}

export async function makeVectors() {
  const alice = await party("alice", 0x01);
  const bob = await party("bob", 0x02);
  const number = await safetyNumber(
    { username: alice.username, signingPublicKey: alice.signing_public_key },
    { username: bob.username, signingPublicKey: bob.signing_public_key },
  );
  // "Alice" must give alice's digits: usernames are hashed in lower case.
  const aliceUpper = await userFingerprintDigits(alice.signing_public_key, "Alice");
  return {
    description:
      "Safety numbers v1: per user SHA-512(u16be(version) || key || lower(username)), then `iterations` times " +
      "SHA-512(h || key); first 30 bytes as 6 big-endian 40-bit chunks mod 100000, 5 digits each. The pair's " +
      "number is the two 30-digit strings sorted and concatenated. Seeds are 32 copies of 0x01 and 0x02.",
    version: SAFETY_NUMBER_VERSION,
    iterations: SAFETY_NUMBER_ITERATIONS,
    alice,
    bob,
    alice_mixed_case: { username: "Alice", digits: aliceUpper },
    safety_number: number,
    groups: formatSafetyNumber(number),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (existsSync(OUT) && !process.argv.includes("--force")) {
    console.error(`${OUT} exists; the vectors are frozen. Pass --force only for a new format version.`);
    process.exit(1);
  }
  writeFileSync(OUT, JSON.stringify(await makeVectors(), null, 2) + "\n");
  console.log(`wrote ${OUT}`);
}
