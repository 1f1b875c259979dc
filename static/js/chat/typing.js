// @ts-check
// Who is typing in each room: a notice shows for a while after it came, and only in its own room.

/** How long a typing notice shows after it came (the sender repeats it while typing). */
export const TYPING_SHOWN_MS = 4000;

export class TypingNotices {
  /**
   * @param {{now?: () => number, shownMs?: number}} [options] `now`: the clock (ms), `Date.now` in the page
   */
  constructor({ now = Date.now, shownMs = TYPING_SHOWN_MS } = {}) {
    this.now = now;
    this.shownMs = shownMs;
    /** @type {Map<string, Map<number, number>>} room id → user id → when their notice there expires */
    this.rooms = new Map();
  }

  /** A notice came: `userId` is typing in `roomId`. @param {string} roomId @param {number} userId */
  seen(roomId, userId) {
    const typing = this.rooms.get(roomId) ?? new Map();
    typing.set(userId, this.now() + this.shownMs);
    this.rooms.set(roomId, typing);
  }

  /**
   * Who is typing in the room now, in the order their notices first came; expired notices are dropped everywhere.
   * @param {string | null} roomId
   * @returns {number[]}
   */
  typingIn(roomId) {
    const now = this.now();
    for (const [room, typing] of this.rooms) {
      for (const [user, until] of typing) if (until < now) typing.delete(user);
      if (!typing.size) this.rooms.delete(room);
    }
    const typing = roomId === null ? undefined : this.rooms.get(roomId);
    return typing ? [...typing.keys()] : [];
  }
}
