// @ts-check
// The chat page: rooms, the open room's transcript, the composer and the members. Each part draws its own piece of
// the page (rooms-pane.js, room-header.js, members-pane.js, trust-view.js, transcript.js, composer.js, status.js);
// the view here keeps which room is open and tells the parts what changed. Every piece of text that came from
// another user (names, room names, messages) is set with textContent, never as HTML, so nobody can run script in
// someone else's page.

import * as keystore from "../account/keystore.js";
import { ChatClient } from "../chat/client.js";
import { KeyDirectory } from "../chat/directory.js";
import { DraftStore } from "../chat/draft-store.js";
import { Drafts } from "../chat/drafts.js";
import { Membership } from "../chat/membership.js";
import { Notifier } from "../chat/notifier.js";
import { Preferences } from "../chat/preferences.js";
import { TrustGate } from "../chat/trust.js";
import { Unread } from "../chat/unread.js";
import { getJson } from "../net/api.js";
import { ChatSocket } from "../net/socket.js";
import { AccountHeads } from "../roster/heads.js";
import { Composer } from "./composer.js";
import { $, detail, message } from "./dom.js";
import { MembersPane } from "./members-pane.js";
import { OpenRoom } from "./open-room.js";
import { PhoneLayout } from "./phone.js";
import { RoomHeader } from "./room-header.js";
import { RoomsPane } from "./rooms-pane.js";
import { notify, SettingsPanel } from "./settings.js";
import { showProblem, showStatus } from "./status.js";
import { Transcript } from "./transcript.js";
import { TrustView } from "./trust-view.js";

/** Said when the address names a room this account is not in (or that does not exist: the page cannot tell). */
const NOT_AVAILABLE = "This room is not available: it does not exist, or you are not a member of it.";

class ChatView {
  /**
   * @param {ChatClient} client
   * @param {import("./trust-dialogs.js").Me} me
   * @param {Membership} membership
   * @param {{drafts: Drafts, preferences: Preferences}} kept what this browser keeps between pages
   */
  constructor(client, me, membership, { drafts, preferences }) {
    this.client = client;
    this.open = new OpenRoom();
    this.unread = new Unread(client, me);
    this.preferences = preferences;
    this.notifier = new Notifier({
      client,
      unread: this.unread,
      preferences,
      looking: () => (document.visibilityState === "visible" ? this.open.id : null),
      show: (shown) => notify(shown, (roomId) => this.select(roomId)),
    });
    this.settings = new SettingsPanel(preferences, this.open, me);
    /** Whether a redraw of the rooms list is already asked for (many messages, one redraw). */
    this.roomsDue = false;
    const select = (/** @type {string | null} */ roomId) => this.select(roomId);
    const enter = async (/** @type {string} */ roomId) => {
      this.renderRooms();
      await this.select(roomId);
    };
    this.rooms = new RoomsPane(client, membership, this.open, { select, enter }, this.unread);
    this.header = new RoomHeader(client, membership, this.open, { select });
    this.members = new MembersPane(client, membership, this.open, {
      verify: (userId) => this.trust.verify(userId),
      changed: () => this.renderRoomHeader(),
    });
    this.trust = new TrustView(client, membership, me, this.open, () => {
      this.members.render();
      this.transcript.render();
      this.renderRooms();
    });
    this.transcript = new Transcript(client, this.open, () => this.header.renderRosterWarnings());
    this.composer = new Composer(
      client,
      this.open,
      () => {
        this.transcript.stickToBottom = true;
      },
      drafts,
    );
    this.phone = new PhoneLayout({
      back: async () => {
        history.pushState(null, "", "/rooms/");
        await this.select(null);
      },
    });
  }

  start() {
    const c = this.client;
    const here = (/** @type {Event} */ e, /** @type {string} */ field) => this.open.is(detail(e)[field]);
    c.addEventListener("rooms", () => this.renderRooms());
    c.addEventListener("invitations", () => this.rooms.renderInvitations());
    c.addEventListener("listing", (e) => this.rooms.showListing(detail(e)));
    c.addEventListener("room", (e) => here(e, "id") && this.renderRoomHeader());
    c.addEventListener("messages", (e) => {
      if (here(e, "room")) {
        this.transcript.render();
        this.composer.clearResolvedError();
        this.markRead();
      }
      this.renderStatus();
    });
    c.addEventListener("presence", (e) => here(e, "room") && this.members.render());
    c.addEventListener("typing", (e) => this.composer.onTyping(detail(e)));
    c.addEventListener("progress", (e) => here(e, "room") && this.transcript.showProgress(detail(e)));
    c.addEventListener("removed", (e) => this.onRemoved(detail(e)));
    c.addEventListener("status", () => this.renderStatus());
    c.addEventListener("problem", (e) => showProblem(detail(e).message));
    c.socket.addEventListener("pending", () => this.renderStatus());
    c.trust.addEventListener("changed", (e) => this.trust.onKeyChanged(detail(e).contact));
    c.trust.addEventListener("trust", () => this.trust.refresh());
    c.rosters.addEventListener("changed", (e) => {
      this.onRosterChanged(detail(e).room);
      if (c.invitations.rooms.has(detail(e).room)) this.rooms.renderInvitations();
    });
    const parts = [this.rooms, this.header, this.members, this.transcript, this.composer, this.settings, this.phone];
    for (const part of parts) part.start();
    this.unread.start();
    this.notifier.start();
    this.unread.addEventListener("changed", () => {
      this.renderTitle();
      this.roomsLater();
    });
    // Seen once the page is in view again, and once the reader is back at the newest message.
    document.addEventListener("visibilitychange", () => this.markRead());
    $("transcript").addEventListener("scroll", () => this.markRead());
    window.addEventListener("popstate", () => this.select(roomFromPath(), { push: false }));
  }

  /** The open room is read up to its newest message, if the reader can see that: the page in view, at the bottom. */
  markRead() {
    if (this.open.id && document.visibilityState === "visible" && this.transcript.stickToBottom) this.unread.markRead(this.open.id);
  }

  /** The tab's title: "(N) " while N messages are unread, then the open room's name. */
  renderTitle() {
    const room = this.open.id ? this.client.rooms.get(this.open.id)?.room : null;
    const base = room ? `${this.client.roomName(room)} — SecureChat` : "Chat — SecureChat";
    const total = this.unread.total();
    document.title = total ? `(${total}) ${base}` : base;
  }

  /** Redraw the rooms list once, after whatever else changes now (a page of messages tells every message). */
  roomsLater() {
    if (this.roomsDue) return;
    this.roomsDue = true;
    setTimeout(() => {
      this.roomsDue = false;
      this.rooms.render();
    }, 0);
  }

  /** The rooms list; then the room the address names, once it is listed, or the open room's header again. */
  renderRooms() {
    this.rooms.render();
    const fromPath = roomFromPath();
    if (!this.open.id && fromPath && this.client.rooms.has(fromPath)) {
      this.select(fromPath, { push: false });
    } else if (this.open.id && this.client.rooms.has(this.open.id)) {
      this.renderRoomHeader();
    } else if (!this.open.id && fromPath && this.client.userId !== null && this.client.listing === null) {
      // Every page of rooms came, and the address names none of them: say so, the same whether or not it exists.
      const notice = $("removed-notice");
      notice.textContent = NOT_AVAILABLE;
      notice.hidden = this.client.invitations.rooms.has(fromPath);
    }
  }

  /** The open room's header, members and invite link. */
  renderRoomHeader() {
    const room = this.open.id ? this.client.rooms.get(this.open.id)?.room : null;
    if (!room) return;
    this.header.render(room);
    this.renderTitle();
    this.settings.renderMute();
    this.members.renderManagement(room);
    this.members.render();
    this.header.renderRosterWarnings();
  }

  renderStatus() {
    showStatus(this.client.socket.status, this.client.waiting());
  }

  /** Open a room (null or one not listed: none, the welcome shows). @param {string | null} roomId @param {{push?: boolean}} [options] */
  async select(roomId, { push = true } = {}) {
    this.composer.keepDraft();
    if (!roomId || !this.client.rooms.has(roomId)) {
      this.open.id = null;
      $("room").hidden = true;
      $("members").hidden = true;
      $("welcome").hidden = false;
      this.renderTitle();
      this.rooms.render(); // no room marked as open
      this.phone.show(null);
      return;
    }
    this.open.id = roomId;
    // "New messages" goes above the first message not read when the room was opened (none if all were read).
    this.open.newAfter = this.unread.counts(roomId).unread ? this.unread.position(roomId) : null;
    this.composer.show(roomId);
    if (push && location.pathname !== `/rooms/${roomId}/`) history.pushState(null, "", `/rooms/${roomId}/`);
    $("welcome").hidden = true;
    $("room").hidden = false;
    $("members").hidden = false;
    $("removed-notice").hidden = true;
    this.phone.show(roomId);
    this.transcript.stickToBottom = true;
    this.open.contacts = new Map();
    this.renderRooms();
    this.renderRoomHeader();
    this.transcript.render();
    this.trust.refresh();
    await this.transcript.load(roomId);
    this.markRead();
    this.phone.focusRoom();
  }

  /** A room's roster changed: redraw what shows it. @param {string} roomId */
  onRosterChanged(roomId) {
    if (!this.open.is(roomId)) return;
    this.renderRoomHeader();
    // The verified roster decides who is here: their keys are checked now (a change waiting for them is shown).
    this.trust.refresh();
  }

  /** @param {{id: string, name: string}} room */
  onRemoved(room) {
    if (!this.open.is(room.id)) return;
    this.select(null, { push: false });
    const notice = $("removed-notice");
    notice.textContent = `You are no longer a member of ${room.name}.`;
    notice.hidden = false;
  }
}

function roomFromPath() {
  const match = location.pathname.match(/^\/rooms\/([0-9a-f-]{36})\/$/);
  return match ? match[1] : null;
}

async function main() {
  const keys = await keystore.load();
  const username = document.body.dataset.username ?? "";
  if (!keys || keys.username.toLowerCase() !== username.toLowerCase()) {
    showProblem("This browser does not hold your keys. Log out and log in again to unlock them.");
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
  const drafts = new Drafts(new DraftStore({ accountKey: keys.accountKey, username }));
  const preferences = new Preferences(localStorage);
  const view = new ChatView(client, keys.identity, new Membership(client), { drafts, preferences });
  // For tests and the console; the keys inside are non-extractable, as they are in IndexedDB.
  Object.defineProperty(window, "securechat", { value: { client, socket, drafts, unread: view.unread }, configurable: true });
  view.start();
  client.start();
}

main().catch((error) => {
  $("problem").textContent = message(error);
  $("problem").hidden = false;
});
