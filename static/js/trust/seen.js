// @ts-check
// This browser's record of the newest trust store it has opened for each account: the counter sealed inside that
// store, kept in IndexedDB where the server cannot reach, sealed under the account key (AAD
// securechat/trust-seen/v1|<username>) so that nothing else on the origin can pass off another number. A store
// served with a lower counter is an older copy replayed (docs/TRUST.md).

import { IntegrityError, openJson, sealJson } from "../crypto/aead.js";
import { aadTrustSeen } from "../crypto/labels.js";
import { withStore } from "../storage/idb.js";

const SEEN = { db: "securechat-trust", store: "seen" };

/**
 * @typedef {{iv: string, ciphertext: string}} Sealed
 * @typedef {{read: (username: string) => Promise<Sealed | null>, write: (username: string, sealed: Sealed) => Promise<void>}} SeenBackend
 */

/** Records in memory: for Node tests. */
export class MemorySeenBackend {
  constructor() {
    /** @type {Map<string, Sealed>} */
    this.records = new Map();
  }

  /** @param {string} username */
  async read(username) {
    return this.records.get(username.toLowerCase()) ?? null;
  }

  /** @param {string} username @param {Sealed} sealed */
  async write(username, sealed) {
    this.records.set(username.toLowerCase(), sealed);
  }
}

/** @type {SeenBackend} */
export const browserSeenBackend = {
  read: async (username) => (await withStore(SEEN, "readonly", (store) => store.get(username.toLowerCase()))) ?? null,
  write: async (username, sealed) => {
    await withStore(SEEN, "readwrite", (store) => store.put(sealed, username.toLowerCase()));
  },
};

/** The highest trust-store counter this browser has opened for one account. */
export class SeenCounter {
  /**
   * @param {{accountKey: CryptoKey, username: string, owner: string, backend?: SeenBackend}} options
   */
  constructor({ accountKey, username, owner, backend = browserSeenBackend }) {
    this.accountKey = accountKey;
    this.username = username;
    this.owner = owner;
    this.backend = backend;
  }

  /**
   * @returns {Promise<number>} 0 when this browser never opened one. A record that does not open under this account
   *   key counts as none: it was made before a key reset (which changes the account key) and says nothing about the
   *   stores sealed since.
   */
  async highest() {
    const sealed = await this.backend.read(this.username);
    if (!sealed) return 0;
    try {
      const record = await openJson(this.accountKey, sealed, aadTrustSeen(this.username));
      return record?.owner === this.owner && Number.isSafeInteger(record.counter) ? record.counter : 0;
    } catch (error) {
      if (error instanceof IntegrityError) return 0;
      throw error;
    }
  }

  /** @param {number} counter records it, if higher than the record */
  async record(counter) {
    if (counter <= (await this.highest())) return;
    const sealed = await sealJson(this.accountKey, { owner: this.owner, counter }, aadTrustSeen(this.username));
    await this.backend.write(this.username, sealed);
  }
}
