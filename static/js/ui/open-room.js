// @ts-check
// What the chat page has open, shared by its parts: the room shown (none: the welcome), and what is known of its
// members' keys. Only the page's coordinator (chat.js) opens a room; the trust view fills in the contacts.

export class OpenRoom {
  /** @type {string | null} the room shown */
  id = null;
  /** @type {Map<number, import("../chat/trust.js").Contact>} what is known of the open room's members' keys */
  contacts = new Map();
  /** @type {number | null} the read position when the room was opened, if it had unread messages: "New messages"
   * goes above the first message of someone else after it */
  newAfter = null;

  /** @param {string} roomId */
  is(roomId) {
    return roomId === this.id;
  }
}
