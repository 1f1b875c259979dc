// @ts-check
import assert from "node:assert/strict";
import { test } from "node:test";

import { pad, PAD_BLOCK, unpad } from "../../static/js/crypto/padding.js";

/** @param {number} n */
const bytes = (n) => Uint8Array.from({ length: n }, (_, i) => (i % 255) + 1);

test("padded lengths are the next multiple of 256 strictly above the payload", () => {
  assert.equal(PAD_BLOCK, 256);
  for (const [size, padded] of [
    [0, 256],
    [1, 256],
    [255, 256],
    [256, 512],
    [257, 512],
    [511, 512],
    [512, 768],
    [16011, 16128],
  ]) {
    const out = pad(bytes(size));
    assert.equal(out.length, padded, `payload of ${size} bytes`);
    assert.equal(out.length % PAD_BLOCK, 0);
  }
});

test("padding is 0x80 then zeros, and an exact multiple still gets a whole block", () => {
  assert.deepEqual(pad(new Uint8Array(0)), Uint8Array.from({ length: 256 }, (_, i) => (i === 0 ? 0x80 : 0)));
  const exact = pad(bytes(256));
  assert.deepEqual(exact.subarray(0, 256), bytes(256));
  assert.equal(exact[256], 0x80);
  assert.ok(exact.subarray(257).every((b) => b === 0));
});

test("unpad inverts pad, including payloads that end in 0x80 or 0x00", () => {
  const payloads = [bytes(0), bytes(1), bytes(255), bytes(256), bytes(700), Uint8Array.of(0x80), Uint8Array.of(0)];
  for (const payload of payloads) {
    assert.deepEqual(unpad(pad(payload)), payload);
  }
});

test("unpad rejects bad padding", () => {
  const cases = {
    empty: new Uint8Array(0),
    "not a multiple of 256": Uint8Array.of(1, 0x80),
    "all zeros": new Uint8Array(256),
    "no marker": bytes(256),
    "0x01 marker": Uint8Array.from({ length: 256 }, (_, i) => (i === 10 ? 1 : 0)),
    "more than one block of padding": Uint8Array.from({ length: 512 }, (_, i) => (i === 0 ? 0x80 : 0)),
  };
  for (const [name, input] of Object.entries(cases)) {
    assert.throws(() => unpad(input), RangeError, name);
  }
  assert.throws(() => pad(/** @type {any} */ ("text")), TypeError);
});
