// @ts-check
// The signed-in user's unwrapped keys, kept in IndexedDB between pages. CryptoKeys are stored as
// they are (structured clone), so non-extractable keys stay non-extractable: script on this origin
// can use them but never read their bytes. Log-out and any page served signed-out wipe them.

const DB_NAME = "securechat";
const DB_VERSION = 1;
const STORE = "keys";
const RECORD = "session";

/**
 * @typedef {{username: string, signing_public_key: string, agreement_public_key: string,
 *            agreement_signature: string, key_version: number, fingerprint: string}} PublicIdentity
 * @typedef {{username: string, accountKey: CryptoKey, signingPrivateKey: CryptoKey,
 *            agreementPrivateKey: CryptoKey, identity: PublicIdentity}} StoredKeys
 */

/** @returns {Promise<IDBDatabase>} */
function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(storageError("open", request.error));
    request.onblocked = () => reject(storageError("open", new Error("the key store is blocked by another tab")));
  });
}

/**
 * Runs one request in its own transaction and resolves when the transaction has committed, so a
 * caller that awaits wipe() knows the keys are gone from disk, not just queued for deletion.
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} operation
 * @param {string} what for the error message
 * @returns {Promise<T>}
 */
async function withStore(mode, operation, what) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = operation(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(storageError(what, tx.error ?? request.error));
      tx.onabort = () => reject(storageError(what, tx.error ?? new Error("transaction aborted")));
    });
  } finally {
    db.close();
  }
}

/**
 * @param {string} what
 * @param {unknown} cause
 */
function storageError(what, cause) {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(`This browser could not ${what} the key store (IndexedDB): ${reason}`, { cause });
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
  await withStore("readwrite", (store) => store.put(record, RECORD), "save keys in");
}

/** @returns {Promise<StoredKeys | null>} */
export async function load() {
  const record = await withStore("readonly", (store) => store.get(RECORD), "read");
  return record ?? null;
}

/** @returns {Promise<void>} */
export async function wipe() {
  await withStore("readwrite", (store) => store.clear(), "wipe");
}

/**
 * Only the public fields: the OwnIdentity the server returns also carries the wrapped blobs, which
 * have no use once opened.
 * @param {PublicIdentity} identity
 * @returns {PublicIdentity}
 */
function publicPart(identity) {
  const { username, signing_public_key, agreement_public_key, agreement_signature, key_version, fingerprint } =
    identity;
  return { username, signing_public_key, agreement_public_key, agreement_signature, key_version, fingerprint };
}
