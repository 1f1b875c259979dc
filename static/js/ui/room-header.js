// @ts-check
// The open room's header: its name (with the other person's verified badge in a direct conversation), its kind and
// size, the member list's problems as alerts, signing a member list from before rosters, and leaving.

import { UNPROVEN_LEGACY } from "../chat/client.js";
import { blockedText } from "../roster/book.js";
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
  }

  start() {
    $("sign-roster").addEventListener("click", () => this.signRoster());
    $("leave-room").addEventListener("click", () => this.leave());
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
    if (!roomId) return;
    await formAction("room-error", async () => {
      await this.membership.leave(roomId);
      history.pushState(null, "", "/rooms/");
      await this.navigation.select(null);
    });
  }
}
