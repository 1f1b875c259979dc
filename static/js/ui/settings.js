// @ts-check
// Settings inside the chat: theme, desktop notifications (asked for on a click, never on load), whether they show the
// text, the account's fingerprint, and the way to the password and the log-out; and each room's Mute button.

import { applyTheme, currentTheme } from "../theme.js";
import { $ } from "./dom.js";

/**
 * @typedef {import("../chat/preferences.js").Preferences} Preferences
 * @typedef {import("./open-room.js").OpenRoom} OpenRoom
 */

const BLOCKED =
  "This browser blocks notifications from this site. Allow them in the browser's site settings, then switch them on here.";
const UNSUPPORTED = "This browser cannot show desktop notifications.";

export class SettingsPanel {
  /**
   * @param {Preferences} preferences
   * @param {OpenRoom} open
   * @param {{fingerprint: string}} me
   */
  constructor(preferences, open, me) {
    this.preferences = preferences;
    this.open = open;
    this.me = me;
  }

  get dialog() {
    return /** @type {HTMLDialogElement} */ ($("settings"));
  }

  start() {
    $("settings-open").addEventListener("click", () => this.show());
    const theme = /** @type {HTMLSelectElement} */ ($("theme-select"));
    theme.addEventListener("change", () => applyTheme(/** @type {any} */ (theme.value)));
    $("notify-enabled").addEventListener("change", () => this.switchNotifications());
    $("notify-text").addEventListener("change", () => {
      this.preferences.set({ notificationText: /** @type {HTMLInputElement} */ ($("notify-text")).checked });
    });
    $("mute-room").addEventListener("click", () => {
      if (this.open.id) this.preferences.mute(this.open.id, !this.preferences.isMuted(this.open.id));
    });
    this.preferences.addEventListener("changed", () => {
      this.renderChoices();
      this.renderMute();
    });
    this.renderChoices();
  }

  show() {
    this.renderChoices();
    $("own-fingerprint").textContent = this.me.fingerprint;
    this.dialog.showModal();
  }

  renderChoices() {
    /** @type {HTMLSelectElement} */ ($("theme-select")).value = currentTheme();
    const granted = "Notification" in window && Notification.permission === "granted";
    /** @type {HTMLInputElement} */ ($("notify-enabled")).checked = this.preferences.notifications && granted;
    const text = /** @type {HTMLInputElement} */ ($("notify-text"));
    text.checked = this.preferences.notificationText;
    text.disabled = !this.preferences.notifications;
  }

  /** On: ask the browser's permission, in answer to this click. Off: stop showing them. */
  async switchNotifications() {
    const box = /** @type {HTMLInputElement} */ ($("notify-enabled"));
    $("notify-error").textContent = "";
    if (!box.checked) {
      this.preferences.set({ notifications: false });
      return;
    }
    if (!("Notification" in window)) {
      box.checked = false;
      $("notify-error").textContent = UNSUPPORTED;
      return;
    }
    const permission = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
    if (permission !== "granted") {
      box.checked = false;
      $("notify-error").textContent = BLOCKED;
      this.preferences.set({ notifications: false });
      return;
    }
    this.preferences.set({ notifications: true });
  }

  /** The open room's Mute button, pressed while the room is muted. */
  renderMute() {
    const button = $("mute-room");
    const muted = Boolean(this.open.id && this.preferences.isMuted(this.open.id));
    button.setAttribute("aria-pressed", String(muted));
    button.textContent = muted ? "Muted" : "Mute";
    button.title = muted ? "No desktop notifications from this room: press to hear from it again" : "Stop desktop notifications from this room";
  }
}

/**
 * A notification on the desktop; a click brings the page forward and opens the room.
 * @param {import("../chat/notifier.js").Shown} shown
 * @param {(roomId: string) => void} openRoom
 */
export function notify(shown, openRoom) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const note = new Notification(shown.title, { body: shown.body, tag: shown.tag });
  note.addEventListener("click", () => {
    window.focus();
    openRoom(shown.room);
    note.close();
  });
}
