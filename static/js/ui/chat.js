// @ts-check
// The chat page: rooms, the open room's transcript, the composer and the members. Every piece of
// text that came from another user (names, room names, messages) is set with textContent, never as
// HTML, so nobody can run script in someone else's page.

import * as keystore from "../account/keystore.js";
import { ChatClient } from "../chat/client.js";
import { KeyDirectory } from "../chat/directory.js";
import { TrustGate } from "../chat/trust.js";
import { getJson, postJson, request } from "../net/api.js";
import { ChatSocket } from "../net/socket.js";
import { showKeyChange, showSafetyNumber } from "./trust-dialogs.js";

const REASONS = {
  bad_signature: "its signature does not match the sender's key — it may have been forged or altered",
  no_wrap: "it was not encrypted for you",
  decrypt_failed: "it could not be decrypted with your keys — sent before a key reset, or altered",
  malformed: "it is malformed",
  wrong_room: "it was made for another room",
  wrong_sender: "it claims another sender",
  key_not_accepted: "it is signed with a new key of the sender that you have not accepted",
  unknown_sender: "the sender's keys are missing or invalid",
};
const STATUS_TEXT = {
  connecting: "Connecting…",
  online: "Connected",
  offline: "Offline — reconnecting…",
  "too-many": "Too many open tabs — close one; retrying…",
  "signed-out": "Signed out — log in again",
};
const TYPING_SHOWN_MS = 4000;
// One formatter for every message's time: toLocaleTimeString builds a new one per call, a cost per message shown.
const TIME_FORMAT = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
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
   */
  constructor(client, me) {
    this.client = client;
    this.me = me;
    /** @type {Map<number, import("../chat/trust.js").Contact>} what is known of the open room's members' keys */
    this.contacts = new Map();
    /** @type {string | null} */
    this.current = null;
    /** @type {Map<number, number>} user id → when their typing notice expires */
    this.typing = new Map();
    this.stickToBottom = true;
    this.loadingOlder = false;
    /** @type {WeakMap<import("../chat/client.js").Message, {node: HTMLElement, verified: boolean}>} each message's
     * article as last rendered: a message is a new object whenever it changes, so an unchanged one keeps its node */
    this.rendered = new WeakMap();
    this.note = el("p", { class: "transcript-note" });
  }

  start() {
    const c = this.client;
    c.addEventListener("rooms", () => this.renderRooms());
    c.addEventListener("room", (e) => this.isCurrent(detail(e).id) && this.renderRoomHeader());
    c.addEventListener("messages", (e) => this.isCurrent(detail(e).room) && this.renderTranscript());
    c.addEventListener("presence", (e) => this.isCurrent(detail(e).room) && this.renderMembers());
    c.addEventListener("typing", (e) => this.onTyping(detail(e)));
    c.addEventListener("progress", (e) => this.isCurrent(detail(e).room) && this.showProgress(detail(e)));
    c.addEventListener("removed", (e) => this.onRemoved(detail(e)));
    c.addEventListener("status", (e) => this.renderStatus(detail(e)));
    c.addEventListener("problem", (e) => this.showProblem(detail(e).message));
    c.socket.addEventListener("pending", () => this.renderStatus(c.socket.status));
    c.trust.addEventListener("changed", (e) => this.onKeyChanged(detail(e).contact));
    c.trust.addEventListener("trust", () => this.refreshTrust());

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
        return el("li", { class: room.kind }, [link]);
      }),
    );
    $("no-rooms").hidden = rooms.length > 0;
    if (!this.current && roomFromPath() && this.client.rooms.has(roomFromPath() ?? "")) {
      this.select(roomFromPath(), { push: false });
    } else if (this.current && this.client.rooms.has(this.current)) {
      this.renderRoomHeader();
    }
  }

  /** @param {string | null} roomId @param {{push?: boolean}} [options] */
  async select(roomId, { push = true } = {}) {
    if (!roomId || !this.client.rooms.has(roomId)) {
      this.current = null;
      $("room").hidden = true;
      $("members").hidden = true;
      $("welcome").hidden = false;
      return;
    }
    this.current = roomId;
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
    $("room-kind").textContent = room.kind === "direct" ? "Direct conversation" : `Group · ${room.members.length} members`;
    const isOwner = room.owner === this.client.userId && room.kind === "group";
    $("add-member-form").hidden = !isOwner;
    $("leave-room").hidden = room.kind === "direct";
    this.renderMembers();
    this.renderInvite(room);
  }

  renderMembers() {
    if (!this.current) return;
    const state = this.client.rooms.get(this.current);
    if (!state) return;
    const { room } = state;
    const online = this.client.online.get(room.id) ?? new Set();
    const isOwner = room.owner === this.client.userId && room.kind === "group";
    $("member-list").replaceChildren(
      ...room.members.map((member) => {
        const item = el("li", {}, [
          el("span", { class: `dot ${online.has(member.id) ? "online" : ""}`, "aria-hidden": "true" }),
          el("span", { class: "member-name" }, [member.username]),
        ]);
        if (online.has(member.id)) item.append(el("span", { class: "visually-hidden" }, [" (online)"]));
        if (member.id === room.owner) item.append(el("span", { class: "tag" }, ["owner"]));
        if (member.id === this.client.userId) item.append(el("span", { class: "tag" }, ["you"]));
        const contact = this.contacts.get(member.id);
        if (contact?.verified) item.append(el("span", { class: "badge-verified" }, ["verified"]));
        if (contact?.status === "changed") item.append(el("span", { class: "tag warning" }, ["key changed"]));
        if (member.id !== this.client.userId) {
          const verify = el("button", { type: "button", class: "link" }, ["Verify"]);
          verify.addEventListener("click", () => this.verify(member.id));
          item.append(verify);
        }
        if (isOwner && member.id !== this.client.userId) {
          const remove = el("button", { type: "button", class: "link", "aria-label": `Remove ${member.username}` }, [
            "Remove",
          ]);
          remove.addEventListener("click", () => this.removeMember(member.username));
          item.append(remove);
        }
        return item;
      }),
    );
    const count = room.members.filter((m) => online.has(m.id)).length;
    $("presence").textContent = `${count} online`;
  }

  /** A direct conversation is named after the other person: it carries their badge. @param {import("../chat/client.js").Room} room */
  directPeerVerified(room) {
    if (room.kind !== "direct") return false;
    const other = room.members.find((m) => m.id !== this.client.userId);
    return Boolean(other && this.client.trust.pins.isVerified(other.id) && !this.client.trust.changed.has(other.id));
  }

  /** Check the open room's members' keys against the pins; re-render what depends on them. */
  async refreshTrust() {
    const state = this.current ? this.client.rooms.get(this.current) : null;
    if (!state) return;
    try {
      this.contacts = await this.client.trust.contacts(state.room.members.map((m) => m.id));
    } catch (error) {
      this.showProblem(`Could not check your contacts' keys: ${message(error)}`);
      return;
    }
    this.renderMembers();
    this.renderKeyWarnings();
    this.renderTranscript();
    this.renderRooms();
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
    const here = state?.room.members.some((m) => m.id === contact.id);
    if (!here && !force) return;
    this.refreshTrust();
    if (document.getElementById("key-change-dialog")) return;
    showKeyChange(contact, {
      onAccept: async () => {
        await this.client.trust.accept(contact.id);
        await this.client.reopenFrom(contact.id);
        await this.refreshTrust();
      },
    });
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

  /** @param {import("../chat/client.js").Room} room */
  async renderInvite(room) {
    const box = $("invite");
    if (room.policy !== "link" || room.owner !== this.client.userId) {
      box.hidden = true;
      return;
    }
    try {
      const { invite_url: url } = await getJson(`/api/rooms/${room.id}/invite`);
      $("invite-url").textContent = url;
      box.hidden = !url;
    } catch (error) {
      box.hidden = true;
    }
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
      const { room } = await postJson("/api/rooms", { name: name.value, policy: link.checked ? "link" : "invite" });
      this.client.upsertRoom(room);
      name.value = "";
      $("new-room-form").hidden = true;
      $("new-room-toggle").setAttribute("aria-expanded", "false");
      this.renderRooms();
      await this.select(room.id);
    });
  }

  /** @param {Event} event */
  async startDirect(event) {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($("direct-username"));
    await this.formAction("direct-error", async () => {
      const { room } = await postJson("/api/direct", { username: input.value.trim() });
      this.client.upsertRoom(room);
      input.value = "";
      this.renderRooms();
      await this.select(room.id);
    });
  }

  /** @param {Event} event */
  async addMember(event) {
    event.preventDefault();
    if (!this.current) return;
    const input = /** @type {HTMLInputElement} */ ($("add-member"));
    const roomId = this.current;
    await this.formAction("add-member-error", async () => {
      const { room } = await postJson(`/api/rooms/${roomId}/members`, { username: input.value.trim() });
      this.client.upsertRoom(room);
      input.value = "";
      this.renderRoomHeader();
    });
  }

  /** @param {string} username */
  async removeMember(username) {
    const roomId = this.current;
    if (!roomId) return;
    await this.formAction("add-member-error", async () => {
      const { room } = await request("DELETE", `/api/rooms/${roomId}/members/${encodeURIComponent(username)}`);
      this.client.upsertRoom(room);
      this.renderRoomHeader();
    });
  }

  async leave() {
    const roomId = this.current;
    if (!roomId) return;
    await this.formAction("room-error", async () => {
      await postJson(`/api/rooms/${roomId}/leave`);
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
    for (const msg of this.client.messages(this.current)) nodes.push(this.messageNode(msg));
    showInOrder(transcript, nodes);
    $("load-older").hidden = state.reachedStart || !state.loaded;
    if (wasAtBottom) transcript.scrollTop = transcript.scrollHeight;
    else transcript.scrollTop = topBefore + (transcript.scrollHeight - heightBefore);
  }

  /**
   * The message's article: the one rendered before if neither it nor its sender's verified badge changed since.
   * @param {import("../chat/client.js").Message} msg
   */
  messageNode(msg) {
    const me = this.client.userId;
    const verified = Boolean(msg.sender !== me && msg.status === "sent" && this.contacts.get(msg.sender)?.verified);
    const known = this.rendered.get(msg);
    if (known && known.verified === verified) return known.node;
    const node = renderMessage(msg, me, verified);
    this.rendered.set(msg, { node, verified });
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
    this.stickToBottom = true;
    $("composer-error").textContent = "";
    try {
      await this.client.send(this.current, text);
    } catch (error) {
      $("composer-error").textContent = `Not sent: ${message(error)}`;
    }
  }

  /** @param {{room: string, user: number}} event */
  onTyping({ room, user }) {
    if (room !== this.current) return;
    this.typing.set(user, Date.now() + TYPING_SHOWN_MS);
    this.renderTyping();
  }

  renderTyping() {
    const state = this.current ? this.client.rooms.get(this.current) : null;
    const now = Date.now();
    const names = [];
    for (const [user, until] of this.typing) {
      if (until < now) this.typing.delete(user);
      else names.push(state?.room.members.find((m) => m.id === user)?.username ?? "someone");
    }
    $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }

  // --- status and errors --------------------------------------------------------------

  /** @param {string} status */
  renderStatus(status) {
    const pending = this.client.socket.pending.size;
    const waiting = pending ? ` · ${pending} message${pending > 1 ? "s" : ""} waiting to be sent` : "";
    $("connection").textContent = `${STATUS_TEXT[/** @type {keyof STATUS_TEXT} */ (status)] ?? status}${waiting}`;
    $("connection").dataset.status = status;
    // Too many sockets is a problem only the user can solve (close a tab): say it where problems are said.
    if (status === "too-many") this.showProblem(TOO_MANY_TABS);
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
 */
function renderMessage(msg, me, verified) {
  const time = new Date(msg.sentAt);
  const header = el("header", {}, [
    el("span", { class: "sender" }, [msg.sender === me ? "You" : msg.senderName]),
    ...(verified ? [el("span", { class: "badge-verified" }, ["verified"])] : []),
    el("time", { datetime: time.toISOString() }, [TIME_FORMAT.format(time)]),
  ]);
  const attrs = { class: `message ${msg.status}${msg.sender === me ? " mine" : ""}`, "data-key": msg.key };
  if (msg.id !== null) attrs["data-id"] = String(msg.id);
  if (msg.status === "failed") {
    const why = REASONS[/** @type {keyof REASONS} */ (msg.reason)] ?? msg.reason;
    return el("article", attrs, [
      header,
      el("p", { class: "warning" }, [`⚠ Message not shown: failed verification — ${why}.`]),
    ]);
  }
  const body = el("p", { class: "text" }, [msg.text ?? ""]);
  const children = [header, body];
  if (msg.status === "pending") children.push(el("span", { class: "state" }, ["Sending…"]));
  if (msg.status === "rejected") children.push(el("span", { class: "state error" }, [`Not sent: ${msg.reason}`]));
  return el("article", attrs, children);
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
    keyVersion: keys.identity.key_version,
  });
  const client = new ChatClient({ socket, trust, keys });
  const page = new ChatPage(client, keys.identity);
  // For tests and the console; the keys inside are non-extractable, as they are in IndexedDB.
  Object.defineProperty(window, "securechat", { value: { client, socket }, configurable: true });
  page.start();
  client.start();
}

main().catch((error) => {
  $("problem").textContent = message(error);
  $("problem").hidden = false;
});
