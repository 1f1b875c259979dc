// @ts-check
// One IndexedDB object store, one request per transaction, resolved once the transaction has committed (so a
// caller that awaits a write or a wipe knows it is on disk, not just queued).

/**
 * @param {string} dbName
 * @param {string} storeName
 * @returns {Promise<IDBDatabase>} the database, with the store made on first use
 */
function openDb(dbName, storeName) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName, 1);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(storeName)) request.result.createObjectStore(storeName);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("the database is blocked by another tab"));
  });
}

/**
 * @template T
 * @param {{db: string, store: string}} where
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} operation
 * @returns {Promise<T>}
 * @throws {unknown} what IndexedDB failed with (callers say what it was for)
 */
export async function withStore({ db: dbName, store: storeName }, mode, operation) {
  const db = await openDb(dbName, storeName);
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode);
      const request = operation(tx.objectStore(storeName));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? request.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
    });
  } finally {
    db.close();
  }
}
