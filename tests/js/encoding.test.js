// @ts-check
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  concatBytes,
  fromBase32,
  fromBase64,
  fromUtf8,
  randomBytes,
  toBase32,
  toBase64,
  toHex,
  utf8,
} from "../../static/js/crypto/encoding.js";

test("base64 round-trips every length from 0 to 64 and a 200 kB buffer", () => {
  for (let n = 0; n <= 64; n++) {
    const bytes = randomBytes(n);
    assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
  }
  const big = randomBytes(200_000);
  assert.deepEqual(fromBase64(toBase64(big)), big);
});

test("base64 uses the standard alphabet with padding (RFC 4648 test vectors)", () => {
  const cases = { "": "", f: "Zg==", fo: "Zm8=", foo: "Zm9v", foobar: "Zm9vYmFy" };
  for (const [plain, encoded] of Object.entries(cases)) {
    assert.equal(toBase64(utf8(plain)), encoded);
    assert.equal(fromUtf8(fromBase64(encoded)), plain);
  }
  assert.equal(toBase64(Uint8Array.of(0xfb, 0xff)), "+/8=");
});

test("fromBase64 rejects garbage, missing padding, url-safe letters, whitespace and non-canonical bits", () => {
  for (const bad of ["Zg", "Zm8", "Zg=", "Z===", "Zm9v!", "-_8=", "+/8", " Zm9v", "Zm9v\n", "QR==", "Zm9=", "====", null, 42]) {
    assert.throws(() => fromBase64(/** @type {any} */ (bad)), Error, `accepted ${JSON.stringify(bad)}`);
  }
});

test("base32 matches RFC 4648 test vectors without padding", () => {
  const cases = { "": "", f: "MY", fo: "MZXQ", foo: "MZXW6", foob: "MZXW6YQ", fooba: "MZXW6YTB", foobar: "MZXW6YTBOI" };
  for (const [plain, encoded] of Object.entries(cases)) {
    assert.equal(toBase32(utf8(plain)), encoded);
    assert.equal(fromUtf8(fromBase32(encoded)), plain);
  }
});

test("base32 round-trips random data and ignores case, spaces and dashes", () => {
  for (let n = 0; n <= 40; n++) {
    const bytes = randomBytes(n);
    assert.deepEqual(fromBase32(toBase32(bytes)), bytes);
  }
  assert.equal(fromUtf8(fromBase32("mzxw-6ytb oi")), "foobar");
});

test("fromBase32 rejects other characters, impossible lengths and non-zero trailing bits", () => {
  for (const bad of ["MZXW6YTBO1", "MZXW0", "MZ=", "MZXW6YTBOI==", "M", "MZX", "MZXW6Y", "MZ_X", "MZXR"]) {
    assert.throws(() => fromBase32(bad), Error, `accepted ${bad}`);
  }
  // "f" is "MY"; "MZ" decodes to the same byte with a stray low bit, so one value would have two spellings.
  assert.throws(() => fromBase32("MZ"), /trailing bits/);
});

test("utf8 and fromUtf8 round-trip non-ASCII text; invalid UTF-8 throws", () => {
  const text = "héllo wörld ✓ 🔐";
  assert.equal(fromUtf8(utf8(text)), text);
  assert.throws(() => fromUtf8(Uint8Array.of(0xc3, 0x28)), TypeError);
});

test("concatBytes joins in order and handles no arguments", () => {
  assert.deepEqual(concatBytes(Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)), Uint8Array.of(1, 2, 3));
  assert.deepEqual(concatBytes(), new Uint8Array(0));
});

test("randomBytes returns n fresh bytes, beyond the 65 536-byte getRandomValues limit", () => {
  assert.equal(randomBytes(0).length, 0);
  const big = randomBytes(70_000);
  assert.equal(big.length, 70_000);
  assert.ok(big.subarray(65_536).some((b) => b !== 0), "tail past the first chunk was filled");
  assert.notDeepEqual(randomBytes(16), randomBytes(16));
  assert.throws(() => randomBytes(-1), RangeError);
});

test("toHex is lower-case and zero-padded", () => {
  assert.equal(toHex(Uint8Array.of(0, 0x0f, 0xab, 0xff)), "000fabff");
});
