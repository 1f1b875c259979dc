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
 * @typedef {{keyVersion: number, sealed: Sealed}} SeenRecord
 * @typedef {{read: (username: string) => Promise<SeenRecord | null>,
 *   write: (username: string, record: SeenRecord) => Promise<void>}} SeenBackend
 */

/** Records in memory: for Node tests. */
export class MemorySeenBackend {
  constructor() {
    /** @type {Map<string, SeenRecord>} */
    this.records = new Map();
  }

  /** @param {string} username */
  async read(username) {
    return this.records.get(username.toLowerCase()) ?? null;
  }

  /** @param {string} username @param {SeenRecord} record */
  async write(username, record) {
    this.records.set(username.toLowerCase(), record);
  }
}

/** @type {SeenBackend} */
export const browserSeenBackend = {
  read: async (username) => (await withStore(SEEN, "readonly", (store) => store.get(username.toLowerCase()))) ?? null,
  write: async (username, record) => {
    await withStore(SEEN, "readwrite", (store) => store.put(record, username.toLowerCase()));
  },
};

/**
 * The highest trust-store counter this browser has opened for one account. The record names, in clear, the owner's
 * key version it was sealed under: one from before a key reset (a lower version) no longer opens and says nothing of
 * the stores sealed since; one from a higher version means the server serves keys from before a reset; one of the
 * same version must open and name this owner.
 */
export class SeenCounter {
  /**
   * @param {{accountKey: CryptoKey, username: string, owner: string, keyVersion?: number, backend?: SeenBackend}}
   *   options
   */
  constructor({ accountKey, username, owner, keyVersion = 0, backend = browserSeenBackend }) {
    this.accountKey = accountKey;
    this.username = username;
    this.owner = owner;
    this.keyVersion = keyVersion;
    this.backend = backend;
  }

  /**
   * @returns {Promise<number>} 0 when this browser never opened one (or only under keys from before a reset)
   * @throws {SeenError} the record belongs to newer keys, or does not open, or names another owner
   */
  async highest() {
    /** @type {any} */
    const record = await this.backend.read(this.username);
    if (!record) return 0;
    const version = Number.isSafeInteger(record.keyVersion) ? record.keyVersion : 0;
    if (version < this.keyVersion) return 0;
    if (version > this.keyVersion) throw new SeenError("older", "the server serves your keys from before your last key reset");
    let opened;
    try {
      opened = await openJson(this.accountKey, record.sealed, aadTrustSeen(this.username));
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      throw new SeenError("tampered", "this browser's record of it does not open with the keys the server serves");
    }
    if (opened?.owner !== this.owner || !Number.isSafeInteger(opened.counter)) {
      throw new SeenError("foreign", `the server says you are user ${this.owner}, not the account this browser knows`);
    }
    return opened.counter;
  }

  /** @param {number} counter records it, if higher than the record */
  async record(counter) {
    if (counter <= (await this.highest())) return;
    const sealed = await sealJson(this.accountKey, { owner: this.owner, counter }, aadTrustSeen(this.username));
    await this.backend.write(this.username, /** @type {any} */ ({ keyVersion: this.keyVersion, sealed }));
  }
}

/** This browser's record contradicts what the server serves; `problem` as TrustStoreError's. */
export class SeenError extends Error {
  /** @param {"older" | "tampered" | "foreign"} problem @param {string} message */
  constructor(problem, message) {
    super(message);
    this.name = "SeenError";
    this.problem = problem;
  }
}
