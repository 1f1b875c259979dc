// @ts-check
// Byte/string conversions shared by the crypto modules. Decoders are strict: a blob from the
// server that is not canonical is refused, never "repaired".

const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// String.fromCharCode(...chunk) overflows the call stack on large arrays; 32 KiB is safe everywhere.
const CHUNK = 0x8000;
// crypto.getRandomValues refuses more than 65 536 bytes per call.
const MAX_RANDOM_PER_CALL = 65536;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * @param {Uint8Array} bytes
 * @returns {string} standard base64 with padding
 */
export function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

/**
 * @param {string} str standard base64 with padding, no whitespace
 * @returns {Uint8Array}
 * @throws {Error} on anything that is not canonical padded base64
 */
export function fromBase64(str) {
  if (typeof str !== "string" || !BASE64_SHAPE.test(str)) {
    throw new Error("invalid base64");
  }
  const binary = atob(str);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  // Non-zero unused bits ("QR==") decode fine but would give one value two spellings.
  if (toBase64(bytes) !== str) throw new Error("invalid base64: non-canonical padding bits");
  return bytes;
}

/**
 * @param {Uint8Array} bytes
 * @returns {string} base64url without padding (RFC 4648 §5), for URLs
 */
export function toBase64Url(bytes) {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * @param {string} str base64url without padding
 * @returns {Uint8Array}
 * @throws {Error} on anything that is not canonical unpadded base64url
 */
export function fromBase64Url(str) {
  if (typeof str !== "string" || !/^[A-Za-z0-9_-]*$/.test(str) || str.length % 4 === 1) {
    throw new Error("invalid base64url");
  }
  const b64 = str.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

/**
 * @param {string} str
 * @returns {Uint8Array} UTF-8 bytes
 */
export function utf8(str) {
  return encoder.encode(str);
}

/**
 * @param {Uint8Array} bytes
 * @returns {string}
 * @throws {TypeError} if the bytes are not valid UTF-8
 */
export function fromUtf8(bytes) {
  return strictDecoder.decode(bytes);
}

/**
 * @param {...Uint8Array} arrays
 * @returns {Uint8Array}
 */
export function concatBytes(...arrays) {
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/**
 * @param {Uint8Array} bytes
 * @returns {string} RFC 4648 base32, upper case, no padding
 */
export function toBase32(bytes) {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * @param {string} str RFC 4648 base32 without padding; case-insensitive; spaces and dashes ignored
 * @returns {Uint8Array}
 * @throws {Error} on any other character, an impossible length, or non-zero trailing bits
 */
export function fromBase32(str) {
  if (typeof str !== "string") throw new Error("invalid base32: not a string");
  const clean = str.replace(/[\s-]/g, "").toUpperCase();
  // 1, 3 or 6 leftover characters cannot come from whole bytes.
  if ([1, 3, 6].includes(clean.length % 8)) throw new Error("invalid base32: impossible length");
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const ch of clean) {
    const value = BASE32_ALPHABET.indexOf(ch);
    if (value < 0) throw new Error(`invalid base32 character ${JSON.stringify(ch)}`);
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[index++] = (buffer >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) throw new Error("invalid base32: non-zero trailing bits");
  return out;
}

/**
 * @param {number} n
 * @returns {Uint8Array} n bytes from the platform CSPRNG
 */
export function randomBytes(n) {
  if (!Number.isInteger(n) || n < 0) throw new RangeError("randomBytes: n must be a non-negative integer");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += MAX_RANDOM_PER_CALL) {
    globalThis.crypto.getRandomValues(out.subarray(i, i + MAX_RANDOM_PER_CALL));
  }
  return out;
}

/**
 * @param {Uint8Array} bytes
 * @returns {string} lower-case hex
 */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
