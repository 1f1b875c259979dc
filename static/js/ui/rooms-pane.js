// @ts-check
// The rooms sidebar: my rooms, most recently active first, each with its unread count and a one-line preview of its
// latest message (decrypted here; the server never sees it); a filter; the invitations waiting for my answer; how far
// the list of rooms has come in; and the forms for a new room and a direct conversation. Names are set as text.

import { $, el, formAction, isTime, taking, timeNode } from "./dom.js";
import { shortWhen } from "./when.js";

/**
 * @typedef {import("../chat/client.js").ChatClient} ChatClient
 * @typedef {import("../chat/unread.js").Unread} Unread
 * @typedef {import("../chat/membership.js").Membership} Membership
 * @typedef {import("./open-room.js").OpenRoom} OpenRoom
 * @typedef {{select: (roomId: string) => Promise<void>, enter: (roomId: string) => Promise<void>}} RoomsNavigation
 *   `select`: open a listed room; `enter`: list and open a room this page just made or joined
 */

export class RoomsPane {
  /**
   * @param {ChatClient} client
   * @param {Membership} membership
   * @param {OpenRoom} open
   * @param {RoomsNavigation} navigation
   * @param {Unread} unread
   */
  constructor(client, membership, open, navigation, unread) {
    this.client = client;
    this.membership = membership;
    this.open = open;
    this.navigation = navigation;
    this.unread = unread;
  }

  start() {
    $("room-filter").addEventListener("input", () => this.render());
    $("start-menu-toggle").addEventListener("click", () => this.toggleStartMenu());
    $("start-menu").addEventListener("keydown", (e) => {
      if (/** @type {KeyboardEvent} */ (e).key === "Escape") this.toggleStartMenu(false);
    });
    $("start-room").addEventListener("click", () => {
      this.toggleStartMenu(false);
      this.toggleNewRoom(true);
    });
    $("start-direct").addEventListener("click", () => {
      this.toggleStartMenu(false);
      $("direct-username").focus();
    });
    $("new-room-toggle").addEventListener("click", () => this.toggleNewRoom());
    $("new-room-form").addEventListener("submit", (e) => this.createRoom(e));
    $("direct-form").addEventListener("submit", (e) => this.startDirect(e));
  }

  /** My rooms, the most recently active first, those the filter names; the open one marked as the current page. */
  render() {
    const rooms = [...this.client.rooms.values()].map((s) => s.room);
    const activity = new Map(rooms.map((room) => [room.id, this.unread.activity(room.id)]));
    const names = new Map(rooms.map((room) => [room.id, this.client.roomName(room)]));
    rooms.sort((a, b) => (activity.get(b.id) ?? 0) - (activity.get(a.id) ?? 0) || String(names.get(a.id)).localeCompare(String(names.get(b.id))));
    const filter = /** @type {HTMLInputElement} */ ($("room-filter")).value.trim().toLowerCase();
    const shown = filter ? rooms.filter((room) => String(names.get(room.id)).toLowerCase().includes(filter)) : rooms;
    const now = Date.now();
    $("room-list").replaceChildren(...shown.map((room) => this.item(room, String(names.get(room.id)), activity.get(room.id) ?? 0, now)));
    // "No rooms yet" only once every page of them came.
    $("no-rooms").hidden = rooms.length > 0 || this.client.listing !== null;
    $("no-matches").hidden = !filter || shown.length > 0 || rooms.length === 0;
    this.renderKnownPeople();
  }

  /**
   * One room of the list: its link (named by the room, and "N unread" while it has unread messages), when it was last
   * active, its latest message, and its counts.
   * @param {import("../chat/client.js").Room} room @param {string} name @param {number} active ms @param {number} now
   */
  item(room, name, active, now) {
    const counts = this.unread.counts(room.id);
    const link = el("a", { href: `/rooms/${room.id}/`, class: "room-link" }, [el("span", { class: "room-name" }, [name])]);
    if (this.open.is(room.id)) link.setAttribute("aria-current", "page");
    if (this.client.directPeerVerified(room)) link.append(" ", el("span", { class: "badge-verified" }, ["verified"]));
    if (counts.unread) {
      const many = `${counts.unread}${counts.atLeast ? "+" : ""}`;
      const mentions = counts.mentions ? `, ${counts.mentions} mentioning you` : "";
      link.append(el("span", { class: "visually-hidden" }, [` ${many} unread${mentions}`]));
    }
    link.addEventListener("click", (event) => {
      event.preventDefault();
      this.navigation.select(room.id);
    });
    const item = el("li", { class: `room-item ${room.kind}${counts.unread ? " unread" : ""}` }, [link]);
    const at = new Date(active);
    if (active && isTime(at)) item.append(timeNode(at, () => shortWhen(active, now), { class: "room-when" }));
    const preview = this.unread.preview(room.id);
    if (preview) {
      const from = room.kind === "direct" && !preview.mine ? "" : `${preview.sender}: `;
      item.append(el("span", { class: "room-preview" }, [from, preview.text]));
    }
    if (counts.unread) {
      const badges = el("span", { class: "room-badges", "aria-hidden": "true" });
      if (counts.mentions) badges.append(el("span", { class: "badge mention" }, [`@${counts.mentions}`]));
      badges.append(el("span", { class: "badge" }, [`${counts.unread}${counts.atLeast ? "+" : ""}`]));
      item.append(badges);
    }
    const status = this.client.rosters.rooms.get(room.id)?.status;
    if (status === "blocked") item.append(" ", el("span", { class: "tag warning", title: "Member list in doubt" }, ["⚠"]));
    return item;
  }

  /** Usernames offered while typing who to talk to or add: only people I already share a room with. */
  renderKnownPeople() {
    const known = new Set();
    for (const { room } of this.client.rooms.values()) {
      for (const member of this.client.members(room)) if (member.id !== this.client.userId) known.add(member.username);
    }
    const list = $("known-people");
    const names = [...known].sort();
    if (list.childElementCount === names.length && [...list.children].every((o, i) => /** @type {HTMLOptionElement} */ (o).value === names[i])) return;
    list.replaceChildren(...names.map((name) => el("option", { value: name })));
  }

  /** @param {boolean} [show] */
  toggleStartMenu(show) {
    const menu = $("start-menu");
    menu.hidden = show === undefined ? !menu.hidden : !show;
    $("start-menu-toggle").setAttribute("aria-expanded", String(!menu.hidden));
    if (!menu.hidden) $("start-room").focus();
  }

  /** Invitations and requests waiting for my answer, each named from its signed roster, with its two buttons. */
  renderInvitations() {
    const invitations = [...this.client.invitations.rooms.values()];
    $("invitations").hidden = invitations.length === 0;
    $("invitation-list").replaceChildren(
      ...invitations.map((room) => {
        const status = this.client.rosters.rooms.get(room.id)?.status;
        const inviter = this.client.invitations.inviterOf(room.id);
        const from = inviter === null ? "" : this.client.nameOf(inviter);
        const item = el("li", { class: room.kind }, [el("strong", { class: "invitation-name" }, [this.client.roomName(room)])]);
        if (room.kind === "direct") item.append(el("span", { class: "invitation-from" }, ["wants to talk privately"]));
        else if (from) item.append(el("span", { class: "invitation-from" }, [`invited by ${from}`]));
        if (status === "blocked") {
          item.append(el("span", { class: "tag warning" }, ["⚠ its member list does not verify"]));
        }
        const accept = el("button", { type: "button" }, ["Accept invitation"]);
        const decline = el("button", { type: "button", class: "secondary" }, ["Decline invitation"]);
        // Accepted as seen: only once the roster verified up to the head the server serves now (a change to the room
        // is told again, and this waits for the page to read it). A group's is declined by a leave signed on it.
        const state = this.client.rosters.rooms.get(room.id)?.state;
        const current = status === "ok" && state?.seq === room.roster?.seq && state?.hash === room.roster?.hash;
        accept.disabled = !current;
        decline.disabled = room.kind === "group" && !current;
        accept.addEventListener("click", () => this.answerInvitation(room.id, true));
        decline.addEventListener("click", () => this.answerInvitation(room.id, false));
        item.append(el("div", { class: "invitation-actions" }, [accept, decline]));
        return item;
      }),
    );
  }

  /** @param {string} roomId @param {boolean} accept */
  async answerInvitation(roomId, accept) {
    await formAction("invitation-error", async () => {
      if (!accept) {
        await this.client.invitations.decline(roomId);
        return;
      }
      await this.client.invitations.accept(roomId);
      await this.navigation.enter(roomId);
    });
  }

  /**
   * Pages of the user's rooms still coming after a (re)connect: say so until the last is in.
   * @param {{listed: number, done: boolean}} listing
   */
  showListing({ listed, done }) {
    $("rooms-status").textContent = done ? "" : `Loading your rooms… ${listed} so far`;
  }

  /** @param {boolean} [show] */
  toggleNewRoom(show) {
    const form = $("new-room-form");
    form.hidden = show === undefined ? !form.hidden : !show;
    $("new-room-toggle").setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) $("room-name").focus();
  }

  /** @param {Event} event */
  async createRoom(event) {
    event.preventDefault();
    const name = /** @type {HTMLInputElement} */ ($("room-name"));
    const link = /** @type {HTMLInputElement} */ ($("room-link"));
    await formAction("new-room-error", async () => {
      const roomId = await taking(name, (value) => this.membership.createRoom({ name: value, link: link.checked }));
      link.checked = false;
      $("new-room-form").hidden = true;
      $("new-room-toggle").setAttribute("aria-expanded", "false");
      await this.navigation.enter(roomId);
    });
  }

  /** @param {Event} event */
  async startDirect(event) {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($("direct-username"));
    await formAction("direct-error", async () => {
      const roomId = await taking(input, (value) => this.membership.openDirect(value));
      await this.navigation.enter(roomId);
    });
  }
}
