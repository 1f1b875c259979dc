// @ts-check
// The rooms sidebar: my rooms, the invitations waiting for my answer, how far the list of rooms has come in, and the
// forms for a new room and a direct conversation. Names are set as text.

import { $, el, formAction, taking } from "./dom.js";

/**
 * @typedef {import("../chat/client.js").ChatClient} ChatClient
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
   */
  constructor(client, membership, open, navigation) {
    this.client = client;
    this.membership = membership;
    this.open = open;
    this.navigation = navigation;
  }

  start() {
    $("new-room-toggle").addEventListener("click", () => this.toggleNewRoom());
    $("new-room-form").addEventListener("submit", (e) => this.createRoom(e));
    $("direct-form").addEventListener("submit", (e) => this.startDirect(e));
  }

  /** My rooms, the open one marked as the current page. */
  render() {
    const rooms = [...this.client.rooms.values()].map((s) => s.room);
    $("room-list").replaceChildren(
      ...rooms.map((room) => {
        const link = el("a", { href: `/rooms/${room.id}/` }, [this.client.roomName(room)]);
        if (this.open.is(room.id)) link.setAttribute("aria-current", "page");
        if (this.client.directPeerVerified(room)) link.append(" ", el("span", { class: "badge-verified" }, ["verified"]));

        link.addEventListener("click", (event) => {
          event.preventDefault();
          this.navigation.select(room.id);
        });
        const item = el("li", { class: room.kind }, [link]);
        const status = this.client.rosters.rooms.get(room.id)?.status;
        if (status === "blocked") item.append(" ", el("span", { class: "tag warning", title: "Member list in doubt" }, ["⚠"]));
        return item;
      }),
    );
    // "No rooms yet" only once every page of them came.
    $("no-rooms").hidden = rooms.length > 0 || this.client.listing !== null;
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

  toggleNewRoom() {
    const form = $("new-room-form");
    form.hidden = !form.hidden;
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
