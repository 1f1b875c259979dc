// @ts-check
// Writes tests/vectors/accounts-v1.json from FIXED inputs through the real browser modules.
// Run once; the JSON is then a frozen contract checked by tests/js/vectors.test.js and by
// accounts/tests/test_crypto_vectors.py. Refuses to overwrite unless given --force.
//
//   node tests/vectors/make_accounts_vectors.mjs [--force]

import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import {
  aadAccountKeyByPassword,
  aadAccountKeyByRecovery,
  aadBundle,
  agreementSignedBytes,
  concatBytes,
  deriveAuthKey,
  deriveMasterKey,
  deriveRecoveryAuth,
  deriveRecoveryWrapKey,
  deriveWrapKey,
  fingerprint,
  formatRecoveryKey,
  fromBase64,
  INFO_AUTH,
  INFO_RECOVERY_AUTH,
  INFO_RECOVERY_WRAP,
  INFO_WRAP,
  publicKeys,
  sealBundle,
  toBase64,
  wrapAccountKey,
} from "../../static/js/crypto/index.js";

const subtle = globalThis.crypto.subtle;
const OUT = fileURLToPath(new URL("./accounts-v1.json", import.meta.url));

// RFC 8410 PKCS#8 prefixes: raw 32-byte seeds can only be imported into WebCrypto this way.
export const ED25519_PKCS8_PREFIX = "302e020100300506032b657004220420";
export const X25519_PKCS8_PREFIX = "302e020100300506032b656e04220420";

/** @param {number} start @param {number} length */
export function counting(start, length) {
  return Uint8Array.from({ length }, (_, i) => start + i);
}

/** @param {string} hex */
function fromHex(hex) {
  return Uint8Array.from(/** @type {string[]} */ (hex.match(/../g)), (h) => parseInt(h, 16));
}

/**
 * @param {"Ed25519" | "X25519"} name
 * @param {Uint8Array} seed
 * @returns {Promise<CryptoKeyPair>} extractable pair rebuilt from a fixed seed
 */
export async function keyPairFromSeed(name, seed) {
  const prefix = name === "Ed25519" ? ED25519_PKCS8_PREFIX : X25519_PKCS8_PREFIX;
  const usages = /** @type {KeyUsage[]} */ (name === "Ed25519" ? ["sign"] : ["deriveBits"]);
  const privateKey = await subtle.importKey("pkcs8", concatBytes(fromHex(prefix), seed), { name }, true, usages);
  // WebCrypto cannot export a public key from a private one, but the private JWK carries it as "x".
  const jwk = await subtle.exportKey("jwk", privateKey);
  const x = /** @type {string} */ (jwk.x).replace(/-/g, "+").replace(/_/g, "/");
  const publicRaw = fromBase64(x + "=".repeat((4 - (x.length % 4)) % 4));
  const publicUsages = /** @type {KeyUsage[]} */ (name === "Ed25519" ? ["verify"] : []);
  const publicKey = await subtle.importKey("raw", publicRaw, { name }, true, publicUsages);
  return { privateKey, publicKey };
}

export async function makeVectors() {
  const username = "alice";
  const password = "correct horse battery staple";
  const salt = counting(0x00, 16);
  const iterations = 1000;
  const accountKeyRaw = counting(0x40, 32);
  const recoveryKey = counting(0x20, 32);
  const signingSeed = counting(0x60, 32);
  const agreementSeed = counting(0x80, 32);
  const passwordIv = counting(0xa0, 12);
  const recoveryIv = counting(0xb0, 12);
  const bundleIv = counting(0xc0, 12);

  const accountKey = await subtle.importKey("raw", accountKeyRaw, "AES-GCM", true, ["encrypt", "decrypt"]);
  const master = await deriveMasterKey(password, salt, iterations);
  const passwordAad = aadAccountKeyByPassword(username);
  const byPassword = await wrapAccountKey(await deriveWrapKey(master), accountKey, passwordAad, { iv: passwordIv });
  const recoveryAad = aadAccountKeyByRecovery(username);
  const byRecovery = await wrapAccountKey(await deriveRecoveryWrapKey(recoveryKey), accountKey, recoveryAad, {
    iv: recoveryIv,
  });

  const identity = {
    signing: await keyPairFromSeed("Ed25519", signingSeed),
    agreement: await keyPairFromSeed("X25519", agreementSeed),
  };
  const published = await publicKeys(identity);
  const bundle = await sealBundle(accountKey, identity, username, { iv: bundleIv });

  return {
    description:
      "SecureChat account key hierarchy v1 (docs/ACCOUNTS.md, Key hierarchy). " +
      "Generated once by make_accounts_vectors.mjs; all byte strings are standard base64. " +
      "HKDF-SHA256 uses an empty salt everywhere.",
    username,
    password: {
      password,
      salt: toBase64(salt),
      iterations,
      auth_info: INFO_AUTH,
      wrap_info: INFO_WRAP,
      auth_key: toBase64(await deriveAuthKey(master)),
    },
    account_key: toBase64(accountKeyRaw),
    account_key_by_password: { aad: passwordAad, iv: byPassword.iv, ciphertext: byPassword.ciphertext },
    recovery: {
      recovery_key: toBase64(recoveryKey),
      recovery_key_text: formatRecoveryKey(recoveryKey),
      auth_info: INFO_RECOVERY_AUTH,
      wrap_info: INFO_RECOVERY_WRAP,
      recovery_auth: toBase64(await deriveRecoveryAuth(recoveryKey)),
    },
    account_key_by_recovery: { aad: recoveryAad, iv: byRecovery.iv, ciphertext: byRecovery.ciphertext },
    identity: {
      signing_seed: toBase64(signingSeed),
      agreement_seed: toBase64(agreementSeed),
      signing_public_key: published.signingPublicKey,
      agreement_public_key: published.agreementPublicKey,
      agreement_signed_bytes: toBase64(agreementSignedBytes(fromBase64(published.agreementPublicKey))),
      agreement_signature: published.agreementSignature,
      fingerprint: await fingerprint(published.signingPublicKey),
    },
    bundle: { aad: aadBundle(username), iv: bundle.iv, ciphertext: bundle.ciphertext },
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
