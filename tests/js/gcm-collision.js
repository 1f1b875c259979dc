// @ts-check
// For attack tests only: one AES-GCM ciphertext whose tag verifies under two different keys (the "invisible
// salamanders" construction). Every block is `plaintext` encrypted under key1 except one, solved for in GF(2^128) so
// that both keys' tags agree; under key2 the whole plaintext is other bytes.

const subtle = globalThis.crypto.subtle;
const R = 0xe1n << 120n;
const MASK = (1n << 128n) - 1n;

/**
 * @param {{key1: Uint8Array, key2: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array,
 *   free?: number}} what `plaintext` a whole number of 16-byte blocks; `free`: the block solved for (default 1)
 * @returns {Promise<Uint8Array>} ciphertext ‖ tag
 */
export async function collidingCiphertext({ key1, key2, iv, aad, plaintext, free = 1 }) {
  if (plaintext.length % 16 || iv.length !== 12) throw new TypeError("whole blocks and a 12-byte IV only");
  const blocks = plaintext.length / 16;
  const stream = await keystream(key1, iv, plaintext.length);
  const ciphertext = plaintext.map((byte, i) => byte ^ stream[i]);
  ciphertext.fill(0, free * 16, free * 16 + 16);

  const [h1, h2] = [await blockOf(key1, new Uint8Array(16)), await blockOf(key2, new Uint8Array(16))];
  const j0 = new Uint8Array(16);
  j0.set(iv);
  j0[15] = 1;
  const [s1, s2] = [await blockOf(key1, j0), await blockOf(key2, j0)];
  const g1 = ghash(h1, aad, ciphertext);
  const g2 = ghash(h2, aad, ciphertext);
  // The free block's place counted from the end of GHASH's input: its power of H.
  const aadBlocks = Math.ceil(aad.length / 16);
  const power = aadBlocks + blocks + 1 - (aadBlocks + free);
  const difference = s1 ^ g1 ^ s2 ^ g2;
  const x = multiply(difference, inverse(power1(h1, power) ^ power1(h2, power)));
  ciphertext.set(toBytes(x), free * 16);
  const tag = s1 ^ ghash(h1, aad, ciphertext);
  const out = new Uint8Array(ciphertext.length + 16);
  out.set(ciphertext);
  out.set(toBytes(tag), ciphertext.length);
  return out;
}

/** E_K(block), with AES-CBC from a zero IV: its first output block. @param {Uint8Array} key @param {Uint8Array} block */
async function blockOf(key, block) {
  const aes = await subtle.importKey("raw", key, { name: "AES-CBC" }, false, ["encrypt"]);
  const out = new Uint8Array(await subtle.encrypt({ name: "AES-CBC", iv: new Uint8Array(16) }, aes, block));
  return fromBytes(out.subarray(0, 16));
}

/** GCM's keystream: AES-CTR from inc32(J0). @param {Uint8Array} key @param {Uint8Array} iv @param {number} length */
async function keystream(key, iv, length) {
  const aes = await subtle.importKey("raw", key, { name: "AES-CTR" }, false, ["encrypt"]);
  const counter = new Uint8Array(16);
  counter.set(iv);
  counter[15] = 2;
  return new Uint8Array(await subtle.encrypt({ name: "AES-CTR", counter, length: 32 }, aes, new Uint8Array(length)));
}

/** @param {bigint} h @param {Uint8Array} aad @param {Uint8Array} ciphertext */
function ghash(h, aad, ciphertext) {
  let y = 0n;
  for (const data of [aad, ciphertext]) {
    for (let i = 0; i < data.length; i += 16) {
      const block = new Uint8Array(16);
      block.set(data.subarray(i, i + 16));
      y = multiply(y ^ fromBytes(block), h);
    }
  }
  const lengths = (BigInt(aad.length * 8) << 64n) | BigInt(ciphertext.length * 8);
  return multiply(y ^ lengths, h);
}

/** Multiplication in GCM's GF(2^128) (NIST SP 800-38D, algorithm 1). @param {bigint} x @param {bigint} y */
function multiply(x, y) {
  let z = 0n;
  let v = x;
  for (let i = 127n; i >= 0n; i--) {
    if ((y >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z & MASK;
}

/** @param {bigint} x @param {number} n */
function power1(x, n) {
  let out = 1n << 127n; // the field's 1
  for (let i = 0; i < n; i++) out = multiply(out, x);
  return out;
}

/** x^(2^128 - 2). @param {bigint} x */
function inverse(x) {
  let result = 1n << 127n;
  let base = x;
  let e = (1n << 128n) - 2n;
  while (e > 0n) {
    if (e & 1n) result = multiply(result, base);
    base = multiply(base, base);
    e >>= 1n;
  }
  return result;
}

/** @param {Uint8Array} bytes 16 */
function fromBytes(bytes) {
  return bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

/** @param {bigint} x */
function toBytes(x) {
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
