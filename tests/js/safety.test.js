// @ts-check
// Safety numbers: symmetric, sensitive to both keys and both usernames, and byte-for-byte equal to
// tests/vectors/safety-v1.json (which accounts/tests/test_safety_number_vectors.py reproduces in Python).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { randomBytes, toBase64 } from "../../static/js/crypto/encoding.js";
import { formatSafetyNumber, safetyNumber, userFingerprintDigits } from "../../static/js/crypto/safety.js";
import { makeVectors } from "../vectors/make_safety_vectors.mjs";

const V = JSON.parse(readFileSync(new URL("../vectors/safety-v1.json", import.meta.url), "utf8"));

const newKey = () => toBase64(randomBytes(32));
const alice = { username: "alice", signingPublicKey: V.alice.signing_public_key };
const bob = { username: "bob", signingPublicKey: V.bob.signing_public_key };

test("each user contributes 30 digits, and the pair 60 digits", async () => {
  assert.match(await userFingerprintDigits(newKey(), "carol"), /^[0-9]{30}$/);
  assert.match(await safetyNumber(alice, bob), /^[0-9]{60}$/);
});

test("both sides compute the same number: argument order does not matter", async () => {
  const carol = { username: "carol", signingPublicKey: newKey() };
  const dave = { username: "Dave", signingPublicKey: newKey() };
  assert.equal(await safetyNumber(carol, dave), await safetyNumber(dave, carol));
  const number = await safetyNumber(carol, dave);
  const halves = [number.slice(0, 30), number.slice(30)];
  assert.ok(halves[0] <= halves[1], "the smaller half comes first");
  assert.deepEqual(
    halves.sort(),
    [
      await userFingerprintDigits(carol.signingPublicKey, "carol"),
      await userFingerprintDigits(dave.signingPublicKey, "dave"),
    ].sort(),
  );
});

test("the number changes when either key changes", async () => {
  const reference = await safetyNumber(alice, bob);
  assert.notEqual(await safetyNumber({ ...alice, signingPublicKey: newKey() }, bob), reference);
  assert.notEqual(await safetyNumber(alice, { ...bob, signingPublicKey: newKey() }), reference);
});

test("the number changes when either username changes, but not with its case", async () => {
  const reference = await safetyNumber(alice, bob);
  assert.notEqual(await safetyNumber({ ...alice, username: "alicia" }, bob), reference);
  assert.notEqual(await safetyNumber(alice, { ...bob, username: "bobby" }), reference);
  assert.equal(await safetyNumber({ ...alice, username: "ALICE" }, { ...bob, username: "Bob" }), reference);
});

test("one key under two usernames gives two different halves", async () => {
  const key = newKey();
  assert.notEqual(await userFingerprintDigits(key, "alice"), await userFingerprintDigits(key, "bob"));
});

test("formatSafetyNumber gives 12 groups of 5 digits and refuses anything but 60 digits", async () => {
  const number = await safetyNumber(alice, bob);
  const groups = formatSafetyNumber(number);
  assert.equal(groups.length, 12);
  for (const group of groups) assert.match(group, /^[0-9]{5}$/);
  assert.equal(groups.join(""), number);
  for (const bad of ["", "1".repeat(59), "1".repeat(61), "1".repeat(59) + "a", "１".repeat(60), 123]) {
    assert.throws(() => formatSafetyNumber(/** @type {any} */ (bad)), TypeError);
  }
});

test("a key that is not 32 bytes of base64, or an empty username, is refused", async () => {
  await assert.rejects(userFingerprintDigits(toBase64(randomBytes(31)), "alice"), TypeError);
  await assert.rejects(userFingerprintDigits("not base64!", "alice"), TypeError);
  await assert.rejects(userFingerprintDigits(newKey(), ""), TypeError);
  await assert.rejects(safetyNumber(alice, { ...bob, signingPublicKey: toBase64(randomBytes(33)) }), TypeError);
});

test("known answer: tests/vectors/safety-v1.json", async () => {
  assert.equal(await userFingerprintDigits(V.alice.signing_public_key, "alice"), V.alice.digits);
  assert.equal(await userFingerprintDigits(V.bob.signing_public_key, "bob"), V.bob.digits);
  assert.equal(await userFingerprintDigits(V.alice.signing_public_key, "Alice"), V.alice_mixed_case.digits);
  assert.equal(await safetyNumber(alice, bob), V.safety_number);
  assert.equal(await safetyNumber(bob, alice), V.safety_number);
  assert.deepEqual(formatSafetyNumber(V.safety_number), V.groups);
});

test("the generator still reproduces the frozen vector file from its fixed seeds", async () => {
  assert.deepEqual(await makeVectors(), V);
});
