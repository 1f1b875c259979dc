// @ts-check
// Desktop notifications of new messages, when the user asked for them: once per message, only for messages of others
// that verified, that arrived while this page was open and are not read yet, in a room the user is not looking at and
// did not mute. The text is the one this browser decrypted; it is handed to the browser's notification and goes
// nowhere else (and, if the user chose so, not even there).

/**
 * @typedef {import("./client.js").Message} Message
 * @typedef {{title: string, body: string, room: string, tag: string}} Shown
 * @typedef {{rooms: Map<string, any>, userId: number | null,
 *            nameOf: (id: number) => string, roomName: (room: any) => string,
 *            addEventListener: EventTarget["addEventListener"]}} Client
 */

const HIDDEN_TEXT = "New message";

export class Notifier {
  /**
   * @param {{client: Client, unread: {position(roomId: string): number},
   *          preferences: {notifications: boolean, notificationText: boolean, isMuted(roomId: string): boolean},
   *          looking: () => string | null, show: (shown: Shown) => void}} options
   *   `looking`: the room the user has in view (null when the page is hidden or no room is open); `show`: puts up
   *   the notification
   */
  constructor({ client, unread, preferences, looking, show }) {
    this.client = client;
    this.unread = unread;
    this.preferences = preferences;
    this.looking = looking;
    this.show = show;
    /** @type {Map<string, number>} room id → the newest message id told of (or there when the page opened) */
    this.told = new Map();
  }

  start() {
    this.client.addEventListener("rooms", () => this.baseline());
    this.client.addEventListener("messages", (event) => this.check(/** @type {CustomEvent} */ (event).detail.room));
  }

  /** What was in each room when it was first listed is not new: only what comes after it is. */
  baseline() {
    for (const [id, state] of this.client.rooms) {
      if (this.told.has(id)) continue;
      const listed = Math.max(Number(state.room.latest) || 0, Number(state.room.read) || 0);
      const here = Math.max(0, ...[...state.messages.values()].map((m) => m.id ?? 0));
      this.told.set(id, Math.max(listed, here));
    }
  }

  /** @param {string} roomId */
  check(roomId) {
    const state = this.client.rooms.get(roomId);
    if (!state) return;
    if (!this.told.has(roomId)) this.baseline();
    const since = Math.max(this.told.get(roomId) ?? 0, this.unread.position(roomId));
    // Only the messages past the mark are sorted: this runs on every message event of the room.
    const fresh = [...state.messages.values()].filter((m) => m.id !== null && m.id > since).sort((a, b) => Number(a.id) - Number(b.id));
    if (!fresh.length) return;
    this.told.set(roomId, Math.max(...fresh.map((m) => /** @type {number} */ (m.id))));
    if (!this.preferences.notifications || this.preferences.isMuted(roomId) || this.looking() === roomId) return;
    for (const message of fresh) {
      if (message.sender === this.client.userId || message.status !== "sent" || message.kind === "unsupported") continue;
      const sender = this.client.nameOf(message.sender);
      const room = this.client.roomName(state.room);
      const title = state.room.kind === "direct" ? sender : `${sender} in ${room}`;
      const body = this.preferences.notificationText ? (message.text ?? "") : HIDDEN_TEXT;
      this.show({ title, body, room: roomId, tag: message.key });
    }
  }
}
