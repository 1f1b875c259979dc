// @ts-check
// Invitations waiting for my answer: rooms someone added me to, and direct conversations someone asked me for
// (SECURITY.md, "Invitations"). The server keeps them apart from my rooms and sends me nothing of them until I
// accept. What this browser shows of one — the room's name, who invited me — is read from its signed roster, never
// from the server's word; declining a group invitation is my own signed `leave`.

import { postJson } from "../net/api.js";
import { SocketError } from "../net/socket.js";

/**
 * What of the chat client this needs (not an import of client.js, which owns this: the static files' manifest
 * cannot hash two modules that name each other).
 * @typedef {{id: string, kind: string, members: {id: number, pending?: true}[], roster?: {seq: number, hash: string}
 *   | null, invited_by?: number}} Room as `room_json` has it
 * @typedef {{userId: number | null, rooms: Map<string, unknown>, rosters: import("../roster/book.js").RosterBook,
 *   socket: {request: (frame: object) => Promise<any>}, learnNames: (ids: number[]) => Promise<void>,
 *   report: (error: unknown) => void, emit: (type: string, detail: any) => void, upsertRoom: (room: any) => unknown}}
 *   ChatClient
 */

export class Invitations {
  /** @param {ChatClient} client */
  constructor(client) {
    this.client = client;
    /** @type {Map<string, Room>} by room id, as the server lists them */
    this.rooms = new Map();
  }

  /**
   * Read them again, page by page like my rooms: after each `ready` (the socket, in my user's group by then, misses
   * none that come later). Only once the last page came are those no page named dropped.
   */
  async load() {
    /** @type {Set<string>} */
    const listed = new Set();
    let after = 0;
    for (;;) {
      let page;
      try {
        page = await this.client.socket.request({ op: "invitations", after });
      } catch (error) {
        if (error instanceof SocketError && error.code === "offline") return; // the next `ready` reads them again
        throw error;
      }
      for (const room of page.rooms) {
        listed.add(room.id);
        this.#take(room);
      }
      this.#changed();
      if (!page.more) break;
      after = page.after;
    }
    for (const id of [...this.rooms.keys()]) if (!listed.has(id)) this.#drop(id);
    this.#changed();
  }

  /** An `invitation` frame: one `added`, or one `removed` (taken back, declined, or accepted in another tab). @param {any} frame */
  onFrame(frame) {
    if (frame.event === "added") this.#take(frame.room);
    else this.#drop(frame.room.id);
    this.#changed();
  }

  /**
   * Who invited me, by the signed roster: the actor of the latest entry that put me on it (null until it verified).
   * @param {string} roomId
   * @returns {number | null}
   */
  inviterOf(roomId) {
    const me = this.client.userId;
    const steps = this.client.rosters.rooms.get(roomId)?.steps ?? [];
    for (let index = steps.length - 1; index >= 0; index--) {
      const body = steps[index]?.entry.body;
      if (!body) continue;
      if ((body.op === "add" || body.op === "create") && body.members.some(([id]) => id === me)) return body.actor;
    }
    return null;
  }

  /**
   * Accept: the room is mine from now on, listed with the rest.
   * @param {string} roomId
   */
  async accept(roomId) {
    // What I accept is the room as I saw it: if its roster moved on since, the server refuses, and I look again.
    const seen = this.client.rosters.rooms.get(roomId)?.state;
    let room;
    try {
      ({ room } = await postJson(`/api/rooms/${roomId}/accept`, seen ? { roster: { seq: seen.seq, hash: seen.hash } } : {}));
    } catch (error) {
      if (/** @type {any} */ (error)?.code !== "roster_changed") throw error;
      this.client.rosters.refresh(roomId).catch((problem) => this.client.report(problem));
      throw new Error("The room changed since you saw this invitation (members or name): look at it again, then accept.");
    }
    this.rooms.delete(roomId);
    this.client.upsertRoom(room);
    this.client.emit("rooms", null);
    this.#changed();
  }

  /**
   * Decline: a group invitation with my signed `leave` (its members' browsers take me off its list); a direct
   * request on the server (a direct room's roster never changes), which keeps the requester from asking again.
   * @param {string} roomId
   */
  async decline(roomId) {
    const room = this.rooms.get(roomId);
    if (room?.kind === "direct") {
      await postJson(`/api/rooms/${roomId}/decline`);
    } else {
      const rosters = this.client.rosters;
      await rosters.settled(roomId);
      const myKey = rosters.options.me.keyVersion;
      await rosters.change(roomId, { op: "leave", members: [[/** @type {number} */ (this.client.userId), myKey]] });
    }
    this.#drop(roomId);
    this.#changed();
  }

  /** @param {Room} room */
  #take(room) {
    if (this.client.rooms.has(room.id)) return;
    const served = { ...room, roster: room.roster ?? null };
    this.rooms.set(room.id, served);
    const ids = served.members.map((m) => m.id);
    this.client.learnNames(ids).catch((error) => this.client.report(error));
    this.client.rosters
      .sync(room.id, { roster: served.roster, members: ids, kind: served.kind })
      .catch((error) => this.client.report(error));
  }

  /** @param {string} roomId */
  #drop(roomId) {
    this.rooms.delete(roomId);
    if (!this.client.rooms.has(roomId)) this.client.rosters.forget(roomId);
  }

  #changed() {
    this.client.emit("invitations", null);
  }
}
