// @ts-check
// The newest roster entry this account has verified for each room, so a server that later serves a shorter chain,
// another chain, or the room without its chain is caught. Kept twice: in the account's sealed trust store, which
// every browser of the account reads (a new device knows which rooms are signed), and in this browser's IndexedDB,
// which the server cannot touch at all (it could replay an older trust store). The heads are no secret: an
// entry's seq and hash.

import { withStore } from "../storage/idb.js";

const HEADS = { db: "securechat-rosters", store: "heads" };

/**
 * @typedef {{seq: number, hash: string}} Head
 * @typedef {{get: (roomId: string) => Promise<Head | null>, put: (roomId: string, head: Head) => Promise<void>}} Heads
 */

/** Heads in memory: for tests, and where nothing else is at hand. */
export class MemoryHeads {
  constructor() {
    /** @type {Map<string, Head>} */
    this.heads = new Map();
  }

  /** @param {string} roomId @returns {Promise<Head | null>} */
  async get(roomId) {
    return this.heads.get(roomId) ?? null;
  }

  /** @param {string} roomId @param {Head} head */
  async put(roomId, head) {
    this.heads.set(roomId, head);
  }
}

/** The account's trust store and this browser's IndexedDB: the newer of the two counts. */
export class AccountHeads {
  /**
   * @param {{pins: import("../trust/pins.js").Pins, username: string}} options `username` keys this browser's records
   */
  constructor({ pins, username }) {
    this.pins = pins;
    this.username = username.toLowerCase();
  }

  /** @param {string} roomId @returns {Promise<Head | null>} */
  async get(roomId) {
    const local = (await withStore(HEADS, "readonly", (store) => store.get(this.#key(roomId)))) ?? null;
    const synced = this.pins.roomHead(roomId);
    if (!local || !synced) return local ?? synced;
    return local.seq >= synced.seq ? local : synced;
  }

  /** @param {string} roomId @param {Head} head */
  async put(roomId, head) {
    await withStore(HEADS, "readwrite", (store) => store.put({ seq: head.seq, hash: head.hash }, this.#key(roomId)));
    await this.pins.recordRoomHead(roomId, head);
  }

  /** @param {string} roomId */
  #key(roomId) {
    return `${this.username}:${roomId}`;
  }
}
