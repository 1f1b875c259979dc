// @ts-check
// Writing in the open room: sending (Enter sends, Shift+Enter breaks the line), the room's own unsent draft, the
// typing notices sent and shown, and why a send was refused. Nothing of one room follows into another.

import { Drafts } from "../chat/drafts.js";
import { TypingNotices } from "../chat/typing.js";
import { $, message } from "./dom.js";

/**
 * @typedef {import("../chat/client.js").ChatClient} ChatClient
 * @typedef {import("./open-room.js").OpenRoom} OpenRoom
 */

export class Composer {
  /**
   * @param {ChatClient} client
   * @param {OpenRoom} open
   * @param {() => void} sending called as a message goes out (the conversation follows it)
   * @param {Drafts} [drafts] where drafts are kept (a store makes them survive a reload)
   */
  constructor(client, open, sending, drafts = new Drafts()) {
    this.client = client;
    this.open = open;
    this.sending = sending;
    this.drafts = drafts;
    this.typing = new TypingNotices();
  }

  get input() {
    return /** @type {HTMLTextAreaElement} */ ($("message"));
  }

  start() {
    $("composer").addEventListener("submit", (e) => this.send(e));
    this.input.addEventListener("keydown", (e) => this.onKey(/** @type {KeyboardEvent} */ (e)));
    this.input.addEventListener("input", () => {
      this.keepDraft();
      if (this.open.id) this.client.typing(this.open.id);
    });
    setInterval(() => this.renderTyping(), 1000);
    // Drafts kept before the reload: the open room's shows as soon as they are read, unless something was typed.
    this.drafts
      .load()
      .then(() => {
        if (this.open.id && !this.input.value) this.input.value = this.drafts.get(this.open.id);
      })
      .catch((error) => console.error("could not read the drafts", error));
  }

  /** The open room's unsent text, kept for when it is opened again (a draft never follows into another room). */
  keepDraft() {
    if (this.open.id) this.drafts.keep(this.open.id, this.input.value);
  }

  /**
   * A room was opened: its own draft, no refusal shown for another room's send, its own typing notices.
   * @param {string} roomId
   */
  show(roomId) {
    this.input.value = this.drafts.get(roomId);
    $("composer-error").textContent = "";
    this.renderTyping();
  }

  /** @param {KeyboardEvent} event */
  onKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      /** @type {HTMLFormElement} */ ($("composer")).requestSubmit();
    }
  }

  /** @param {Event} event */
  async send(event) {
    event.preventDefault();
    const roomId = this.open.id;
    const text = this.input.value;
    if (!roomId || !text.trim()) return;
    this.input.value = "";
    this.drafts.clear(roomId);
    this.sending();
    $("composer-error").textContent = "";
    try {
      await this.client.send(roomId, text);
    } catch (error) {
      $("composer-error").textContent = `Not sent: ${message(error)}`;
    }
  }

  /** The open room's refusal is gone once none of its messages is refused any more (Retry went through). */
  clearResolvedError() {
    const roomId = this.open.id;
    if (!roomId || !$("composer-error").textContent) return;
    if (!this.client.messages(roomId).some((m) => m.status === "rejected")) $("composer-error").textContent = "";
  }

  /** @param {{room: string, user: number}} notice */
  onTyping({ room, user }) {
    this.typing.seen(room, user);
    if (this.open.is(room)) this.renderTyping();
  }

  /** Who is typing in the open room, and only there. */
  renderTyping() {
    const names = this.typing.typingIn(this.open.id).map((user) => this.client.nameOf(user));
    $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }
}
