// @ts-check
// What was being written in each room and not sent yet: kept in this tab's memory only, so that a draft never
// follows into another room (Enter there would send it to other people).

export class Drafts {
  /** @type {Map<string, string>} room id → the unsent text */
  #texts = new Map();

  /** @param {string} roomId @returns {string} the room's draft, "" if none */
  get(roomId) {
    return this.#texts.get(roomId) ?? "";
  }

  /** Keep what the room's composer holds; an empty one keeps nothing. @param {string} roomId @param {string} text */
  keep(roomId, text) {
    if (text) this.#texts.set(roomId, text);
    else this.#texts.delete(roomId);
  }

  /** The room's text went out: nothing is waiting there. @param {string} roomId */
  clear(roomId) {
    this.#texts.delete(roomId);
  }
}
