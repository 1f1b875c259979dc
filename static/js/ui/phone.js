// @ts-check
// The chat page on a phone (narrower than 700 px, as in static/css/chat.css): the rooms list and the open room are
// two views, one at a time, with a button back to the list in the room's header; the members are a sheet over the
// room, opened by a button that shows how many there are. On a wider screen the three panes stay side by side and
// these buttons are not shown.

import { $ } from "./dom.js";

/** The same width as the phone block of static/css/chat.css. */
const NARROW = "(max-width: 699.98px)";

/** What the members sheet covers, made inert while it is open: nothing behind it takes focus or is read. */
const BEHIND = [".site-header", "main.chat > .rooms-pane", "main.chat > .room-pane"];

export class PhoneLayout {
  /** @param {{back: () => Promise<void>}} navigation `back`: show the rooms list (no room open, the address /rooms/) */
  constructor(navigation) {
    this.navigation = navigation;
    this.narrow = matchMedia(NARROW);
  }

  start() {
    $("back-to-rooms").addEventListener("click", () => this.back());
    $("members-open").addEventListener("click", () => this.openMembers());
    $("members-close").addEventListener("click", () => this.closeMembers(true));
    $("members").addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.sheetOpen) this.closeMembers(true);
    });
    // Wider than a phone (turned, a window resized): the members are a pane again, not a sheet.
    this.narrow.addEventListener("change", () => this.closeMembers(false));
    // The members pane draws its list; the button shows how long it is.
    new MutationObserver(() => this.renderCount()).observe($("member-list"), { childList: true });
    this.keepNewestInView();
  }

  /**
   * An on-screen keyboard sliding up shortens the conversation from below: one that showed its newest message still
   * does (as when the window is made shorter). One scrolled back stays where it was.
   */
  keepNewestInView() {
    const transcript = $("transcript");
    let atBottom = true;
    transcript.addEventListener("scroll", () => {
      atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    });
    new ResizeObserver(() => {
      if (atBottom) transcript.scrollTop = transcript.scrollHeight;
    }).observe(transcript);
  }

  get sheetOpen() {
    return $("members").dataset.sheet === "open";
  }

  /**
   * The view a phone shows: the open room, or (null) the rooms list. A members sheet left open closes.
   * @param {string | null} roomId
   */
  show(roomId) {
    const main = /** @type {HTMLElement} */ (document.querySelector("main.chat"));
    main.dataset.view = roomId ? "room" : "rooms";
    this.closeMembers(false);
  }

  /**
   * A room just opened: focus goes into it. On a wide screen to the composer; on a phone to the room's heading, so
   * that no on-screen keyboard slides up over the conversation just opened (and a screen reader reads its name).
   */
  focusRoom() {
    $(this.narrow.matches ? "room-title" : "message").focus();
  }

  /** Back to the rooms list, with focus on the room just left. */
  async back() {
    const left = document.querySelector('#room-list a[aria-current="page"]')?.getAttribute("href");
    await this.navigation.back();
    if (!left) return;
    /** @type {HTMLElement | null} */ (document.querySelector(`#room-list a[href="${left}"]`))?.focus();
  }

  openMembers() {
    $("members").dataset.sheet = "open";
    $("members-open").setAttribute("aria-expanded", "true");
    for (const part of document.querySelectorAll(BEHIND.join(", "))) part.setAttribute("inert", "");
    $("members-close").focus();
  }

  /** @param {boolean} refocus put focus back on the button that opened the sheet (the user closed it) */
  closeMembers(refocus) {
    if (!this.sheetOpen) return;
    delete $("members").dataset.sheet;
    $("members-open").setAttribute("aria-expanded", "false");
    for (const part of document.querySelectorAll(BEHIND.join(", "))) part.removeAttribute("inert");
    if (refocus) $("members-open").focus();
  }

  renderCount() {
    $("members-count").textContent = String($("member-list").children.length);
  }
}
