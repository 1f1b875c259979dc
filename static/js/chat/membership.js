// @ts-check
// Changing who is in a room, as signed roster entries made here (docs/PROTOCOL.md, "What each change may do"):
// creating rooms and direct conversations, adding, removing, leaving, roles, handing a room on, renaming, invite
// links, and signing the member list of a room from before rosters. The server stores what this browser signs; it
// cannot make any of these changes itself.

import { linkKeyPair, linkSecretText, newLinkSecret, toBase64 } from "../crypto/index.js";
import { MAX_NAME } from "../crypto/meta.js";
import { getJson, postJson } from "../net/api.js";
import { memberIds } from "../roster/chain.js";
import { UNPROVEN_LEGACY } from "./client.js";

/**
 * @typedef {import("./client.js").ChatClient} ChatClient
 * @typedef {import("../roster/chain.js").RosterState} RosterState
 */

export class Membership {
  /** @param {ChatClient} client */
  constructor(client) {
    this.client = client;
  }

  get rosters() {
    return this.client.rosters;
  }

  /** @returns {number} */
  get me() {
    return /** @type {number} */ (this.client.userId);
  }

  /** My own key version, as the roster names it. */
  get myKey() {
    return this.rosters.options.me.keyVersion;
  }

  /**
   * A new group room, named and owned by me; with `link`, open to anyone holding its invite link.
   * @param {{name: string, link?: boolean}} options
   * @returns {Promise<string>} the room's id
   */
  async createRoom({ name, link = false }) {
    const roomName = name.trim().replace(/\s+/g, " ");
    if (!roomName) throw new Error("A room needs a name.");
    const roomId = crypto.randomUUID();
    const secret = link ? newLinkSecret() : null;
    const linkKey = secret ? toBase64((await linkKeyPair(secret)).publicRaw) : "";
    await this.rosters.change(
      roomId,
      { op: "create", kind: "group", members: [[this.me, this.myKey]], link: linkKey },
      { meta: () => ({ name: roomName, topic: "", link: secret }) },
    );
    this.#placeholder(roomId, "group");
    return roomId;
  }

  /**
   * The direct conversation with this person: the one we have, or a new one of exactly us two.
   * @param {string} username
   * @returns {Promise<string>} the room's id
   */
  async openDirect(username) {
    const other = await this.lookup(username);
    if (other.id === this.me) throw new Error("A direct conversation needs someone else.");
    for (const { room } of this.client.rooms.values()) {
      if (room.kind !== "direct" || !this.client.members(room).some((m) => m.id === other.id)) continue;
      await this.rosters.settled(room.id);
      const status = this.rosters.rooms.get(room.id)?.status;
      // Only a signed conversation of the two of us; one from before rosters is signed first.
      if (status === "ok" || (status === "legacy" && (await this.signLegacy(room.id)))) return room.id;
    }
    const roomId = crypto.randomUUID();
    const members = /** @type {[number, number][]} */ (
      [[this.me, this.myKey], [other.id, other.keyVersion]].sort((a, b) => a[0] - b[0])
    );
    try {
      await this.rosters.change(roomId, { op: "create", kind: "direct", members }, { meta: () => ({ name: "", topic: "", link: null }) });
    } catch (error) {
      // We share one already, which this tab had not heard of yet.
      const existing = /** @type {any} */ (error)?.frame?.room;
      if (/** @type {any} */ (error)?.code !== "conflict" || typeof existing !== "string") throw error;
      // One they asked me for (maybe declined): opening it is accepting it.
      if (!this.client.rooms.has(existing)) await this.client.invitations.accept(existing);
      return existing;
    }
    this.#placeholder(roomId, "direct");
    return roomId;
  }

  /** @param {string} roomId @param {string} username */
  async add(roomId, username) {
    const member = await this.lookup(username);
    await this.#signed(roomId);
    await this.rosters.change(roomId, { op: "add", members: [[member.id, member.keyVersion]] });
  }

  /**
   * Remove a member. They could read the invite link while they were in the room, so an open link is replaced in
   * the same entry: the old one would let them straight back in.
   * @param {string} roomId @param {number} memberId
   */
  async remove(roomId, memberId) {
    await this.#signed(roomId);
    const change = { op: /** @type {const} */ ("remove"), members: [this.#held(roomId, memberId)] };
    if (!this.rosters.rooms.get(roomId)?.state?.link) {
      await this.rosters.change(roomId, change);
      return;
    }
    const secret = newLinkSecret();
    const { publicRaw } = await linkKeyPair(secret);
    await this.rosters.change(roomId, { ...change, link: toBase64(publicRaw) }, { meta: (current) => ({ ...current, link: secret }) });
  }

  /**
   * Leave the room, and forget it here; an owner who is not the last member hands it to the longest-standing member
   * who accepted first (or, if nobody has, takes back the invitations).
   * @param {string} roomId
   */
  async leave(roomId) {
    await this.#leave(roomId);
    this.client.forget(roomId);
  }

  /** @param {string} roomId */
  async #leave(roomId) {
    const state = this.rosters.rooms.get(roomId)?.state;
    if (!state) {
      // A room from before rosters: leaving needs no signature there.
      await postJson(`/api/rooms/${roomId}/leave`);
      return;
    }
    const { heir, others } = this.leavePlan(roomId);
    if (heir !== null) await this.handOver(roomId, heir);
    else for (const id of others) await this.remove(roomId, id);
    await this.rosters.change(roomId, { op: "leave", members: [[this.me, this.myKey]] });
  }

  /**
   * What my leaving does besides: as the owner of a room with others in it, it goes to `heir`, the longest-standing
   * member who accepted; if nobody has, the invitations of `others` are taken back first (the room then has nobody).
   * @param {string} roomId
   * @returns {{heir: number | null, others: number[]}} `others`: whom to remove before leaving (none unless so)
   */
  leavePlan(roomId) {
    const state = this.rosters.rooms.get(roomId)?.state;
    if (!state || state.owner !== this.me || state.members.size <= 1) return { heir: null, others: [] };
    // Only someone who accepted can be handed the room; invitations nobody answered are taken back.
    const served = this.client.rooms.get(roomId)?.room.members ?? [];
    const invited = new Set(served.filter((m) => m.pending).map((m) => m.id));
    const others = [...state.members.entries()].filter(([id]) => id !== this.me);
    const [heir] = others.filter(([id]) => !invited.has(id)).sort(([a, x], [b, y]) => x.since - y.since || a - b);
    return heir ? { heir: heir[0], others: [] } : { heir: null, others: others.map(([id]) => id) };
  }

  /**
   * Rename a group room: a signed `rename` whose new name is sealed for its members, as its creation sealed the
   * first. The same rules as a new room's name (1 to 80 characters, spaces collapsed).
   * @param {string} roomId @param {string} name
   * @returns {Promise<boolean>} false when the name is the one it has (nothing is signed)
   */
  async rename(roomId, name) {
    const roomName = name.trim().replace(/\s+/g, " ");
    if (!roomName) throw new Error("A room needs a name.");
    if (roomName.length > MAX_NAME) {
      throw new Error(`A room's name is at most ${MAX_NAME} characters; this one has ${roomName.length}.`);
    }
    if (!this.mayRename(roomId)) throw new Error("Only the room's owner or an admin can rename it.");
    if (this.rosters.rooms.get(roomId)?.meta?.name === roomName) return false;
    await this.rosters.change(roomId, { op: "rename" }, { meta: (current) => ({ ...current, name: roomName }) });
    return true;
  }

  /**
   * Whether I may rename the room: a group room with a signed member list, which I own or am an admin of.
   * @param {string} roomId
   */
  mayRename(roomId) {
    return this.rosters.rooms.get(roomId)?.status === "ok" && this.manages(roomId);
  }

  /** @param {string} roomId @param {number} memberId @param {"admin" | "member"} role */
  async setRole(roomId, memberId, role) {
    await this.#signed(roomId);
    await this.rosters.change(roomId, { op: "role", members: [this.#held(roomId, memberId)], role });
  }

  /** @param {string} roomId @param {number} memberId */
  async handOver(roomId, memberId) {
    await this.#signed(roomId);
    await this.rosters.change(roomId, { op: "owner", members: [this.#held(roomId, memberId)] });
  }

  /**
   * Open the invite link, or replace it with a new one (the old one stops working).
   * @param {string} roomId
   * @returns {Promise<string>} the new link
   */
  async openLink(roomId) {
    await this.#signed(roomId);
    const secret = newLinkSecret();
    const { publicRaw } = await linkKeyPair(secret);
    await this.rosters.change(roomId, { op: "link", link: toBase64(publicRaw) }, { meta: (current) => ({ ...current, link: secret }) });
    return this.#url(secret);
  }

  /** @param {string} roomId */
  async closeLink(roomId) {
    await this.rosters.change(roomId, { op: "link", link: "" }, { meta: (current) => ({ ...current, link: null }) });
  }

  /**
   * Someone's new key is accepted: the names of the group rooms we share were sealed for their old one, so seal
   * them again for it, one room after another.
   * @param {number} userId
   * @param {(error: unknown) => void} onError told of each room that could not be sealed again; the others still are
   */
  async resealFor(userId, onError) {
    for (const { room } of this.client.rooms.values()) {
      const roster = this.rosters.rooms.get(room.id);
      if (room.kind !== "group" || roster?.status !== "ok" || !roster.state?.members.has(userId)) continue;
      await this.reseal(room.id).catch(onError);
    }
  }

  /**
   * Seal the room's name again for every member's current keys (after someone's key reset, their old keys cannot
   * read it): any member may, and nothing else changes.
   * @param {string} roomId
   */
  async reseal(roomId) {
    await this.rosters.change(roomId, { op: "reseal" });
  }

  /** @param {string} roomId @returns {string | null} the open invite link, as its members can read it */
  inviteUrl(roomId) {
    const secret = this.rosters.rooms.get(roomId)?.meta?.link;
    return secret ? this.#url(secret) : null;
  }

  /**
   * A room from before rosters gets one from its owner's browser (either person's, for a direct conversation): the
   * members it has now, with their keys pinned here on first sight, and the name the server still holds.
   * @param {string} roomId
   * @returns {Promise<boolean>} whether this browser signed it
   */
  async signLegacy(roomId) {
    const room = this.client.rooms.get(roomId)?.room;
    const roster = this.rosters.rooms.get(roomId);
    if (!room || roster?.status !== "legacy" || roster.wasSigned || !this.maySignLegacy(roomId)) return false;
    // Only a room its history shows to be from before rosters: never a list the server made up.
    await this.client.openRoom(roomId);
    if (!this.client.usableUnsigned(roomId)) throw new Error(UNPROVEN_LEGACY);
    const contacts = await this.client.trust.contacts(room.members.map((m) => m.id));
    const members = /** @type {[number, number][]} */ ([]);
    for (const { id } of room.members) {
      const contact = contacts.get(id);
      if (contact?.status !== "trusted" || !contact.served) return false; // a key to review first
      members.push([id, contact.served.key_version]);
    }
    members.sort((a, b) => a[0] - b[0]);
    const kind = /** @type {"group" | "direct"} */ (room.kind);
    await this.rosters.change(roomId, { op: "create", kind, members }, { meta: () => ({ name: room.name ?? "", topic: "", link: null }) });
    return true;
  }

  /**
   * Whether I may add and remove members here: a group room's owner, or an admin the roster made.
   * @param {string} roomId
   */
  manages(roomId) {
    const room = this.client.rooms.get(roomId)?.room;
    if (room?.kind !== "group") return false;
    const state = this.rosters.rooms.get(roomId)?.state;
    if (!state) return room.owner === this.me;
    return state.owner === this.me || state.members.get(this.me)?.role === "admin";
  }

  /**
   * Whether I may sign this room's member list: a group room's owner, either person of a direct conversation.
   * @param {string} roomId
   */
  maySignLegacy(roomId) {
    const room = this.client.rooms.get(roomId)?.room;
    if (!room) return false;
    return room.kind === "direct" ? room.members.some((m) => m.id === this.me) : room.owner === this.me;
  }

  /**
   * Someone by name, with their keys checked and pinned here (trust on first use).
   * @param {string} username
   * @returns {Promise<{id: number, keyVersion: number}>}
   */
  async lookup(username) {
    const name = username.trim();
    if (!name) throw new Error("Enter a username.");
    const served = await this.client.trust.directory.named(name);
    const known = this.client.trust.pins.idOfUsername(name);
    if (known !== null && known !== String(served.id)) {
      throw new Error(`The server answers for ${name} with another account than the ${name} you know. Nothing was done.`);
    }
    const contact = await this.client.trust.one(served.id);
    if (contact.status === "changed") throw new Error(`${contact.username}'s key changed. Review it first.`);
    if (contact.status !== "trusted" || !contact.served) throw new Error(`${name} has no valid keys.`);
    // The account found must be the one of that name (its pinned name): never someone else this browser knows.
    if (contact.username.toLowerCase() !== name.toLowerCase()) {
      throw new Error(`The server answers for ${name} with ${contact.username}'s account. Nothing was done.`);
    }
    this.client.names.set(contact.id, contact.username);
    return { id: contact.id, keyVersion: contact.served.key_version };
  }

  /** A room from before rosters is signed by its owner before its first change. @param {string} roomId */
  async #signed(roomId) {
    await this.rosters.settled(roomId);
    if (this.rosters.rooms.get(roomId)?.status === "legacy") await this.signLegacy(roomId);
  }

  /** @param {string} roomId @param {number} memberId @returns {[number, number]} the member with the key version the roster holds */
  #held(roomId, memberId) {
    const state = /** @type {RosterState | null} */ (this.rosters.rooms.get(roomId)?.state ?? null);
    const info = state?.members.get(memberId);
    if (!state || !info) throw new Error("Not a member of this room's signed list.");
    return [memberId, info.key];
  }

  /**
   * The room as this tab knows it until the server's own `room` frame arrives.
   * @param {string} roomId @param {"group" | "direct"} kind
   */
  #placeholder(roomId, kind) {
    if (this.client.rooms.has(roomId)) return;
    const state = /** @type {RosterState} */ (this.rosters.rooms.get(roomId)?.state);
    this.client.upsertRoom({
      id: roomId,
      name: null,
      kind,
      policy: state.link ? "link" : "invite",
      owner: state.owner,
      members: memberIds(state).map((id) => ({ id, username: this.client.nameOf(id) })),
      joined_after: 0,
      roster: { seq: state.seq, hash: state.hash },
    });
  }

  /** @param {Uint8Array} secret */
  #url(secret) {
    return `${location.origin}/join/#${linkSecretText(secret)}`;
  }
}

