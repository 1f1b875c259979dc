// @ts-check
import assert from "node:assert/strict";
import { test } from "node:test";

import { IntegrityError, open, openJson, seal, sealJson } from "../../static/js/crypto/aead.js";
import { fromBase64, toBase64, utf8 } from "../../static/js/crypto/encoding.js";

const newKey = () => crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);

/** @param {string} b64 @param {number} index */
function flipBit(b64, index) {
  const bytes = fromBase64(b64);
  bytes[index] ^= 0x01;
  return toBase64(bytes);
}

test("seal/open round-trips bytes with a fresh 12-byte IV each time", async () => {
  const key = await newKey();
  const plaintext = utf8("hello");
  const a = await seal(key, plaintext, "ctx");
  const b = await seal(key, plaintext, "ctx");
  assert.equal(fromBase64(a.iv).length, 12);
  assert.equal(fromBase64(a.ciphertext).length, plaintext.length + 16);
  assert.notEqual(a.iv, b.iv);
  assert.deepEqual(await open(key, a, "ctx"), plaintext);
});

test("open throws IntegrityError on wrong key, wrong AAD, flipped bits or malformed blobs", async () => {
  const key = await newKey();
  const sealed = await seal(key, utf8("hello"), "ctx");
  const cases = {
    "wrong key": async () => open(await newKey(), sealed, "ctx"),
    "wrong aad": () => open(key, sealed, "other"),
    "flipped ciphertext bit": () => open(key, { ...sealed, ciphertext: flipBit(sealed.ciphertext, 0) }, "ctx"),
    "flipped tag bit": () => open(key, { ...sealed, ciphertext: flipBit(sealed.ciphertext, 20) }, "ctx"),
    "flipped iv bit": () => open(key, { ...sealed, iv: flipBit(sealed.iv, 0) }, "ctx"),
    "bad base64": () => open(key, { ...sealed, ciphertext: "not base64!" }, "ctx"),
    "short iv": () => open(key, { ...sealed, iv: toBase64(new Uint8Array(8)) }, "ctx"),
    "truncated": () => open(key, { ...sealed, ciphertext: toBase64(new Uint8Array(10)) }, "ctx"),
  };
  for (const [name, attempt] of Object.entries(cases)) {
    await assert.rejects(attempt, (error) => {
      assert.ok(error instanceof IntegrityError, name);
      assert.equal(/** @type {Error} */ (error).name, "IntegrityError", name);
      return true;
    });
  }
});

test("open passes programming errors through (key without decrypt usage)", async () => {
  const encryptOnly = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  const sealed = await seal(encryptOnly, utf8("x"), "ctx");
  await assert.rejects(open(encryptOnly, sealed, "ctx"), (error) => /** @type {Error} */ (error).name !== "IntegrityError");
});

test("seal accepts a fixed IV (vectors/tests only) and rejects a wrong-sized one", async () => {
  const key = await newKey();
  const iv = Uint8Array.from({ length: 12 }, (_, i) => i);
  const a = await seal(key, utf8("x"), "ctx", { iv });
  const b = await seal(key, utf8("x"), "ctx", { iv });
  assert.equal(a.iv, toBase64(iv));
  assert.deepEqual(a, b);
  await assert.rejects(seal(key, utf8("x"), "ctx", { iv: new Uint8Array(16) }), TypeError);
});

test("sealJson/openJson round-trip a value under its AAD", async () => {
  const key = await newKey();
  const value = { v: 1, text: "héllo", list: [1, 2, { nested: true }] };
  const sealed = await sealJson(key, value, "json");
  assert.deepEqual(await openJson(key, sealed, "json"), value);
  await assert.rejects(openJson(key, sealed, "JSON"), IntegrityError);
});
