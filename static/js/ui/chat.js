// @ts-check
// The chat page: rooms, the open room's transcript, the composer and the members. Every piece of
// text that came from another user (names, room names, messages) is set with textContent, never as
// HTML, so nobody can run script in someone else's page.

import * as keystore from "../account/keystore.js";
import { ChatClient, UNPROVEN_LEGACY } from "../chat/client.js";
import { KeyDirectory } from "../chat/directory.js";
import { Membership } from "../chat/membership.js";
import { TrustGate } from "../chat/trust.js";
import { getJson } from "../net/api.js";
import { ChatSocket } from "../net/socket.js";
import { blockedText } from "../roster/book.js";
import { AccountHeads } from "../roster/heads.js";
import { rosterLine } from "./roster-lines.js";
import { showKeyChange, showSafetyNumber } from "./trust-dialogs.js";

const REASONS = {
  bad_signature: "its signature does not match the sender's key — it may have been forged or altered",
  no_wrap: "it was not encrypted for you",
  decrypt_failed: "it could not be decrypted with your keys — sent before a key reset, or altered",
  malformed: "it is malformed",
  wrong_room: "it was made for another room",
  wrong_sender: "it claims another sender",
  key_not_accepted: "it is signed with a new key of the sender that you have not accepted",
  retired_key: "it is signed with a retired key: one the sender replaced before it was stored, which may be in someone else's hands",
  unknown_key: "it names a key of the sender's that you never accepted",
  key_mismatch: "its content key is not the one its sender committed to — members may have been given different texts",
  unknown_sender: "the sender's keys are missing or invalid",
  unknown_roster: "it names a member list that is not in this room's signed list (forged, or a fork)",
  wrong_members: "it was encrypted for other people than the room's signed member list",
};
const WARNINGS = {
  stale: (/** @type {string} */ sender) =>
    `⚠ ${sender} is sending to an out-of-date member list: someone no longer in the room may read this.`,
  unsigned: () => "⚠ Sent without the room's signed member list, after the room had one.",
  out_of_order: (/** @type {string} */ sender, mine = false) =>
    mine
      ? "⚠ Out of order: you sent this before a message of yours shown above it."
      : `⚠ Out of order: ${sender} sent this before a message of theirs shown above it.`,
  downgraded: (/** @type {string} */ sender, mine = false) =>
    `⚠ Sent in an older format after ${mine ? "your" : `${sender}'s`} newer messages here: its place in the conversation is not checked.`,
  forked: (/** @type {string} */ sender, mine = false) =>
    `⚠ This does not follow on from ${mine ? "your" : `${sender}'s`} previous message here: the server may be showing you a different conversation from the one others see.`,
};
const NOT_YET_SIGNED = "membership not yet signed";
const STATUS_TEXT = {
  connecting: "Connecting…",
  online: "Connected",
  offline: "Offline — reconnecting…",
  "too-many": "Too many open tabs — close one; retrying…",
  "signed-out": "Signed out — log in again",
  "keys-reset": "Your keys were reset — log in again",
  "password-changed": "Password changed elsewhere — log in again",
  "switched-off": "Account switched off",
};
/** Said, as an alert, when the account's keys were reset elsewhere: this page's keys no longer work. */
const KEYS_RESET =
  "Your account's keys were reset, on another device or in another tab. This page's keys no longer work and " +
  "you were logged out everywhere else: log in again.";
const TYPING_SHOWN_MS = 4000;
// One formatter for every message's time: toLocaleTimeString builds a new one per call, a cost per message shown.
const TIME_FORMAT = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
// The date above each day's first message: "Friday, 4 December 2026" in the reader's language.
const DAY_FORMAT = new Intl.DateTimeFormat([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });
/** Said when the password was changed in another session, which ended this one (its socket closed with 4411). */
const PASSWORD_CHANGED =
  "Your password was changed in another browser or on another device, which signed you out here. " +
  "Log in again with the new password.";
/** Said when the site's staff switched the account off (its sockets closed with 4403). */
const SWITCHED_OFF =
  "This account was switched off by the site's staff: you were signed out and cannot log in until they switch " +
  "it on again.";
const TOO_MANY_TABS =
  "You have too many SecureChat tabs or devices open at once. Close one; this page connects as soon as there is room.";

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

class ChatPage {
  /**
   * @param {ChatClient} client
   * @param {import("./trust-dialogs.js").Me} me
   * @param {Membership} membership
   */
  constructor(client, me, membership) {
    this.client = client;
    this.me = me;
    this.membership = membership;
    /** @type {WeakMap<object, {node: HTMLElement, text: string}>} each roster line as last drawn, by its step */
    this.lines = new WeakMap();
    /** @type {Map<string, {node: HTMLElement, text: string}>} each key-change, reset and day line as last drawn */
    this.keyLines = new Map();
    /** @type {Set<number>} people whose key changed, not shown in a dialog yet: not known to be in the open room */
    this.unshownChanges = new Set();
    /** @type {Map<number, import("../chat/trust.js").Contact>} what is known of the open room's members' keys */
    this.contacts = new Map();
    /** @type {string | null} */
    this.current = null;
    /** @type {Map<string, Map<number, number>>} room id → user id → when their typing notice there expires */
    this.typing = new Map();
    /** @type {Map<string, string>} room id → what was being written there (kept in this tab's memory only) */
    this.drafts = new Map();
    this.stickToBottom = true;
    this.loadingOlder = false;
    /** @type {WeakMap<import("../chat/client.js").Message, {node: HTMLElement, verified: boolean, warning: string | null}>} each message's
     * article as last rendered: a message is a new object whenever it changes, so an unchanged one keeps its node */
    this.rendered = new WeakMap();
    this.note = el("p", { class: "transcript-note" });
  }

  start() {
    const c = this.client;
    c.addEventListener("rooms", () => this.renderRooms());
    c.addEventListener("invitations", () => this.renderInvitations());
    c.addEventListener("listing", (e) => this.showListing(detail(e)));
    c.addEventListener("room", (e) => this.isCurrent(detail(e).id) && this.renderRoomHeader());
    c.addEventListener("messages", (e) => {
      if (this.isCurrent(detail(e).room)) this.renderTranscript();
      this.renderStatus(c.socket.status);
    });
    c.addEventListener("presence", (e) => this.isCurrent(detail(e).room) && this.renderMembers());
    c.addEventListener("typing", (e) => this.onTyping(detail(e)));
    c.addEventListener("progress", (e) => this.isCurrent(detail(e).room) && this.showProgress(detail(e)));
    c.addEventListener("removed", (e) => this.onRemoved(detail(e)));
    c.addEventListener("status", (e) => this.renderStatus(detail(e)));
    c.addEventListener("problem", (e) => this.showProblem(detail(e).message));
    c.socket.addEventListener("pending", () => this.renderStatus(c.socket.status));
    c.trust.addEventListener("changed", (e) => this.onKeyChanged(detail(e).contact));
    c.trust.addEventListener("trust", () => this.refreshTrust());
    c.rosters.addEventListener("changed", (e) => {
      this.onRosterChanged(detail(e).room);
      if (c.invitations.rooms.has(detail(e).room)) this.renderInvitations();
    });
    $("invite-open").addEventListener("click", () => this.inviteAction((id) => this.membership.openLink(id)));
    $("invite-replace").addEventListener("click", () => this.inviteAction((id) => this.membership.openLink(id)));
    $("invite-close").addEventListener("click", () => this.inviteAction((id) => this.membership.closeLink(id)));
    $("sign-roster").addEventListener("click", () => this.signRoster());

    $("new-room-toggle").addEventListener("click", () => this.toggleNewRoom());
    $("new-room-form").addEventListener("submit", (e) => this.createRoom(e));
    $("direct-form").addEventListener("submit", (e) => this.startDirect(e));
    $("composer").addEventListener("submit", (e) => this.send(e));
    $("message").addEventListener("keydown", (e) => this.onComposerKey(/** @type {KeyboardEvent} */ (e)));
    $("message").addEventListener("input", () => this.current && c.typing(this.current));
    $("add-member-form").addEventListener("submit", (e) => this.addMember(e));
    $("leave-room").addEventListener("click", () => this.leave());
    $("load-older").addEventListener("click", () => this.loadOlder());
    $("transcript").addEventListener("scroll", () => this.onScroll());
    window.addEventListener("popstate", () => this.select(roomFromPath(), { push: false }));
    setInterval(() => this.renderTyping(), 1000);
  }

  /** @param {string} id */
  isCurrent(id) {
    return id === this.current;
  }

  // --- rooms ------------------------------------------------------------------------

  renderRooms() {
    const list = $("room-list");
    const rooms = [...this.client.rooms.values()].map((s) => s.room);
    list.replaceChildren(
      ...rooms.map((room) => {
        const link = el("a", { href: `/rooms/${room.id}/` }, [this.client.roomName(room)]);
        if (room.id === this.current) link.setAttribute("aria-current", "page");
        if (this.directPeerVerified(room)) link.append(" ", el("span", { class: "badge-verified" }, ["verified"]));

        link.addEventListener("click", (event) => {
          event.preventDefault();
          this.select(room.id);
        });
        const item = el("li", { class: room.kind }, [link]);
        const status = this.client.rosters.rooms.get(room.id)?.status;
        if (status === "blocked") item.append(" ", el("span", { class: "tag warning", title: "Member list in doubt" }, ["⚠"]));
        return item;
      }),
    );
    // "No rooms yet" only once every page of them came.
    $("no-rooms").hidden = rooms.length > 0 || this.client.listing !== null;
    if (!this.current && roomFromPath() && this.client.rooms.has(roomFromPath() ?? "")) {
      this.select(roomFromPath(), { push: false });
    } else if (this.current && this.client.rooms.has(this.current)) {
      this.renderRoomHeader();
    }
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
    await this.formAction("invitation-error", async () => {
      if (!accept) {
        await this.client.invitations.decline(roomId);
        return;
      }
      await this.client.invitations.accept(roomId);
      this.renderRooms();
      await this.select(roomId);
    });
  }

  /**
   * Pages of the user's rooms still coming after a (re)connect: say so until the last is in.
   * @param {{listed: number, done: boolean}} listing
   */
  showListing({ listed, done }) {
    $("rooms-status").textContent = done ? "" : `Loading your rooms… ${listed} so far`;
  }

  /** @param {string | null} roomId @param {{push?: boolean}} [options] */
  async select(roomId, { push = true } = {}) {
    this.keepDraft();
    if (!roomId || !this.client.rooms.has(roomId)) {
      this.current = null;
      $("room").hidden = true;
      $("members").hidden = true;
      $("welcome").hidden = false;
      return;
    }
    this.current = roomId;
    // Each room keeps its own draft, and a refusal shown for another room's send is not this room's.
    /** @type {HTMLTextAreaElement} */ ($("message")).value = this.drafts.get(roomId) ?? "";
    $("composer-error").textContent = "";
    this.renderTyping();
    if (push && location.pathname !== `/rooms/${roomId}/`) history.pushState(null, "", `/rooms/${roomId}/`);
    $("welcome").hidden = true;
    $("room").hidden = false;
    $("members").hidden = false;
    $("removed-notice").hidden = true;
    this.stickToBottom = true;
    this.contacts = new Map();
    this.renderRooms();
    this.renderRoomHeader();
    this.renderTranscript();
    this.refreshTrust();
    const status = $("history-status");
    status.textContent = "Loading messages…";
    try {
      await this.client.openRoom(roomId);
      status.textContent = "";
    } catch (error) {
      status.textContent = `Could not load the messages: ${message(error)}`;
    }
    $("message").focus();
  }

  renderRoomHeader() {
    if (!this.current) return;
    const state = this.client.rooms.get(this.current);
    if (!state) return;
    const { room } = state;
    $("room-title").textContent = this.client.roomName(room);
    if (this.directPeerVerified(room)) $("room-title").append(" ", el("span", { class: "badge-verified" }, ["verified"]));
    document.title = `${this.client.roomName(room)} — SecureChat`;
    const count = this.client.members(room).length;
    const kind = room.kind === "direct" ? "Direct conversation" : `Group · ${count} ${count === 1 ? "member" : "members"}`;
    const legacy = this.client.rosters.rooms.get(room.id)?.status === "legacy";
    $("room-kind").textContent = legacy ? `${kind} · ${NOT_YET_SIGNED}` : kind;
    $("sign-roster").hidden = !legacy || !this.membership.maySignLegacy(room.id);
    $("add-member-form").hidden = !this.manages(room);
    $("leave-room").hidden = room.kind === "direct";
    this.renderMembers();
    this.renderRosterWarnings();
    this.renderInvite(room);
  }

  /** Whether I may add and remove members here: the owner, or an admin the roster made. @param {import("../chat/client.js").Room} room */
  manages(room) {
    if (room.kind !== "group") return false;
    const me = this.client.userId;
    const state = this.client.rosters.rooms.get(room.id)?.state;
    if (!state) return room.owner === me;
    return state.owner === me || state.members.get(/** @type {number} */ (me))?.role === "admin";
  }

  /** A room's roster changed: redraw what shows it. @param {string} roomId */
  onRosterChanged(roomId) {
    if (roomId !== this.current) return;
    this.renderRoomHeader();
    // The verified roster decides who is here: their keys are checked now (a change waiting for them is shown).
    this.refreshTrust();
  }

  /** Sign the open room's member list (a room from before rosters), as its owner sees it in the members pane. */
  async signRoster() {
    const roomId = this.current;
    if (!roomId) return;
    await this.formAction("room-error", async () => {
      if (!(await this.membership.signLegacy(roomId))) throw new Error("Only the room's owner can sign its member list.");
    });
  }

  /** The open room's roster problems: blocking, as alerts. */
  renderRosterWarnings() {
    const state = this.current ? this.client.rooms.get(this.current) : null;
    const roster = this.current ? this.client.rosters.rooms.get(this.current) : null;
    const nameOf = (/** @type {number} */ id) => this.client.nameOf(id);
    const unproven = roster?.status === "legacy" && state?.loaded && !this.client.usableUnsigned(state.room.id);
    const why = roster?.status === "blocked" ? blockedText(roster, nameOf) : unproven ? UNPROVEN_LEGACY : null;
    const title = state ? this.client.roomName(state.room) : "";
    $("roster-warnings").replaceChildren(...(why ? [el("p", { class: "key-warning", role: "alert" }, [`⚠ ${title}: ${why}`])] : []));
    /** @type {HTMLButtonElement} */ ($("send")).disabled = Boolean(why);
  }

  renderMembers() {
    if (!this.current) return;
    const state = this.client.rooms.get(this.current);
    if (!state) return;
    const { room } = state;
    const online = this.client.online.get(room.id) ?? new Set();
    const me = this.client.userId;
    const owner = this.client.ownerOf(room);
    const roles = this.client.rosters.rooms.get(room.id)?.state?.members;
    const members = this.client.members(room);
    $("member-list").replaceChildren(
      ...members.map((member) => {
        const admin = roles?.get(member.id)?.role === "admin" && member.id !== owner;
        const item = el("li", {}, [
          el("span", { class: `dot ${online.has(member.id) ? "online" : ""}`, "aria-hidden": "true" }),
          el("span", { class: "member-name" }, [member.username]),
        ]);
        if (online.has(member.id)) item.append(el("span", { class: "visually-hidden" }, [" (online)"]));
        if (member.id === owner) item.append(el("span", { class: "tag" }, ["owner"]));
        if (admin) item.append(el("span", { class: "tag" }, ["admin"]));
        if (member.id === me) item.append(el("span", { class: "tag" }, ["you"]));
        if (room.members.some((m) => m.id === member.id && m.pending)) item.append(el("span", { class: "tag" }, ["invited"]));
        const contact = this.contacts.get(member.id);
        if (contact?.verified) item.append(el("span", { class: "badge-verified" }, ["verified"]));
        if (contact?.status === "changed") item.append(el("span", { class: "tag warning" }, ["key changed"]));
        if (member.id !== me) item.append(this.memberButton("Verify", "Verify", () => this.verify(member.id)));
        const other = member.id !== me && member.id !== owner;
        if (other && this.manages(room) && (owner === me || !admin)) {
          item.append(this.memberButton("Remove", `Remove ${member.username}`, () => this.membership.remove(room.id, member.id), true));
        }
        if (other && owner === me && roles) {
          const [label, role] = admin ? ["Remove admin", "member"] : ["Make admin", "admin"];
          const change = () => this.membership.setRole(room.id, member.id, /** @type {"admin" | "member"} */ (role));
          item.append(this.memberButton(label, `${label}: ${member.username}`, change, true));
          item.append(this.memberButton("Make owner", `Make ${member.username} the owner`, () => this.membership.handOver(room.id, member.id), true));
        }
        return item;
      }),
    );
    const count = members.filter((m) => online.has(m.id)).length;
    $("presence").textContent = `${count} online`;
  }

  /**
   * @param {string} text @param {string} label its accessible name
   * @param {() => Promise<unknown> | void} action @param {boolean} [change] a roster change: errors shown by the form
   */
  memberButton(text, label, action, change = false) {
    const button = el("button", { type: "button", class: "link", ...(label !== text ? { "aria-label": label } : {}) }, [text]);
    button.addEventListener("click", () => (change ? this.formAction("add-member-error", async () => void (await action())) : action()));
    return button;
  }

  /**
   * A direct conversation is named after the other person: it carries their badge, while its roster holds exactly
   * the two of us.
   * @param {import("../chat/client.js").Room} room
   */
  directPeerVerified(room) {
    // Only a signed conversation of exactly the two of us is theirs: not one the server presents unsigned.
    if (room.kind !== "direct" || this.client.rosters.rooms.get(room.id)?.status !== "ok") return false;
    const other = this.client.members(room).find((m) => m.id !== this.client.userId);
    return Boolean(other && this.client.trust.pins.isVerified(other.id) && !this.client.trust.changed.has(other.id));
  }

  /** Check the open room's members' keys against the pins; re-render what depends on them. */
  async refreshTrust() {
    const state = this.current ? this.client.rooms.get(this.current) : null;
    if (!state) return;
    try {
      this.contacts = await this.client.trust.contacts(this.client.members(state.room).map((m) => m.id));
    } catch (error) {
      this.showProblem(`Could not check your contacts' keys: ${message(error)}`);
      return;
    }
    this.renderMembers();
    this.renderKeyWarnings();
    this.renderTranscript();
    this.renderRooms();
    for (const contact of this.contacts.values()) {
      if (contact.status === "changed" && this.unshownChanges.delete(contact.id)) this.onKeyChanged(contact);
    }
  }

  renderKeyWarnings() {
    const changed = [...this.contacts.values()].filter((c) => c.status === "changed");
    $("key-warnings").replaceChildren(
      ...changed.map((contact) => {
        const review = el("button", { type: "button", class: "link" }, ["Review"]);
        review.addEventListener("click", () => this.onKeyChanged(contact, { force: true }));
        return el("p", { class: "key-warning", role: "alert" }, [
          `⚠ ${contact.username}'s security key changed. Messages to and from ${contact.username} are paused. `,
          review,
        ]);
      }),
    );
  }

  /**
   * A member's key differs from the pin: a blocking dialog if they are in the open room, a warning in the room.
   * @param {import("../chat/trust.js").Contact} contact
   * @param {{force?: boolean}} [options]
   */
  onKeyChanged(contact, { force = false } = {}) {
    const state = this.current ? this.client.rooms.get(this.current) : null;
    const here = state && this.client.members(state.room).some((m) => m.id === contact.id);
    if (!here && !force) {
      // Perhaps only not known to be here yet (the room's roster still being checked): asked once it is.
      this.unshownChanges.add(contact.id);
      return;
    }
    this.refreshTrust();
    if (document.getElementById("key-change-dialog")) return;
    showKeyChange(contact, {
      onAccept: async () => {
        await this.client.trust.accept(contact.id);
        await this.client.reopenFrom(contact.id);
        await this.refreshTrust();
        // Not waited for: the dialog closes as soon as the key is accepted.
        this.resealFor(contact.id);
      },
    });
  }

  /**
   * Someone's new key is accepted: the names of the group rooms we share were sealed for their old one, so seal
   * them again for it.
   * @param {number} userId
   */
  async resealFor(userId) {
    for (const { room } of this.client.rooms.values()) {
      const roster = this.client.rosters.rooms.get(room.id);
      if (room.kind !== "group" || roster?.status !== "ok" || !roster.state?.members.has(userId)) continue;
      await this.membership.reseal(room.id).catch((error) => this.showProblem(`Could not seal the room's name again: ${message(error)}`));
    }
  }

  /** @param {number} userId */
  async verify(userId) {
    try {
      const contact = await this.client.trust.one(userId);
      await showSafetyNumber(this.me, contact, { onVerify: () => this.client.trust.markVerified(userId) });
    } catch (error) {
      this.showProblem(message(error));
    }
  }

  /** The invite link, for those who may open, replace or close it. @param {import("../chat/client.js").Room} room */
  renderInvite(room) {
    const box = $("invite");
    const signed = this.client.rosters.rooms.get(room.id)?.status === "ok";
    box.hidden = !signed || !this.manages(room);
    const url = this.membership.inviteUrl(room.id);
    $("invite-url").textContent = url ?? "";
    $("invite-url").hidden = !url;
    $("invite-open").hidden = Boolean(url);
    $("invite-replace").hidden = !url;
    $("invite-close").hidden = !url;
  }

  /** @param {(roomId: string) => Promise<unknown>} action */
  async inviteAction(action) {
    const roomId = this.current;
    if (roomId) await this.formAction("invite-error", async () => void (await action(roomId)));
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
    await this.formAction("new-room-error", async () => {
      const roomId = await taking(name, (value) => this.membership.createRoom({ name: value, link: link.checked }));
      link.checked = false;
      $("new-room-form").hidden = true;
      $("new-room-toggle").setAttribute("aria-expanded", "false");
      this.renderRooms();
      await this.select(roomId);
    });
  }

  /** @param {Event} event */
  async startDirect(event) {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($("direct-username"));
    await this.formAction("direct-error", async () => {
      const roomId = await taking(input, (value) => this.membership.openDirect(value));
      this.renderRooms();
      await this.select(roomId);
    });
  }

  /** @param {Event} event */
  async addMember(event) {
    event.preventDefault();
    if (!this.current) return;
    const input = /** @type {HTMLInputElement} */ ($("add-member"));
    const roomId = this.current;
    await this.formAction("add-member-error", async () => {
      await taking(input, (value) => this.membership.add(roomId, value));
      this.renderRoomHeader();
    });
  }

  async leave() {
    const roomId = this.current;
    if (!roomId) return;
    await this.formAction("room-error", async () => {
      await this.membership.leave(roomId);
      this.client.rooms.delete(roomId);
      history.pushState(null, "", "/rooms/");
      this.renderRooms();
      await this.select(null);
    });
  }

  /** @param {{id: string, name: string}} room */
  onRemoved(room) {
    if (room.id !== this.current) return;
    this.select(null, { push: false });
    const notice = $("removed-notice");
    notice.textContent = `You are no longer a member of ${room.name}.`;
    notice.hidden = false;
  }

  // --- transcript -----------------------------------------------------------------------

  /** Show the open room's messages. Only what changed is touched: paging back 1 000 messages stays linear. */
  renderTranscript() {
    const transcript = $("transcript");
    if (!this.current) return;
    const state = this.client.rooms.get(this.current);
    if (!state) return;
    const wasAtBottom = this.stickToBottom;
    const heightBefore = transcript.scrollHeight;
    const topBefore = transcript.scrollTop;
    /** @type {HTMLElement[]} */
    const nodes = [];
    if (state.reachedStart) {
      const note =
        state.room.joined_after > 0
          ? "Messages from before you joined are not available to you."
          : "This is the beginning of the conversation.";
      if (this.note.textContent !== note) this.note.textContent = note;
      nodes.push(this.note);
    }
    for (const item of this.client.timeline(this.current)) {
      if (item.type === "message") nodes.push(this.messageNode(item.message, item.warning));
      else if (item.type === "roster") nodes.push(this.lineNode(item.step));
      else if (item.type === "key") nodes.push(this.keyLineNode(item.key, item.change));
      else if (item.type === "day") nodes.push(this.dayNode(item.key, item.at));
      else if (item.type === "gap") nodes.push(this.gapLineNode(item.key, item.user, item.count));
      else nodes.push(this.resetLineNode(item.key, item.count));
    }
    showInOrder(transcript, nodes);
    // Whether a room without a roster may be written to depends on its history (`usableUnsigned`).
    this.renderRosterWarnings();
    $("load-older").hidden = state.reachedStart || !state.loaded;
    if (wasAtBottom) transcript.scrollTop = transcript.scrollHeight;
    else transcript.scrollTop = topBefore + (transcript.scrollHeight - heightBefore);
  }

  /**
   * The message's article: the one rendered before if neither it, its sender's verified badge nor its warning
   * changed since.
   * @param {import("../chat/client.js").Message} msg
   * @param {import("../chat/timeline.js").Warning} warning
   */
  messageNode(msg, warning) {
    const me = this.client.userId;
    const verified = Boolean(msg.sender !== me && msg.status === "sent" && this.contacts.get(msg.sender)?.verified);
    const known = this.rendered.get(msg);
    if (known && known.verified === verified && known.warning === warning) return known.node;
    const node = renderMessage(msg, me, verified, warning);
    this.rendered.set(msg, { node, verified, warning });
    return node;
  }

  /**
   * A roster change as a line of the conversation ("alice added carol"), drawn once per entry.
   * @param {import("../roster/chain.js").Step} step
   */
  lineNode(step) {
    const body = step.entry.body;
    const who = (/** @type {number} */ id) => (id === this.client.userId ? "you" : this.client.nameOf(id));
    const before = this.client.rosters.rooms.get(body.room)?.steps[body.seq - 1]?.state ?? null;
    const said = rosterLine(step, { who, before });
    const text = said.startsWith("you ") ? `You${said.slice(3)}` : said;
    const known = this.lines.get(step);
    if (known?.text === text) return known.node;
    const node = conversationLine(text, body.at, { class: "roster-line", "data-seq": String(body.seq) });
    this.lines.set(step, { node, text });
    return node;
  }

  /**
   * A member's key this account accepted in place of an older one: a line that stays in the conversation.
   * @param {string} key
   * @param {import("../chat/timeline.js").KeyChange} change
   */
  keyLineNode(key, change) {
    const text = `${this.client.nameOf(change.user)}'s key changed. Compare safety numbers to verify the new one.`;
    return this.drawnOnce(key, text, () => conversationLine(text, change.at, { class: "roster-line key-line" }));
  }

  /**
   * Messages of one sender that the server did not serve, where they belong in their chain: a warning line.
   * @param {string} key
   * @param {number} user
   * @param {number} count
   */
  gapLineNode(key, user, count) {
    const who = user === this.client.userId ? "you" : this.client.nameOf(user);
    const what = count === 1 ? "A message" : `${count} messages`;
    const text = `⚠ ${what} from ${who} ${count === 1 ? "is" : "are"} missing here: the server did not deliver ${count === 1 ? "it" : "them"}.`;
    return this.drawnOnce(key, text, () => el("p", { class: "roster-line gap-line", role: "note" }, [el("span", { class: "line-text" }, [text])]));
  }

  /**
   * Messages encrypted for my keys from before my reset, in a row: one quiet line.
   * @param {string} key
   * @param {number} count
   */
  resetLineNode(key, count) {
    const text = `${count === 1 ? "1 message" : `${count} messages`} sent before your key reset: encrypted for your old keys, which no longer open them.`;
    return this.drawnOnce(key, text, () => el("p", { class: "roster-line reset-line" }, [el("span", { class: "line-text" }, [text])]));
  }

  /**
   * Where a day begins: its date, as a separator of the conversation.
   * @param {string} key
   * @param {number} at ms, a time on that day
   */
  dayNode(key, at) {
    const text = DAY_FORMAT.format(new Date(at));
    return this.drawnOnce(key, text, () => el("p", { class: "day-separator", role: "separator", "aria-label": text }, [text]));
  }

  /**
   * The node drawn for `key` before, while what it says is unchanged; else a new one from `draw`.
   * @param {string} key
   * @param {string} text
   * @param {() => HTMLElement} draw
   */
  drawnOnce(key, text, draw) {
    const known = this.keyLines.get(key);
    if (known?.text === text) return known.node;
    const node = draw();
    this.keyLines.set(key, { node, text });
    return node;
  }

  onScroll() {
    const t = $("transcript");
    this.stickToBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 40;
    if (t.scrollTop < 40) this.loadOlder();
  }

  async loadOlder() {
    if (!this.current || this.loadingOlder) return;
    const roomId = this.current;
    const state = this.client.rooms.get(roomId);
    if (!state || state.reachedStart || !state.loaded) return;
    this.loadingOlder = true;
    this.stickToBottom = false;
    $("history-status").textContent = "Loading older messages…";
    try {
      await this.client.loadOlder(roomId);
      $("history-status").textContent = "";
    } catch (error) {
      $("history-status").textContent = `Could not load older messages: ${message(error)}`;
    } finally {
      this.loadingOlder = false;
    }
  }

  /** @param {{done: number, total: number}} progress */
  showProgress({ done, total }) {
    $("history-status").textContent = done < total ? `Decrypting messages… ${done} of ${total}` : "";
  }

  // --- composer ---------------------------------------------------------------------

  /** @param {KeyboardEvent} event */
  onComposerKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      /** @type {HTMLFormElement} */ ($("composer")).requestSubmit();
    }
  }

  /** @param {Event} event */
  async send(event) {
    event.preventDefault();
    const input = /** @type {HTMLTextAreaElement} */ ($("message"));
    const text = input.value;
    if (!this.current || !text.trim()) return;
    input.value = "";
    this.drafts.delete(this.current);
    this.stickToBottom = true;
    $("composer-error").textContent = "";
    try {
      await this.client.send(this.current, text);
    } catch (error) {
      $("composer-error").textContent = `Not sent: ${message(error)}`;
    }
  }

  /** The open room's unsent text, kept for when it is opened again (a draft never follows into another room). */
  keepDraft() {
    if (!this.current) return;
    const text = /** @type {HTMLTextAreaElement} */ ($("message")).value;
    if (text) this.drafts.set(this.current, text);
    else this.drafts.delete(this.current);
  }

  /** @param {{room: string, user: number}} event */
  onTyping({ room, user }) {
    const typing = this.typing.get(room) ?? new Map();
    typing.set(user, Date.now() + TYPING_SHOWN_MS);
    this.typing.set(room, typing);
    if (room === this.current) this.renderTyping();
  }

  /** Who is typing in the open room, and only there. */
  renderTyping() {
    const now = Date.now();
    for (const [room, typing] of this.typing) {
      for (const [user, until] of typing) if (until < now) typing.delete(user);
      if (!typing.size) this.typing.delete(room);
    }
    const typing = (this.current && this.typing.get(this.current)) || new Map();
    const names = [...typing.keys()].map((user) => this.client.nameOf(user));
    $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }

  // --- status and errors --------------------------------------------------------------

  /** @param {string} status */
  renderStatus(status) {
    const pending = this.client.waiting();
    const waiting = pending ? ` · ${pending} message${pending > 1 ? "s" : ""} waiting to be sent` : "";
    $("connection").textContent = `${STATUS_TEXT[/** @type {keyof STATUS_TEXT} */ (status)] ?? status}${waiting}`;
    $("connection").dataset.status = status;
    // Too many sockets is a problem only the user can solve (close a tab): say it where problems are said.
    if (status === "too-many") this.showProblem(TOO_MANY_TABS);
    else if (status === "keys-reset") this.showProblem(KEYS_RESET);
    else if (status === "password-changed") this.showProblem(PASSWORD_CHANGED);
    else if (status === "switched-off") this.showProblem(SWITCHED_OFF);
    else if ($("problem").textContent === TOO_MANY_TABS) this.showProblem("");
  }

  /** @param {string} text */
  showProblem(text) {
    $("problem").textContent = text;
    $("problem").hidden = !text;
  }

  /** @param {string} errorId @param {() => Promise<void>} action */
  async formAction(errorId, action) {
    const box = $(errorId);
    box.textContent = "";
    try {
      await action();
    } catch (error) {
      box.textContent = message(error);
    }
  }
}

/**
 * A line of the conversation that is not a message: what changed, and when.
 * @param {string} text
 * @param {number} at ms
 * @param {Record<string, string>} attrs
 */
function conversationLine(text, at, attrs) {
  const time = new Date(at);
  return el("p", attrs, [
    el("span", { class: "line-text" }, [text]),
    " ",
    el("time", { datetime: time.toISOString() }, [TIME_FORMAT.format(time)]),
  ]);
}

/**
 * Make ``parent``'s children exactly ``nodes``, in order, moving and creating as little as possible: nodes already
 * in place stay (no style or layout work for them), new ones go in one fragment per run, the rest are removed.
 * @param {HTMLElement} parent
 * @param {HTMLElement[]} nodes
 */
function showInOrder(parent, nodes) {
  const wanted = new Set(nodes);
  let cursor = parent.firstChild;
  const fragment = document.createDocumentFragment();
  for (const node of nodes) {
    while (cursor && !wanted.has(/** @type {HTMLElement} */ (cursor))) {
      const gone = cursor;
      cursor = cursor.nextSibling;
      gone.remove();
    }
    if (node === cursor) {
      if (fragment.firstChild) parent.insertBefore(fragment, cursor);
      cursor = cursor.nextSibling;
    } else {
      fragment.append(node);
    }
  }
  while (cursor) {
    const gone = cursor;
    cursor = cursor.nextSibling;
    gone.remove();
  }
  if (fragment.firstChild) parent.append(fragment);
}

/**
 * @param {import("../chat/client.js").Message} msg
 * @param {number | null} me
 * @param {boolean} verified whether to show the sender's verified badge
 * @param {import("../chat/timeline.js").Warning} warning
 */
function renderMessage(msg, me, verified, warning) {
  const time = new Date(msg.sentAt);
  const header = el("header", {}, [
    el("span", { class: "sender" }, [msg.sender === me ? "You" : msg.senderName]),
    ...(verified ? [el("span", { class: "badge-verified" }, ["verified"])] : []),
    el("time", { datetime: time.toISOString() }, [TIME_FORMAT.format(time)]),
  ]);
  const attrs = { class: `message ${msg.status}${msg.sender === me ? " mine" : ""}`, "data-key": msg.key };
  if (msg.id !== null) attrs["data-id"] = String(msg.id);
  if (msg.status === "failed" || warning === "retired") {
    const reason = warning === "retired" ? "retired_key" : msg.reason;
    const why = REASONS[/** @type {keyof REASONS} */ (reason)] ?? reason;
    return el("article", attrs, [
      header,
      el("p", { class: "warning" }, [`⚠ Message not shown: failed verification — ${why}.`]),
    ]);
  }
  const body = el("p", { class: "text" }, [msg.text ?? ""]);
  const children = [header, body];
  if (warning) children.push(el("p", { class: "warning" }, [WARNINGS[warning](msg.senderName, msg.sender === me)]));
  if (msg.status === "pending") children.push(el("span", { class: "state" }, ["Sending…"]));
  if (msg.status === "rejected") children.push(el("span", { class: "state error" }, [`Not sent: ${msg.reason}`]));
  return el("article", attrs, children);
}

/**
 * Act on what a field holds, emptying it at once so the next can be typed meanwhile; on failure it is put back (if
 * nothing new was typed), for the user to correct.
 * @template T
 * @param {HTMLInputElement} input
 * @param {(value: string) => Promise<T>} action
 * @returns {Promise<T>}
 */
async function taking(input, action) {
  const value = input.value;
  input.value = "";
  try {
    return await action(value);
  } catch (error) {
    if (!input.value) input.value = value;
    throw error;
  }
}

/** @param {Event} event */
function detail(event) {
  return /** @type {CustomEvent} */ (event).detail;
}

/** @param {unknown} error */
function message(error) {
  return error instanceof Error ? error.message : String(error);
}

function roomFromPath() {
  const match = location.pathname.match(/^\/rooms\/([0-9a-f-]{36})\/$/);
  return match ? match[1] : null;
}

async function main() {
  const keys = await keystore.load();
  const username = document.body.dataset.username ?? "";
  if (!keys || keys.username.toLowerCase() !== username.toLowerCase()) {
    $("problem").textContent = "This browser does not hold your keys. Log out and log in again to unlock them.";
    $("problem").hidden = false;
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new ChatSocket(`${scheme}://${location.host}/ws/chat/`);
  const trust = await TrustGate.open({
    directory: new KeyDirectory(),
    accountKey: keys.accountKey,
    username,
    // Keys stored before the id was kept with them: the server's word, which the trust store then has to match.
    ownerId: keys.identity.id ?? (await getJson("/api/accounts/me")).user.id,
    keyVersion: keys.identity.key_version,
  });
  const client = new ChatClient({ socket, trust, keys, heads: new AccountHeads({ pins: trust.pins, username }) });
  const page = new ChatPage(client, keys.identity, new Membership(client));
  // For tests and the console; the keys inside are non-extractable, as they are in IndexedDB.
  Object.defineProperty(window, "securechat", { value: { client, socket }, configurable: true });
  page.start();
  client.start();
}

main().catch((error) => {
  $("problem").textContent = message(error);
  $("problem").hidden = false;
});
