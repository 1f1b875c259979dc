// @ts-check
// What was being written in each room and not sent yet, per room, so that a draft never follows into another room
// (Enter there would send it to other people). With a store (draft-store.js: sealed under the account key in
// IndexedDB) drafts also survive a reload; without one they live in this tab's memory only.

/** @typedef {{load: () => Promise<Map<string, string>>, save: (roomId: string, text: string) => Promise<void>}} Store */

export class Drafts {
  /** @type {Map<string, string>} room id → the unsent text */
  #texts = new Map();
  /** @type {Store | null} */
  #store;
  /** @type {Promise<void>} the latest write to the store, settled */
  #written = Promise.resolve();

  /** @param {Store | null} [store] */
  constructor(store = null) {
    this.#store = store;
  }

  /**
   * The drafts kept in the store, for rooms that have none in this tab yet.
   * @returns {Promise<void>}
   */
  async load() {
    if (!this.#store) return;
    for (const [roomId, text] of await this.#store.load()) if (!this.#texts.has(roomId)) this.#texts.set(roomId, text);
  }

  /** @param {string} roomId @returns {string} the room's draft, "" if none */
  get(roomId) {
    return this.#texts.get(roomId) ?? "";
  }

  /** Keep what the room's composer holds; an empty one keeps nothing. @param {string} roomId @param {string} text */
  keep(roomId, text) {
    if (text === this.get(roomId)) return;
    if (text) this.#texts.set(roomId, text);
    else this.#texts.delete(roomId);
    this.#persist(roomId, text);
  }

  /** The room's text went out: nothing is waiting there. @param {string} roomId */
  clear(roomId) {
    this.keep(roomId, "");
  }

  /** Settles once every draft kept so far is in the store (or failed to be). */
  written() {
    return this.#written;
  }

  /** @param {string} roomId @param {string} text */
  #persist(roomId, text) {
    if (!this.#store) return;
    const write = this.#store.save(roomId, text).catch((error) => console.error("could not keep the draft", error));
    this.#written = Promise.all([this.#written, write]).then(() => {});
  }
}
