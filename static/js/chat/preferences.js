// @ts-check
// The user's choices for this browser: desktop notifications (on or off, with or without the message's text) and the
// rooms they muted. Kept in localStorage: they hold no secret (room ids and switches), and they are this browser's
// alone, as the permission to show notifications is.

const KEY = "securechat.preferences";

/**
 * @typedef {{notifications: boolean, notificationText: boolean, muted: string[]}} Choices
 * @typedef {{getItem(key: string): string | null, setItem(key: string, value: string): void}} Store
 */

/** @type {Choices} */
const DEFAULTS = { notifications: false, notificationText: true, muted: [] };

/** Events (CustomEvent): "changed" (the choices, after any change). */
export class Preferences extends EventTarget {
  /** @param {Store} store */
  constructor(store) {
    super();
    this.store = store;
    /** @type {Choices} */
    this.choices = { ...DEFAULTS, ...read(store) };
  }

  get notifications() {
    return this.choices.notifications;
  }

  get notificationText() {
    return this.choices.notificationText;
  }

  /** @param {string} roomId */
  isMuted(roomId) {
    return this.choices.muted.includes(roomId);
  }

  /** @param {Partial<Choices>} change */
  set(change) {
    this.choices = { ...this.choices, ...change };
    try {
      this.store.setItem(KEY, JSON.stringify(this.choices));
    } catch {
      // Storage full or switched off: the choice holds for this page only.
    }
    this.dispatchEvent(new CustomEvent("changed", { detail: this.choices }));
  }

  /** @param {string} roomId @param {boolean} muted */
  mute(roomId, muted) {
    const others = this.choices.muted.filter((id) => id !== roomId);
    this.set({ muted: muted ? [...others, roomId] : others });
  }
}

/** @param {Store} store @returns {Partial<Choices>} what is stored, with anything malformed left out */
function read(store) {
  let stored;
  try {
    stored = JSON.parse(store.getItem(KEY) ?? "{}");
  } catch {
    return {};
  }
  /** @type {Partial<Choices>} */
  const choices = {};
  if (typeof stored?.notifications === "boolean") choices.notifications = stored.notifications;
  if (typeof stored?.notificationText === "boolean") choices.notificationText = stored.notificationText;
  if (Array.isArray(stored?.muted)) choices.muted = stored.muted.filter((/** @type {unknown} */ id) => typeof id === "string");
  return choices;
}
