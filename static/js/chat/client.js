// @ts-check
// The chat as this tab knows it: rooms, and the messages of each, decrypted and verified here.
// Everything that reaches the UI went through openEnvelope; anything that failed is kept as a
// warning with its reason, never shown as a message.

import { envelopeHash, openEnvelope, sealEnvelope } from "../crypto/index.js";
import { SocketError } from "../net/socket.js";
import { NO_ONE_ADDED, RosterBlocked, RosterBook } from "../roster/book.js";
import { memberIds } from "../roster/chain.js";
import { MemoryHeads } from "../roster/heads.js";
import { Invitations } from "./invitations.js";
import { placeFindings, timeline } from "./timeline.js";

export const PAGE_SIZE = 50;
export const UNPROVEN_LEGACY =
  "This room has no signed member list, and you never wrote in it before signed member lists: " +
  `it may have ${NO_ONE_ADDED}. Nothing is sent here.`;
const TYPING_EVERY_MS = 2500;
/** Payload kinds shown as a message's text (payload.js); a reply and an edit show their text until they have views. */
const SHOWN_KINDS = new Set(["message", "reply", "edit"]);
const RESEAL_ATTEMPTS = 3;
/** Refusals after which a send is sealed again: the room's members or roster, or my chain there, moved on. */
const RESEAL_ON = new Set(["members_changed", "roster_changed", "chain_changed"]);
/** Reasons an envelope fails with after its signature verified: it is its sender's, and holds its place in their chain. */
const SIGNED_REASONS = new Set(["no_wrap", "key_mismatch", "decrypt_failed", "before_reset", "retired_key", "unknown_roster", "wrong_members"]);

/**
 * @typedef {import("../net/socket.js").ChatSocket} ChatSocket
 * @typedef {import("./trust.js").TrustGate} TrustGate
 * @typedef {import("./trust.js").Contact} Contact
 * @typedef {{id: number, username: string, pending?: true}} Member `pending`: invited, not answered yet
 * @typedef {{id: string, name: string | null, kind: string, policy: string, owner: number | null,
 *            members: Member[], joined_after: number, roster?: {seq: number, hash: string} | null}} Room the
 *   server's word: `name` only for a room from before rosters; members and owner are checked against the roster
 *   (`rosters`), and only the roster's are used
 * @typedef {{key: string, id: number | null, room: string, sender: number, senderName: string,
 *            sentAt: number, text: string | null, status: "pending" | "sent" | "failed" | "rejected",
 *            reason: string | null, verified: boolean, envelope: any, signedWith?: string, chain?: Link,
 *            kind?: "unsupported",
 *            signedKey?: import("./timeline.js").SignedKey}} Message
 *   signedWith: the signing key (base64) the envelope verified under; chain: a v3 envelope's place in its sender's
 *   chain in the room, once its signature verified; signedKey: that key's version, and when (ms) this account
 *   accepted the key that replaced it (null: none has); kind: "unsupported" for a genuine message of a kind this page
 *   does not show (its text is null)
 * @typedef {import("./timeline.js").Link} Link
 *   status: "pending" waits for the server's ack; "sent" is verified and decrypted; "failed" did not
 *   pass verification or decryption (reason says why); "rejected" is my message the server refused.
 * @typedef {{room: Room, messages: Map<string, Message>, oldestId: number | null, newestId: number,
 *            reachedStart: boolean, loaded: boolean, syncing: Promise<void> | null, syncAgain: boolean,
 *            chainEnd: {seq: number, hash: string} | null, sending: Promise<void>}} RoomState
 *   newestId: every envelope of the room up to it has reached this tab (a reconnect syncs from it).
 *   chainEnd: my newest envelope in the room that this tab knows of, which my next one follows on from.
 *   sending: my latest send to the room: the next waits for it (each takes the next place in my chain).
 */

/**
 * @typedef {{unlisted: Set<string>, listed: number}} Listing the user's rooms being read page by page after a
 *   `ready`: the rooms this tab knew before it that no page nor room event has named yet (dropped once the last page
 *   came), and how many the pages listed so far
 */

/**
 * Events: "rooms" (the list changed), "room" ({id}: one room's details changed), "removed" ({id, name}),
 * "messages" ({room}), "presence" ({room, online}), "typing" ({room, user}), "progress" ({room, done, total}),
 * "listing" ({listed, done}: pages of the user's rooms still coming, or all in), "status" (connection status
 * string), "problem" ({message}).
 */
export class ChatClient extends EventTarget {
  /**
   * @param {{socket: ChatSocket, trust: TrustGate, keys: {signingPrivateKey: CryptoKey,
   *          agreementPrivateKey: CryptoKey, identity?: {key_version: number}},
   *          heads?: import("../roster/book.js").Options["heads"]}} options `heads`: where verified roster heads
   *   are kept (IndexedDB in the page)
   */
  constructor({ socket, trust, keys, heads = new MemoryHeads() }) {
    super();
    this.socket = socket;
    this.trust = trust;
    this.keys = keys;
    /** @type {Map<number, string>} usernames, as pinned with their keys (the key directory's on first sight) */
    this.names = new Map();
    this.rosters = new RosterBook({
      mayBeLegacy: (roomId, hint) => this.mayBeLegacy(roomId, hint),
      nameOf: (id) => this.nameOf(id),
      fetchEntries: (room, from) => this.socket.request({ op: "roster", room, from }),
      append: (room, entry) => this.socket.request({ op: "append", room, entry }),
      keyFor: (id, version) => this.trust.signingKeyFor(id, version),
      currentKeyFor: (id, version) => this.trust.signingKeyFor(id, version, { current: true }),
      pinnedKeyFor: (id, version) => this.trust.signingKeyFor(id, version, { history: false }),
      recipientsFor: (ids) => this.trust.recipients(ids),
      heads,
      me: {
        id: null,
        keyVersion: keys.identity?.key_version ?? 1,
        signingPrivateKey: keys.signingPrivateKey,
        agreementPrivateKey: keys.agreementPrivateKey,
      },
    });
    /** @type {number | null} */
    this.userId = null;
    /** @type {Map<string, RoomState>} */
    this.rooms = new Map();
    /** Rooms and direct conversations I am invited to, apart from my rooms until I accept. */
    this.invitations = new Invitations(this);
    /** @type {Map<string, Set<number>>} */
    this.online = new Map();
    /** @type {Map<string, number>} */
    this.lastTyping = new Map();
    /** Whether the problem shown is about a send still waiting to be retried. */
    this.sendProblem = false;
    /** The live frame being filed: the next waits for it. */
    this.live = Promise.resolve();
    /** @type {Listing | null} the pages of rooms being read, after the latest `ready`; null once all came */
    this.listing = null;
    /** The latest `ready`'s listing: settled once its last page is in (or its socket closed first). */
    this.listed = Promise.resolve();
  }

  start() {
    const on = (/** @type {string} */ type, /** @type {(detail: any) => void} */ handler) =>
      this.socket.addEventListener(type, (event) => handler(/** @type {CustomEvent} */ (event).detail));
    on("ready", (frame) => {
      this.listed = this.onReady(frame).catch((error) => this.report(error));
      this.invitations.load().catch((error) => this.report(error));
    });
    on("invitation", (frame) => this.invitations.onFrame(frame));
    // One live frame at a time, in arrival order: whether a frame follows on depends on the ones before it.
    on("messages", (frame) => {
      this.live = this.live.then(() => this.onLive(frame)).catch((error) => this.report(error));
    });
    on("room", (frame) => this.onRoomEvent(frame));
    on("presence", (frame) => {
      this.online.set(frame.room, new Set(frame.online));
      this.emit("presence", { room: frame.room, online: frame.online });
    });
    on("typing", (frame) => this.emit("typing", frame));
    on("roster", (frame) => this.rosters.onLive(frame.room, frame.entries).catch((error) => this.report(error)));
    this.rosters.addEventListener("changed", (event) => {
      const { room } = /** @type {CustomEvent} */ (event).detail;
      this.emit("rooms", null);
      this.emit("room", { id: room });
      // Lines of the conversation (joins, removals) and checks of v2 envelopes depend on the roster.
      this.emit("messages", { room });
      this.learnNames(this.namedIn(room)).catch((error) => this.report(error));
    });
    on("keys", (frame) => this.trust.recheck(frame.user).catch((error) => this.report(error)));
    on("status", (status) => this.emit("status", status));
    on("error", (frame) => {
      // Typing notices sent too often are dropped by the server: nothing the user needs to hear of.
      if (frame.code === "rate_limited" && frame.op === "typing") return;
      // A refused send that will be retried (rate limited, unavailable) is a problem only until it goes through.
      if (frame.ref && this.socket.pending.has(frame.ref)) this.sendProblem = true;
      this.emit("problem", { message: frame.detail || frame.code });
    });
    on("pending", (count) => {
      if (count === 0 && this.sendProblem) {
        this.sendProblem = false;
        this.emit("problem", { message: "" });
      }
    });
    this.socket.start();
  }

  /**
   * The socket is served: `ready` carries the first page of my rooms, and `rooms` asks for the rest, page after page
   * from the cursor the last one gave. Each page's rooms are listed as they come (a room is kept by its id, so a
   * reconnect lists none twice); only once the last page came are the rooms this tab knew and no page named dropped.
   * @param {any} frame
   */
  async onReady(frame) {
    this.userId = frame.user;
    this.rosters.options.me.id = frame.user;
    /** @type {Listing} */
    const listing = { unlisted: new Set(this.rooms.keys()), listed: 0 };
    this.listing = listing;
    let page = frame;
    for (;;) {
      this.#list(listing, page.rooms);
      if (!page.more) break;
      this.emit("listing", { listed: listing.listed, done: false });
      try {
        page = await this.socket.request({ op: "rooms", after: page.after });
      } catch (error) {
        // The socket closed: the next one's `ready` lists the rooms again, from the start.
        if (error instanceof SocketError && error.code === "offline") return;
        throw error;
      }
      if (this.listing !== listing) return; // a newer `ready` lists them
    }
    for (const id of listing.unlisted) {
      this.rooms.delete(id);
      this.rosters.forget(id);
    }
    this.listing = null;
    this.emit("rooms", null);
    this.emit("listing", { listed: listing.listed, done: true });
  }

  /**
   * One page of my rooms, as the server has them now.
   * @param {Listing} listing @param {Room[]} rooms
   */
  #list(listing, rooms) {
    for (const room of rooms) {
      listing.unlisted.delete(room.id);
      const state = this.upsertRoom(room);
      // After a reconnect, fetch whatever arrived while this tab was away.
      if (state.loaded) this.catchUp(room.id).catch((error) => this.report(error));
    }
    listing.listed += rooms.length;
    this.emit("rooms", null);
  }

  /**
   * Whether a room the server presents without a roster may be one from before rosters: a direct conversation only
   * of exactly me and one other person. (Whether it is one is for its history to show: `usableUnsigned`.)
   * @param {string} _roomId
   * @param {import("../roster/book.js").Hint} hint
   */
  mayBeLegacy(_roomId, hint) {
    if (hint.kind !== "direct") return true;
    return hint.members.length === 2 && hint.members.includes(/** @type {number} */ (this.userId));
  }

  /**
   * Whether a room without a roster really is one from before rosters for me: its history holds a v1 message I
   * wrote there myself, signed with my own key (the server can neither forge that nor borrow it from another room:
   * the signature binds the room's id; an account it holds could sign for any room, a member I never wrote with
   * could be shown an old room), and no v2 one. Only then is it written to on the server's member list, or signed.
   * Needs the room's latest history loaded.
   * @param {string} roomId
   */
  usableUnsigned(roomId) {
    const own = this.keys.identity?.signing_public_key;
    const messages = this.messages(roomId);
    const mine = messages.some(
      (m) => m.envelope && !namesHead(m.envelope) && m.id !== null && m.sender === this.userId && m.status === "sent" && m.signedWith === own,
    );
    return Boolean(own) && mine && !messages.some((m) => m.envelope && namesHead(m.envelope));
  }

  /**
   * The server's word on a room: kept as its claim, and checked against the room's roster.
   * @param {Room} room
   */
  upsertRoom(room) {
    // Not the usernames the server sends with it: the pinned ones (a server could relabel a member).
    this.learnNames(room.members.map((m) => m.id)).catch((error) => this.report(error));
    // A room served without its roster field is one without a roster: never one whose check is skipped.
    room = { ...room, roster: room.roster ?? null };
    const hint = { roster: room.roster, members: room.members.map((m) => m.id), kind: room.kind };
    this.rosters.sync(room.id, hint).catch((error) => this.report(error));
    const state = this.rooms.get(room.id);
    if (state) {
      state.room = { ...state.room, ...room };
      return state;
    }
    /** @type {RoomState} */
    const fresh = {
      room,
      messages: new Map(),
      oldestId: null,
      // Nothing before joining is this member's to read: every envelope up to then has reached this tab.
      newestId: room.joined_after ?? 0,
      reachedStart: false,
      loaded: false,
      syncing: null,
      syncAgain: false,
      chainEnd: null,
      sending: Promise.resolve(),
    };
    this.rooms.set(room.id, fresh);
    return fresh;
  }

  /** @param {any} frame */
  onRoomEvent(frame) {
    // What the server says of a room while the pages come is newer than a page that may not have reached it.
    this.listing?.unlisted.delete(frame.room.id);
    if (frame.event === "removed") {
      const state = this.rooms.get(frame.room.id);
      const name = state ? this.roomName(state.room) : "";
      this.rooms.delete(frame.room.id);
      this.rosters.forget(frame.room.id);
      this.emit("rooms", null);
      this.emit("removed", { id: frame.room.id, name });
      return;
    }
    this.upsertRoom(frame.room);
    this.emit("rooms", null);
    this.emit("room", { id: frame.room.id });
  }

  /**
   * A room I left, gone from my rooms at once: not waiting for the server's word that I left (`onRoomEvent`).
   * @param {string} roomId
   */
  forget(roomId) {
    this.rooms.delete(roomId);
    this.emit("rooms", null);
  }

  /**
   * The room's name: its members' secret, read from the roster (a room from before rosters: the server's); a
   * direct conversation is named after the other person.
   * @param {Room} room
   */
  roomName(room) {
    const signed = this.rosters.rooms.get(room.id);
    if (room.kind === "direct") {
      const other = this.members(room).find((m) => m.id !== this.userId);
      if (other) return other.username;
      return signed?.state || this.#serversWord(room) ? "(just you)" : "…";
    }
    if (signed?.meta) return signed.meta.name;
    if (this.#serversWord(room)) return room.name ?? "";
    return signed?.status === "unknown" || signed?.status === "blocked" ? "…" : "(name unreadable)";
  }

  /**
   * Whether a direct conversation carries the other person's verified badge (it is named after them): only a signed
   * one of exactly the two of us, never one the server presents unsigned.
   * @param {Room} room
   */
  directPeerVerified(room) {
    if (room.kind !== "direct" || this.rosters.rooms.get(room.id)?.status !== "ok") return false;
    const other = this.members(room).find((m) => m.id !== this.userId);
    return Boolean(other && this.trust.pins.isVerified(other.id) && !this.trust.changed.has(other.id));
  }

  /**
   * Who is in the room: the verified roster's members; the server's list only for a room from before rosters; no
   * one while the roster is being checked, or if it does not verify.
   * @param {Room} room
   * @returns {Member[]}
   */
  members(room) {
    const state = this.rosters.rooms.get(room.id)?.state;
    const ids = state ? memberIds(state) : this.#serversWord(room) ? room.members.map((m) => m.id) : [];
    return ids.map((id) => ({ id, username: this.nameOf(id) }));
  }

  /** The owner, as the roster says (the server's word for a room from before rosters). @param {Room} room */
  ownerOf(room) {
    const state = this.rosters.rooms.get(room.id)?.state;
    return state ? state.owner : this.#serversWord(room) ? room.owner : null;
  }

  /** Whether the room is one from before rosters, the only kind whose name and members are the server's word. */
  #serversWord(/** @type {Room} */ room) {
    return this.rosters.rooms.get(room.id)?.status === "legacy";
  }

  /** Everyone a room's roster names: former members too, who are in no list the server sends. @param {string} roomId */
  namedIn(roomId) {
    const steps = this.rosters.rooms.get(roomId)?.steps ?? [];
    return steps.flatMap((step) => [step.entry.body.actor, ...step.entry.body.members.map(([id]) => id)]);
  }

  /**
   * Learn the usernames of these people, as pinned with their keys (the key directory's on first sight).
   * @param {number[]} ids
   */
  async learnNames(ids) {
    const unknown = [...new Set(ids)].filter((id) => !this.names.has(id));
    if (!unknown.length || !this.trust.usernames) return;
    for (const [id, username] of await this.trust.usernames(unknown)) this.names.set(id, username);
    this.emit("rooms", null);
    for (const roomId of this.rooms.keys()) {
      this.emit("messages", { room: roomId });
      this.emit("room", { id: roomId });
    }
  }

  /** @param {number} id */
  nameOf(id) {
    if (id === this.userId) return this.names.get(id) ?? "you";
    return this.names.get(id) ?? `user ${id}`;
  }

  /** @param {string} roomId */
  state(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) throw new Error("You are not a member of this room.");
    return state;
  }

  /**
   * Open a room: the latest page of history, decrypted.
   * @param {string} roomId
   */
  async openRoom(roomId) {
    const state = this.state(roomId);
    if (state.loaded) return;
    await this.loadPage(roomId, null);
    state.loaded = true;
    // Loaded: the page may now offer older messages.
    this.emit("messages", { room: roomId });
    await this.catchUp(roomId);
  }

  /** @param {string} roomId */
  async loadOlder(roomId) {
    const state = this.state(roomId);
    if (state.reachedStart || state.oldestId === null) return;
    await this.loadPage(roomId, state.oldestId);
  }

  /** @param {string} roomId @param {number | null} before */
  async loadPage(roomId, before) {
    const page = await this.socket.request({ op: "history", room: roomId, before, limit: PAGE_SIZE });
    const state = this.state(roomId);
    if (page.start || !page.more) state.reachedStart = true;
    await this.onEnvelopes(roomId, page.items);
    if (!page.items.length) this.emit("messages", { room: roomId });
  }

  /**
   * Everything after the newest id this tab has. One catch-up at a time per room: asked for while one runs, it runs
   * once more when that one ends.
   * @param {string} roomId
   * @returns {Promise<void>}
   */
  catchUp(roomId) {
    const state = this.state(roomId);
    if (state.syncing) {
      state.syncAgain = true;
      return state.syncing;
    }
    state.syncing = (async () => {
      try {
        do {
          state.syncAgain = false;
          await this.syncPages(roomId);
        } while (state.syncAgain);
      } finally {
        state.syncing = null;
      }
    })();
    return state.syncing;
  }

  /**
   * Page by page from the newest id this tab has. Each page follows on from the last one, not from the newest id
   * known by then: a live message that arrives meanwhile is newer than the pages still to come.
   * @param {string} roomId
   */
  async syncPages(roomId) {
    let after = this.state(roomId).newestId;
    for (;;) {
      const page = await this.socket.request({ op: "sync", room: roomId, after });
      await this.onEnvelopes(roomId, page.items);
      if (!page.more || !page.items.length) return;
      after = page.items[page.items.length - 1].id;
    }
  }

  /**
   * A live `messages` frame: one commit's envelopes, naming the room's envelope just before them (`after`). The
   * newest id this tab has is where it syncs from after a reconnect, so it moves on only when the frame follows on
   * from it. A frame that does not (a commit relayed before an earlier one, by another worker or on the way through
   * Redis) is shown, and the gap is fetched.
   * @param {{room: string, after: number, envelopes: any[]}} frame
   */
  async onLive(frame) {
    const state = this.rooms.get(frame.room);
    if (!state) return;
    const follows = frame.after <= state.newestId;
    await this.onEnvelopes(frame.room, frame.envelopes, { advance: follows });
    // Not waited for: the frames after this one are filed meanwhile.
    if (!follows && state.loaded) this.catchUp(frame.room).catch((error) => this.report(error));
  }

  /**
   * Verify, decrypt and file envelopes; an envelope seen before is not opened twice. `advance`: whether they follow
   * on from the newest id this tab has (pages from the server do), so that it moves on to theirs.
   * @param {string} roomId
   * @param {any[]} envelopes
   * @param {{advance?: boolean}} [options]
   */
  async onEnvelopes(roomId, envelopes, { advance = true } = {}) {
    const state = this.rooms.get(roomId);
    // A place in the room is a positive safe integer: one that is not cannot be put in order, so it is not shown.
    const placeable = envelopes.filter((env) => Number.isSafeInteger(env?.id) && env.id > 0);
    if (placeable.length < envelopes.length) this.report(new Error("The server sent a message without a valid place in the room; it is not shown."));
    envelopes = placeable;
    if (!state || !envelopes.length) return;
    const fresh = envelopes.filter((env) => {
      const known = state.messages.get(messageKey(env.sender, env.client_id));
      return !known || known.status === "pending";
    });
    const senders = await this.trust.contacts(fresh.map((env) => env.sender));
    let done = 0;
    for (const env of fresh) {
      const message = await this.open(roomId, env, senders.get(env.sender) ?? null);
      state.messages.set(message.key, message);
      if (message.sender === this.userId) this.#extendChain(state, message);
      done += 1;
      if (fresh.length > 10 && done % 10 === 0) this.emit("progress", { room: roomId, done, total: fresh.length });
    }
    for (const env of envelopes) {
      if (advance) state.newestId = Math.max(state.newestId, env.id);
      state.oldestId = state.oldestId === null ? env.id : Math.min(state.oldestId, env.id);
    }
    this.#retireByPlace(state);
    this.emit("messages", { room: roomId });
  }

  /**
   * Messages that what comes before them shows were signed with a key already replaced: never their sender's words,
   * here or anywhere the text could be shown. More history only adds evidence, so a retired message stays retired.
   * @param {RoomState} state
   */
  #retireByPlace(state) {
    for (const [key, warning] of placeFindings(this.messages(state.room.id))) {
      const message = state.messages.get(key);
      if (warning === "retired" && message?.status === "sent") {
        state.messages.set(key, { ...message, status: "failed", reason: "retired_key", text: null });
      }
    }
  }

  /**
   * @param {string} roomId
   * @param {any} env
   * @param {Contact | null} sender
   * @returns {Promise<Message>}
   */
  async open(roomId, env, sender) {
    /** @type {Message} */
    const message = {
      key: messageKey(env.sender, env.client_id),
      id: env.id,
      room: roomId,
      sender: env.sender,
      senderName: sender?.username ?? `user ${env.sender}`,
      sentAt: env.sent_at,
      text: null,
      status: "failed",
      reason: null,
      verified: Boolean(sender?.verified),
      envelope: env,
    };
    if (!sender || !sender.signingKeys.length) return { ...message, reason: "unknown_sender" };
    const accepted = sender.keys;
    // Only keys this user accepted count. A v3 envelope names its key version: only that version's key verifies
    // it. An older one verifies against any, the newest first (an old message against the key it was signed with).
    const candidates = env.v === 3 ? accepted.filter((k) => k.key_version === env.key_version) : [...accepted].reverse();
    let reason = env.v === 3 ? "unknown_key" : "bad_signature";
    for (const key of candidates) {
      let text = null;
      let kind = "message";
      try {
        let payload;
        ({ text, payload } = await this.openWith(roomId, env, key.signing_public_key));
        kind = payload.kind;
        reason = "";
      } catch (error) {
        reason = /** @type {any} */ (error).reason ?? "malformed";
        if (reason === "bad_signature") continue;
      }
      if (!SIGNED_REASONS.has(reason) && reason !== "") break;
      // The sender's signature holds; whether it was theirs to make when it was stored is the retired key's question.
      const successor = accepted[accepted.indexOf(key) + 1];
      const signedKey = { version: key.key_version, retiredAt: successor ? Date.parse(successor.accepted_at) : null };
      const signed = { signedWith: key.signing_public_key, chain: await chainLink(env), signedKey };
      if (retired(key, accepted, env)) return { ...message, ...signed, reason: "retired_key" };
      // Genuine, but for my keys from before my own reset: no fault of anyone's.
      const mineOnceOpened = (reason === "decrypt_failed" || reason === "no_wrap") && this.#beforeMyReset(env.sent_at);
      if (reason) return { ...message, ...signed, reason: mineOnceOpened ? "before_reset" : reason };
      const checked = await this.againstRoster(roomId, env);
      // Kinds this page cannot show yet (deletions, reactions, kinds of a newer version): said so, never as data.
      const shown = SHOWN_KINDS.has(kind) ? {} : { kind: "unsupported" };
      return { ...message, ...checked, ...signed, ...shown, text: checked.status === "sent" && !shown.kind ? text : null };
    }
    if ((reason === "bad_signature" || reason === "unknown_key") && sender.status === "changed" && sender.served) {
      // Signed by the key the server serves now, which the user has not accepted.
      const byNewKey = await this.openWith(roomId, env, sender.served.signing_public_key).then(
        () => true,
        () => false,
      );
      if (byNewKey) reason = "key_not_accepted";
    }
    return { ...message, reason };
  }

  /**
   * My own envelope, verified: the end of my chain in the room if it is further on than the one this tab knew.
   * @param {RoomState} state
   * @param {Message} message
   */
  #extendChain(state, message) {
    const link = message.chain;
    if (link && (!state.chainEnd || link.seq > state.chainEnd.seq)) state.chainEnd = { seq: link.seq, hash: link.hash };
  }

  /**
   * The server says my chain in the room ends elsewhere than this tab thought (another tab of mine wrote, or this one
   * had not loaded my newest): follow on from the envelope it names, once it verifies as mine, signed with a key of
   * mine that was current when it was stored, and no further back than my newest this tab knows. A server that names
   * an older one, among those this tab does not know, makes me take a place twice, which every reader sees as a fork;
   * it cannot make me skip unseen.
   * @param {string} roomId
   * @param {any} latest my newest envelope in the room, as the server says; null: none yet
   */
  async #followOn(roomId, latest) {
    const state = this.state(roomId);
    const known = state.chainEnd;
    if (latest === null || latest === undefined) {
      if (known) throw new Error("The server denies your earlier messages in this room; nothing was sent.");
      return;
    }
    const me = (await this.trust.contacts([/** @type {number} */ (this.userId)])).get(/** @type {number} */ (this.userId));
    const opened = await this.open(roomId, latest, me ?? null);
    const link = opened.chain;
    const mine = latest.sender === this.userId && latest.room === roomId && link && opened.reason !== "retired_key";
    if (!mine || !link || link.seq >= Number.MAX_SAFE_INTEGER) {
      throw new Error("The server's account of your last message in this room does not verify; nothing was sent.");
    }
    if (known && (link.seq < known.seq || (link.seq === known.seq && link.hash !== known.hash))) {
      throw new Error("The server names an older message as your last in this room; nothing was sent.");
    }
    state.chainEnd = { seq: link.seq, hash: link.hash };
  }

  /**
   * Whether a message was sent before this account last reset its keys (the time its current key was accepted).
   * @param {number} sentAt
   */
  #beforeMyReset(sentAt) {
    const own = this.userId === null ? [] : this.trust.pins.keysOf(this.userId);
    return own.length > 1 && sentAt < Date.parse(/** @type {any} */ (own.at(-1)).accepted_at);
  }

  /**
   * A verified envelope against the room's roster: a v2 one must name a head of the chain and be wrapped for exactly
   * its members. (A message wrapped for an out-of-date list, or a v1 one after the room had a roster, is shown with a
   * warning: chat/timeline.js.)
   * @param {string} roomId
   * @param {any} env
   * @returns {Promise<Partial<Message>>}
   */
  async againstRoster(roomId, env) {
    if (!namesHead(env)) return { status: "sent" };
    const { reason } = await this.rosters.checkEnvelope(roomId, env, env.wrap_ids);
    return reason ? { status: "failed", reason } : { status: "sent" };
  }

  /** @param {string} roomId @param {any} env @param {string} signingKey */
  openWith(roomId, env, signingKey) {
    return openEnvelope(env, {
      myId: /** @type {number} */ (this.userId),
      agreementPrivateKey: this.keys.agreementPrivateKey,
      senderSigningPublicKey: signingKey,
      expectedRoom: roomId,
      expectedSender: env.sender,
    });
  }

  /** Open again what failed from this user (after their new key was accepted). @param {number} userId */
  async reopenFrom(userId) {
    const [contact] = (await this.trust.contacts([userId])).values();
    for (const [roomId, state] of this.rooms) {
      const failed = [...state.messages.values()].filter((m) => m.sender === userId && m.status === "failed");
      for (const message of failed) {
        const reopened = await this.open(roomId, message.envelope, contact ?? null);
        state.messages.set(reopened.key, reopened);
      }
      if (failed.length) this.emit("messages", { room: roomId });
    }
  }

  /**
   * Encrypt for the room's current members and send; shown as pending until the server acknowledges.
   * @param {string} roomId
   * @param {string} text
   */
  async send(roomId, text) {
    const state = this.state(roomId);
    const clientId = crypto.randomUUID();
    const key = messageKey(/** @type {number} */ (this.userId), clientId);
    const sentAt = Date.now();
    state.messages.set(key, {
      key,
      id: null,
      room: roomId,
      sender: /** @type {number} */ (this.userId),
      senderName: "you",
      sentAt,
      text,
      status: "pending",
      reason: null,
      verified: false,
      envelope: null,
    });
    this.emit("messages", { room: roomId });
    try {
      await this.sealAndSend(roomId, text, clientId, sentAt);
    } catch (error) {
      const message = state.messages.get(key);
      if (message && message.status === "pending") {
        state.messages.set(key, { ...message, status: "rejected", reason: describe(error) });
      }
      this.emit("messages", { room: roomId });
      throw error;
    }
  }

  /**
   * Send again the text of a message of mine that the server refused: the refused one leaves the room's messages and
   * the text goes out as a new message (a new client id, the next place in my chain). Nothing for any other message.
   * @param {string} roomId
   * @param {string} key the refused message's key
   */
  async retry(roomId, key) {
    const state = this.state(roomId);
    const refused = state.messages.get(key);
    if (!refused || refused.status !== "rejected" || refused.sender !== this.userId || refused.text === null) return;
    state.messages.delete(key);
    await this.send(roomId, refused.text);
  }

  /**
   * One send at a time per room, in the order made: each is sealed once the one before is stored (or refused), so it
   * takes the next place in my chain there, and messages are stored in the order they were written. (Sealed ahead,
   * a message would name a predecessor that a refusal could still replace.) Other rooms do not wait.
   * @param {string} roomId @param {string} text @param {string} clientId @param {number} sentAt
   */
  sealAndSend(roomId, text, clientId, sentAt) {
    const state = this.state(roomId);
    const turn = state.sending.then(() => this.#sendInTurn(roomId, text, clientId, sentAt));
    state.sending = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** My messages not yet stored (sent or waiting their turn), in every room. */
  waiting() {
    let count = 0;
    for (const state of this.rooms.values()) {
      for (const message of state.messages.values()) if (message.status === "pending") count += 1;
    }
    return count;
  }

  /** @param {string} roomId @param {string} text @param {string} clientId @param {number} sentAt */
  async #sendInTurn(roomId, text, clientId, sentAt) {
    for (let attempt = 1; ; attempt += 1) {
      const room = this.state(roomId).room;
      const { envelope, acked } = await this.seal(roomId, room, text, clientId, sentAt);
      try {
        const ack = await acked;
        // Our own broadcast may already have filed it; otherwise file it from what we sent. An ack can come before
        // the frame of an earlier commit to the room: the newest id moves on with the room's frames, not with acks.
        const stored = { ...envelope, id: ack.id, server_time: new Date().toISOString() };
        await this.onEnvelopes(roomId, [stored], { advance: false });
        return;
      } catch (error) {
        const refused = error instanceof SocketError ? error.code : null;
        if (!RESEAL_ON.has(refused ?? "") || attempt >= RESEAL_ATTEMPTS) throw error;
        if (refused === "chain_changed") await this.#followOn(roomId, /** @type {SocketError} */ (error).frame.latest);
        else await this.reread(roomId, room, /** @type {SocketError} */ (error));
      }
    }
  }

  /**
   * The server refused a send because the room changed: read the roster again (comparing the server's list with
   * it), or, for a room from before rosters, take the list the server gave. The refusal never adds a recipient to a
   * room with a roster: only the verified chain does.
   * @param {string} roomId @param {Room} room @param {SocketError} error
   */
  async reread(roomId, room, error) {
    if (room.roster === null || room.roster === undefined) {
      if (error.code === "members_changed") this.upsertRoom({ ...room, members: error.frame.members });
      this.emit("room", { id: roomId });
      return;
    }
    if (error.code === "members_changed") {
      await this.rosters.checkServerMembers(roomId, error.frame.members.map((/** @type {Member} */ m) => m.id));
    }
    await this.rosters.refresh(roomId);
  }

  /**
   * Seal the text for the room's members — the verified roster's, or for a room from before rosters the server's
   * list — with their pinned keys, and hand it to the socket.
   * @param {string} roomId @param {any} room @param {string} text @param {string} clientId @param {number} sentAt
   * @returns {Promise<{envelope: any, acked: Promise<any>}>} the envelope, and its ack to come
   */
  async seal(roomId, room, text, clientId, sentAt) {
    const signed = await this.rosters.recipients(roomId);
    if (!signed && !this.usableUnsigned(roomId)) throw new RosterBlocked(UNPROVEN_LEGACY);
    const ids = signed ? signed.members : room.members.map((/** @type {Member} */ m) => m.id);
    const end = this.state(roomId).chainEnd;
    const envelope = await sealEnvelope({
      room: roomId,
      senderId: /** @type {number} */ (this.userId),
      clientId,
      sentAt,
      text,
      recipients: await this.trust.recipients(ids),
      signingPrivateKey: this.keys.signingPrivateKey,
      roster: signed ? signed.head : null,
      keyVersion: this.keys.identity?.key_version ?? 1,
      chain: end ? { seq: end.seq + 1, prev: end.hash } : { seq: 1, prev: null },
    });
    return { envelope, acked: this.socket.sendEnvelope(roomId, envelope) };
  }

  /** @param {string} roomId */
  typing(roomId) {
    const now = Date.now();
    if (now - (this.lastTyping.get(roomId) ?? 0) < TYPING_EVERY_MS) return;
    this.lastTyping.set(roomId, now);
    this.socket.notify({ op: "typing", room: roomId });
  }

  /**
   * The conversation as shown: messages and the roster's lines (who added, removed, joined), in order.
   * @param {string} roomId
   * @returns {import("./timeline.js").Item[]}
   */
  timeline(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) return [];
    const steps = this.rosters.rooms.get(roomId)?.steps ?? [];
    const { reachedStart, oldestId } = state;
    return timeline({ messages: this.messages(roomId), steps, reachedStart, oldestId, keyChanges: this.keyChanges(state.room) });
  }

  /**
   * Every key of the room's other members this account accepted in place of an older one: each stays a line of the
   * conversation ("bob's key changed"), in every browser of the account (the pins are in its trust store).
   * @param {Room} room
   * @returns {import("./timeline.js").KeyChange[]}
   */
  keyChanges(room) {
    return this.members(room)
      .filter((member) => member.id !== this.userId)
      .flatMap((member) =>
        this.trust.pins
          .keysOf(member.id)
          .slice(1)
          .map((key) => ({ user: member.id, at: Date.parse(key.accepted_at), keyVersion: key.key_version })),
      );
  }

  /** @param {string} roomId @returns {Message[]} oldest first; pending ones last */
  messages(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) return [];
    return [...state.messages.values()].sort(inOrder);
  }

  /** The room's last message in `messages` order, without sorting them all. @param {string} roomId */
  latestMessage(roomId) {
    /** @type {Message | null} */
    let last = null;
    for (const message of this.rooms.get(roomId)?.messages.values() ?? []) {
      if (!last || inOrder(message, last) > 0) last = message;
    }
    return last;
  }

  /** @param {unknown} error */
  report(error) {
    this.emit("problem", { message: describe(error) });
  }

  /** @param {string} type @param {any} detail */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** The order of a room's messages: by the server's id, those without one (pending) last, then by sent time. */
function inOrder(/** @type {Message} */ a, /** @type {Message} */ b) {
  return (a.id ?? Number.MAX_SAFE_INTEGER) - (b.id ?? Number.MAX_SAFE_INTEGER) || a.sentAt - b.sentAt;
}

/** @param {number} sender @param {string} clientId */
function messageKey(sender, clientId) {
  return `${sender}:${clientId}`;
}

/** Whether an envelope names a roster head (v2, and v3 outside rooms from before rosters). @param {any} env */
function namesHead(env) {
  return env.roster_seq !== undefined && env.roster_seq !== null;
}

/**
 * Whether `key` was retired before the envelope was stored: the key accepted after it (a newer version: pins.js never
 * accepts an older one) was accepted by then. When it was stored is the server's word, but a message it places
 * later than that cannot pass for the sender's; one it places earlier sits among what the old key could sign anyway
 * (docs/TRUST.md).
 * @param {import("../trust/pins.js").PinnedKey} key the accepted key the envelope verified under
 * @param {import("../trust/pins.js").PinnedKey[]} accepted oldest first
 * @param {any} env
 */
function retired(key, accepted, env) {
  const newer = accepted[accepted.indexOf(key) + 1];
  if (!newer) return false;
  // A missing or unreadable time is no alibi.
  return !(Date.parse(env.server_time) < Date.parse(newer.accepted_at));
}

/**
 * A v3 envelope's place in its sender's chain, and the hash the next one names.
 * @param {any} env
 * @returns {Promise<Link | undefined>}
 */
async function chainLink(env) {
  if (env.v !== 3) return undefined;
  return { seq: env.chain_seq, prev: env.chain_prev, hash: await envelopeHash(env), keyVersion: env.key_version };
}

/** @param {unknown} error */
function describe(error) {
  if (error instanceof Error) return error.message;
  return String(error);
}
