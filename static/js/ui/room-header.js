// @ts-check
// The open room's header: its name (with the other person's verified badge in a direct conversation), its kind and
// size, the member list's problems as alerts, signing a member list from before rosters, renaming, and leaving
// (asked first).

import { UNPROVEN_LEGACY } from "../chat/client.js";
import { blockedText } from "../roster/book.js";
import { confirmAction } from "./confirm.js";
import { $, el, formAction } from "./dom.js";

const NOT_YET_SIGNED = "membership not yet signed";

/**
 * @typedef {import("../chat/client.js").ChatClient} ChatClient
 * @typedef {import("../chat/membership.js").Membership} Membership
 * @typedef {import("./open-room.js").OpenRoom} OpenRoom
 */

export class RoomHeader {
  /**
   * @param {ChatClient} client
   * @param {Membership} membership
   * @param {OpenRoom} open
   * @param {{select: (roomId: null) => Promise<void>}} navigation `select(null)`: show no room
   */
  constructor(client, membership, open, navigation) {
    this.client = client;
    this.membership = membership;
    this.open = open;
    this.navigation = navigation;
    /** @type {string | null} the room whose rename form is open */
    this.renaming = null;
  }

  start() {
    $("sign-roster").addEventListener("click", () => this.signRoster());
    $("leave-room").addEventListener("click", () => this.leave());
    $("rename-room").addEventListener("click", () => (this.renaming ? this.closeRename() : this.openRename()));
    $("rename-cancel").addEventListener("click", () => this.closeRename());
    $("rename-form").addEventListener("submit", (e) => this.rename(e));
    $("rename-name").addEventListener("keydown", (e) => {
      if (/** @type {KeyboardEvent} */ (e).key === "Escape") this.closeRename();
    });
  }

  /** @param {import("../chat/client.js").Room} room the open room */
  render(room) {
    const name = this.client.roomName(room);
    $("room-title").textContent = name;
    if (this.client.directPeerVerified(room)) $("room-title").append(" ", el("span", { class: "badge-verified" }, ["verified"]));
    const count = this.client.members(room).length;
    const kind = room.kind === "direct" ? "Direct conversation" : `Group · ${count} ${count === 1 ? "member" : "members"}`;
    const legacy = this.client.rosters.rooms.get(room.id)?.status === "legacy";
    $("room-kind").textContent = legacy ? `${kind} · ${NOT_YET_SIGNED}` : kind;
    $("sign-roster").hidden = !legacy || !this.membership.maySignLegacy(room.id);
    $("leave-room").hidden = room.kind === "direct";
    const mayRename = this.membership.mayRename(room.id);
    $("rename-room").hidden = !mayRename;
    // Another room opened, or the right to rename it gone: the form goes.
    if (this.renaming && (this.renaming !== room.id || !mayRename)) this.closeRename({ focus: false });
  }

  /** The rename form, holding the room's name as it is now. */
  openRename() {
    const roomId = this.open.id;
    const state = roomId ? this.client.rooms.get(roomId) : null;
    if (!roomId || !state) return;
    this.renaming = roomId;
    const input = /** @type {HTMLInputElement} */ ($("rename-name"));
    input.value = this.client.roomName(state.room);
    input.removeAttribute("aria-invalid");
    $("rename-error").textContent = "";
    $("rename-form").hidden = false;
    $("rename-room").setAttribute("aria-expanded", "true");
    input.focus();
    input.select();
  }

  /** @param {{focus?: boolean}} [options] `focus`: back on the button that opened it */
  closeRename({ focus = true } = {}) {
    this.renaming = null;
    $("rename-form").hidden = true;
    $("rename-room").setAttribute("aria-expanded", "false");
    if (focus && !$("rename-room").hidden) $("rename-room").focus();
  }

  /** @param {Event} event */
  async rename(event) {
    event.preventDefault();
    const roomId = this.renaming;
    if (!roomId) return;
    const input = /** @type {HTMLInputElement} */ ($("rename-name"));
    const save = /** @type {HTMLButtonElement} */ ($("rename-save"));
    save.disabled = true;
    input.removeAttribute("aria-invalid");
    await formAction("rename-error", async () => {
      try {
        await this.membership.rename(roomId, input.value);
      } catch (error) {
        input.setAttribute("aria-invalid", "true");
        throw error;
      }
      if (this.renaming === roomId) this.closeRename();
    });
    save.disabled = false;
  }

  /** The open room's roster problems: blocking, as alerts; nothing is sent while there is one. */
  renderRosterWarnings() {
    const state = this.open.id ? this.client.rooms.get(this.open.id) : null;
    const roster = this.open.id ? this.client.rosters.rooms.get(this.open.id) : null;
    const nameOf = (/** @type {number} */ id) => this.client.nameOf(id);
    const unproven = roster?.status === "legacy" && state?.loaded && !this.client.usableUnsigned(state.room.id);
    const why = roster?.status === "blocked" ? blockedText(roster, nameOf) : unproven ? UNPROVEN_LEGACY : null;
    const title = state ? this.client.roomName(state.room) : "";
    $("roster-warnings").replaceChildren(...(why ? [el("p", { class: "key-warning", role: "alert" }, [`⚠ ${title}: ${why}`])] : []));
    /** @type {HTMLButtonElement} */ ($("send")).disabled = Boolean(why);
  }

  /** Sign the open room's member list (a room from before rosters), as its owner sees it in the members pane. */
  async signRoster() {
    const roomId = this.open.id;
    if (!roomId) return;
    await formAction("room-error", async () => {
      if (!(await this.membership.signLegacy(roomId))) throw new Error("Only the room's owner can sign its member list.");
    });
  }

  async leave() {
    const roomId = this.open.id;
    const state = roomId ? this.client.rooms.get(roomId) : null;
    if (!roomId || !state) return;
    const name = this.client.roomName(state.room);
    const confirmed = await confirmAction({
      title: `Leave ${name}?`,
      text: ["You will no longer receive its messages.", ...this.#leaving(roomId)],
      confirm: "Leave",
      danger: true,
    });
    if (!confirmed) return;
    await formAction("room-error", async () => {
      await this.membership.leave(roomId);
      history.pushState(null, "", "/rooms/");
      await this.navigation.select(null);
    });
  }

  /** What else leaving does, said before it is done. @param {string} roomId @returns {string[]} */
  #leaving(roomId) {
    const state = this.client.rosters.rooms.get(roomId)?.state;
    if (!state || state.owner !== this.client.userId) return [];
    const { heir, others } = this.membership.leavePlan(roomId);
    if (heir !== null) return [`You own it: ${this.client.nameOf(heir)} will own it after you.`];
    if (others.length) {
      return ["Nobody else has accepted an invitation to it: the invitations are taken back, and the room is gone."];
    }
    return ["You are its last member: the room is gone once you leave."];
  }
}
