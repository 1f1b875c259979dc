// @ts-check
// What is unread, and how recently each room was active: counts, mentions of me, a preview of the latest message and
// the read positions that follow the user to their other tabs and browsers. No DOM here: the page draws it.
//
// A read position is the id of the last envelope the user has read in a room. The server keeps it (it is an id, not
// content: SECURITY.md) and tells every tab when it moves; this tab only ever moves it forward. Counts come from the
// messages this tab decrypted and verified, never from the server's word: a room's newest messages are loaded in the
// background (`warm`) so that its count, mentions and preview are there before it is opened.

/** Rooms whose newest page is loaded in the background: the most recently active, for their previews, and those with
 * unread messages, for their counts (the rest show "unread" without a number until opened). */
export const WARM_ROOMS = 20;
export const WARM_UNREAD_ROOMS = 100;
const PREVIEW_CHARS = 140;

/**
 * @typedef {import("./client.js").Message} Message
 * @typedef {{unread: number, mentions: number, atLeast: boolean}} Counts `atLeast`: more may be unread than this tab
 *   has loaded (the count is a lower bound)
 * @typedef {{sender: string, text: string, at: number, mine: boolean}} Preview
 * @typedef {{rooms: Map<string, any>, userId: number | null, socket: any,
 *            latestMessage: (roomId: string) => Message | null,
 *            nameOf: (id: number) => string, openRoom: (roomId: string) => Promise<void>,
 *            addEventListener: EventTarget["addEventListener"]}} Client what of the chat client this needs
 */

/**
 * Events (CustomEvent): "changed" ({room}: that room's counts, preview or activity may have changed; null: any room's).
 */
export class Unread extends EventTarget {
  /** @param {Client} client @param {{username: string}} me */
  constructor(client, me) {
    super();
    this.client = client;
    this.me = me;
    /** @type {Map<string, number>} room id → the id up to which the user has read it */
    this.positions = new Map();
    /** @type {Map<string, number>} room id → the position last asked of the server (not asked twice) */
    this.asked = new Map();
    this.mention = mentionPattern(me.username);
    /** @type {Map<string, {counts: Counts, activity: number}>} each room's, as last worked out: every message event
     * would otherwise recount every room's messages (the title and the list ask for all of them) */
    this.summaries = new Map();
    /** @type {Promise<void> | null} the background load running now */
    this.warming = null;
  }

  start() {
    const c = this.client;
    c.addEventListener("rooms", () => this.absorbListing());
    c.addEventListener("messages", (event) => this.changed(/** @type {CustomEvent} */ (event).detail.room));
    c.addEventListener("listing", (event) => {
      if (/** @type {CustomEvent} */ (event).detail.done) this.warm();
    });
    c.socket.addEventListener("read", (/** @type {Event} */ event) => {
      const { room, up_to: upTo } = /** @type {CustomEvent} */ (event).detail;
      this.moveTo(room, upTo);
    });
  }

  /** The read positions the rooms were listed with: each moves this tab's forward, never back. */
  absorbListing() {
    for (const [id, state] of this.client.rooms) {
      const listed = Number(state.room.read);
      if (Number.isSafeInteger(listed)) this.moveTo(id, listed, { quiet: true });
    }
    this.changed(null);
  }

  /** @param {string} roomId @param {number} upTo @param {{quiet?: boolean}} [options] */
  moveTo(roomId, upTo, { quiet = false } = {}) {
    if (!Number.isSafeInteger(upTo) || upTo <= (this.positions.get(roomId) ?? 0)) return false;
    this.positions.set(roomId, upTo);
    if (!quiet) this.changed(roomId);
    return true;
  }

  /** @param {string} roomId */
  position(roomId) {
    return this.positions.get(roomId) ?? 0;
  }

  /**
   * The user has seen the room up to its newest message here: that is read, in this tab at once and in the others
   * once the server has it.
   * @param {string} roomId
   */
  markRead(roomId) {
    const newest = this.newestId(roomId);
    if (newest === null || newest <= this.position(roomId)) return;
    this.moveTo(roomId, newest);
    if ((this.asked.get(roomId) ?? 0) >= newest) return;
    this.asked.set(roomId, newest);
    this.client.socket
      .request({ op: "read", room: roomId, up_to: newest })
      .then((/** @type {any} */ frame) => this.moveTo(roomId, frame.up_to))
      .catch(() => this.asked.delete(roomId)); // offline: asked again when next seen
  }

  /** The id of the room's newest message this tab has, or null. @param {string} roomId */
  newestId(roomId) {
    let newest = null;
    for (const message of this.client.rooms.get(roomId)?.messages.values() ?? []) {
      if (message.id !== null && (newest === null || message.id > newest)) newest = message.id;
    }
    return newest;
  }

  /**
   * Messages of others after the read position that verified, and how many of them name me (`@username`).
   * @param {string} roomId
   * @returns {Counts}
   */
  counts(roomId) {
    return this.#summary(roomId).counts;
  }

  /** A room's counts and activity, worked out again only once something of the room changed. @param {string} roomId */
  #summary(roomId) {
    let summary = this.summaries.get(roomId);
    if (!summary) {
      summary = { counts: this.#count(roomId), activity: this.#activity(roomId) };
      if (this.client.rooms.has(roomId)) this.summaries.set(roomId, summary);
    }
    return summary;
  }

  /** @param {string} roomId @returns {Counts} */
  #count(roomId) {
    const state = this.client.rooms.get(roomId);
    if (!state) return { unread: 0, mentions: 0, atLeast: false };
    const read = this.position(roomId);
    let unread = 0;
    let mentions = 0;
    for (const message of state.messages.values()) {
      if (message.id === null || message.id <= read || message.sender === this.client.userId) continue;
      if (message.status !== "sent" || message.kind === "unsupported") continue;
      unread += 1;
      if (this.mention.test(message.text ?? "")) mentions += 1;
    }
    // Not all of what came after the read position is in this tab: older pages not loaded, or the room not at all.
    const latest = Number(state.room.latest) || 0;
    const notLoaded = !state.loaded && latest > Math.max(read, this.newestId(roomId) ?? 0);
    const olderUnread = state.loaded && !state.reachedStart && state.oldestId !== null && state.oldestId > read + 1;
    if (notLoaded && unread === 0) unread = 1;
    return { unread, mentions, atLeast: notLoaded || (olderUnread && unread > 0) };
  }

  /** Unread messages in every room. */
  total() {
    let total = 0;
    for (const id of this.client.rooms.keys()) total += this.counts(id).unread;
    return total;
  }

  /**
   * When the room was last active (ms): its newest message here, or what the server listed.
   * @param {string} roomId
   */
  activity(roomId) {
    return this.#summary(roomId).activity;
  }

  /** @param {string} roomId */
  #activity(roomId) {
    const state = this.client.rooms.get(roomId);
    if (!state) return 0;
    let at = Number(state.room.active_at) || 0;
    for (const message of state.messages.values()) {
      const stored = Date.parse(message.envelope?.server_time ?? "");
      at = Math.max(at, Number.isFinite(stored) ? stored : message.status === "pending" ? message.sentAt : 0);
    }
    return at;
  }

  /**
   * The room's latest message, as one line: only what this tab decrypted and verified is quoted.
   * @param {string} roomId
   * @returns {Preview | null}
   */
  preview(roomId) {
    const last = this.client.latestMessage(roomId);
    if (!last) return null;
    const mine = last.sender === this.client.userId;
    const sender = mine ? "You" : this.client.nameOf(last.sender);
    const readable = last.status === "sent" || last.status === "pending";
    const shown = !readable ? "⚠ message not shown" : last.kind === "unsupported" ? "(needs a newer version)" : oneLine(last.text ?? "");
    return { sender, text: shown, at: last.sentAt, mine };
  }

  /**
   * Load the newest page of rooms not opened yet: every room with unread messages, then the most recently active
   * ones, one after another (the server's limits per socket apply to these pages as to any). Asked for while one
   * runs: that one.
   * @returns {Promise<void>}
   */
  warm() {
    this.warming ??= this.#warm().finally(() => {
      this.warming = null;
    });
    return this.warming;
  }

  async #warm() {
    const waiting = [...this.client.rooms.entries()].filter(([, state]) => !state.loaded);
    const unread = waiting.filter(([id, state]) => (Number(state.room.latest) || 0) > this.position(id));
    unread.sort(([a], [b]) => this.activity(b) - this.activity(a)).splice(WARM_UNREAD_ROOMS);
    const recent = waiting.sort(([a], [b]) => this.activity(b) - this.activity(a)).slice(0, WARM_ROOMS);
    for (const id of new Set([...unread, ...recent].map(([roomId]) => roomId))) {
      if (!this.client.rooms.has(id) || this.client.rooms.get(id)?.loaded) continue;
      // A room that cannot be loaded now (left meanwhile, offline) shows no preview until it is opened.
      await this.client.openRoom(id).catch(() => {});
    }
  }

  /** @param {string | null} room */
  changed(room) {
    if (room === null) this.summaries.clear();
    else this.summaries.delete(room);
    this.dispatchEvent(new CustomEvent("changed", { detail: { room } }));
  }
}

/** @param {string} text */
function oneLine(text) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > PREVIEW_CHARS ? `${line.slice(0, PREVIEW_CHARS - 1)}…` : line;
}

/**
 * `@username` as a word of its own, in any case.
 * @param {string} username
 */
export function mentionPattern(username) {
  const escaped = username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w@])@${escaped}(?![\\w-])`, "i");
}
