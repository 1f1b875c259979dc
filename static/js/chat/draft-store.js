// @ts-check
// Unsent drafts kept across reloads: each sealed with the account key (AES-256-GCM, non-extractable, never on the
// server) before it is written to this browser's IndexedDB, bound to the account and the room it was written in, and
// wiped with the keys at log-out. What is on disk is ciphertext, as a message's is on the server.

import { openJson, sealJson } from "../crypto/aead.js";
import { withStore } from "../storage/idb.js";

const DRAFTS = { db: "securechat-drafts", store: "drafts" };
const AAD = "securechat/draft/v1|";

/**
 * @typedef {{room: string, iv: string, ciphertext: string}} Record a draft as stored
 * @typedef {{all: (prefix: string) => Promise<Record[]>, put: (key: string, record: Record) => Promise<void>,
 *            delete: (key: string) => Promise<void>, clear: () => Promise<void>}} Backend
 */

/** This browser's IndexedDB. @type {Backend} */
export const indexedDbDrafts = {
  all: (prefix) => withStore(DRAFTS, "readonly", (store) => store.getAll(IDBKeyRange.bound(prefix, `${prefix}\uffff`))),
  put: async (key, record) => void (await withStore(DRAFTS, "readwrite", (store) => store.put(record, key))),
  delete: async (key) => void (await withStore(DRAFTS, "readwrite", (store) => store.delete(key))),
  clear: async () => void (await withStore(DRAFTS, "readwrite", (store) => store.clear())),
};

/** Every draft of every account this browser held, gone (at log-out, with the keys). */
export function wipeDrafts(backend = indexedDbDrafts) {
  return backend.clear();
}

export class DraftStore {
  /** @param {{accountKey: CryptoKey, username: string, backend?: Backend}} options */
  constructor({ accountKey, username, backend = indexedDbDrafts }) {
    this.accountKey = accountKey;
    this.username = username.toLowerCase();
    this.backend = backend;
    /** @type {Map<string, Promise<void>>} room id → its latest write: the next waits for it, so the last one wins */
    this.writes = new Map();
  }

  /**
   * The account's drafts, by room. One that does not open (altered on disk, or sealed under a key from before a key
   * reset) is left out, never shown.
   * @returns {Promise<Map<string, string>>}
   */
  async load() {
    const drafts = new Map();
    for (const record of await this.backend.all(this.#prefix())) {
      try {
        const text = await openJson(this.accountKey, record, this.#aad(record.room));
        if (typeof text === "string" && text) drafts.set(record.room, text);
      } catch {
        // Not one this key sealed for this room: not shown.
      }
    }
    return drafts;
  }

  /**
   * Keep the room's draft (an empty one is removed). Writes to one room go in order.
   * @param {string} roomId @param {string} text
   * @returns {Promise<void>}
   */
  save(roomId, text) {
    const previous = this.writes.get(roomId) ?? Promise.resolve();
    const write = previous.then(async () => {
      const key = `${this.#prefix()}${roomId}`;
      if (!text) return this.backend.delete(key);
      const sealed = await sealJson(this.accountKey, text, this.#aad(roomId));
      await this.backend.put(key, { room: roomId, ...sealed });
    });
    const kept = write.catch(() => {}); // a failed write is the caller's to report; the next one still goes
    this.writes.set(roomId, kept);
    return write;
  }

  #prefix() {
    return `${this.username}:`;
  }

  /** @param {string} roomId */
  #aad(roomId) {
    return `${AAD}${this.username}|${roomId}`;
  }
}
