// @ts-check
// The signed-in user's unwrapped keys, kept in IndexedDB between pages. CryptoKeys are stored as
// they are (structured clone), so non-extractable keys stay non-extractable: script on this origin
// can use them but never read their bytes. Log-out and any page served signed-out wipe them.

import { withStore } from "../storage/idb.js";

const KEYS = { db: "securechat", store: "keys" };
const RECORD = "session";

/**
 * @typedef {{id?: number, username: string, signing_public_key: string, agreement_public_key: string,
 *            agreement_signature: string, key_version: number, fingerprint: string}} PublicIdentity
 *   id: the account's user id (missing in keys stored before it was kept)
 * @typedef {{username: string, accountKey: CryptoKey, signingPrivateKey: CryptoKey,
 *            agreementPrivateKey: CryptoKey, identity: PublicIdentity}} StoredKeys
 */

/**
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} operation
 * @param {string} what for the error message
 * @returns {Promise<T>}
 */
async function keyStore(mode, operation, what) {
  try {
    return await withStore(KEYS, mode, operation);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`This browser could not ${what} the key store (IndexedDB): ${reason}`, { cause });
  }
}

/**
 * @param {StoredKeys} keys
 * @returns {Promise<void>}
 */
export async function save(keys) {
  for (const name of /** @type {const} */ (["accountKey", "signingPrivateKey", "agreementPrivateKey"])) {
    if (!(keys[name] instanceof CryptoKey)) throw new TypeError(`${name} must be a CryptoKey`);
    // An extractable key here would let any script on the origin export it; refuse loudly.
    if (keys[name].extractable) throw new TypeError(`${name} must be non-extractable before it is stored`);
  }
  const record = {
    username: keys.username,
    accountKey: keys.accountKey,
    signingPrivateKey: keys.signingPrivateKey,
    agreementPrivateKey: keys.agreementPrivateKey,
    identity: publicPart(keys.identity),
  };
  await keyStore("readwrite", (store) => store.put(record, RECORD), "save keys in");
}

/** @returns {Promise<StoredKeys | null>} */
export async function load() {
  const record = await keyStore("readonly", (store) => store.get(RECORD), "read");
  return record ?? null;
}

/** @returns {Promise<void>} */
export async function wipe() {
  await keyStore("readwrite", (store) => store.clear(), "wipe");
}

/**
 * Only the public fields: the OwnIdentity the server returns also carries the wrapped blobs, which
 * have no use once opened.
 * @param {PublicIdentity} identity
 * @returns {PublicIdentity}
 */
function publicPart(identity) {
  const { id, username, signing_public_key, agreement_public_key, agreement_signature, key_version, fingerprint } =
    identity;
  return { id, username, signing_public_key, agreement_public_key, agreement_signature, key_version, fingerprint };
}
