// @ts-check
// ISO/IEC 7816-4 padding to whole 256-byte blocks, so a ciphertext tells the server a message's size
// only to within 256 bytes (docs/PROTOCOL.md, "Envelope v1", step 2).

export const PAD_BLOCK = 256;
const MARKER = 0x80;

/**
 * Always adds at least the 0x80 marker, so a payload that is already a multiple of PAD_BLOCK
 * gets one whole block of padding and unpad never has to guess.
 * @param {Uint8Array} bytes
 * @returns {Uint8Array} bytes ‖ 0x80 ‖ 0x00…, a non-zero multiple of PAD_BLOCK long
 */
export function pad(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("pad expects a Uint8Array");
  const out = new Uint8Array((Math.floor(bytes.length / PAD_BLOCK) + 1) * PAD_BLOCK);
  out.set(bytes);
  out[bytes.length] = MARKER;
  return out;
}

/**
 * Strict inverse of pad: the padding must be minimal (1 to PAD_BLOCK bytes), so every payload has
 * exactly one padded form.
 * @param {Uint8Array} bytes
 * @returns {Uint8Array} a view of the payload without its padding
 * @throws {RangeError} if the length is not a non-zero multiple of PAD_BLOCK or the padding is bad
 */
export function unpad(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("unpad expects a Uint8Array");
  if (bytes.length === 0 || bytes.length % PAD_BLOCK !== 0) {
    throw new RangeError(`padded length must be a non-zero multiple of ${PAD_BLOCK}`);
  }
  const lowest = bytes.length - PAD_BLOCK;
  let i = bytes.length - 1;
  while (i > lowest && bytes[i] === 0) i--;
  if (bytes[i] !== MARKER) throw new RangeError("bad padding");
  return bytes.subarray(0, i);
}
