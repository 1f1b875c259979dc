// @ts-check
// Trust on first use: every identity the browser sees is pinned; a different key later is "changed" until the
// user accepts it. The pins live on the server sealed under the account key (AAD securechat/trust/v1|<username>,
// docs/ACCOUNTS.md), so the server can neither read nor edit them, and a new login keeps them. The sealed store
// names its owner's id and carries a counter raised by every write; each browser keeps the highest counter it has
// opened (seen.js), so the server can neither empty the store, nor swap in another's, nor serve an older copy to a
// browser that saw a newer one (docs/TRUST.md). Two tabs writing at once are reconciled by the server's version
// check: on 409 conflict the tab reloads, merges and retries.

import { IntegrityError, openJson, sealJson } from "../crypto/aead.js";
import { fromBase64 } from "../crypto/encoding.js";
import { verifyAgreementKey } from "../crypto/identity.js";
import { aadTrust } from "../crypto/labels.js";
import { ApiError, getJson, request } from "../net/api.js";
import { SeenCounter, SeenError } from "./seen.js";

export { aadTrust };

export const TRUST_PATH = "/api/accounts/trust";
export const TRUST_STORE_VERSION = 2;
/** The format before the counter and the owner: opened once more, and written back as the current one. */
const LEGACY_TRUST_STORE_VERSION = 1;
/** Retries after a 409 conflict before save() gives up and rethrows it. */
export const MAX_CONFLICT_RETRIES = 3;

const PUBLIC_KEY_BYTES = 32;

/**
 * @typedef {{signing_public_key: string, agreement_public_key: string, key_version: number,
 *            accepted_at: string}} PinnedKey accepted_at is an ISO 8601 UTC timestamp
 * @typedef {{username: string, keys: PinnedKey[], verified: boolean}} Pin keys oldest first; the last is current
 * @typedef {{seq: number, hash: string}} RoomHead the newest roster entry verified for a room
 * @typedef {{v: 2, owner: string, counter: number, pins: Record<string, Pin>, rooms?: Record<string, RoomHead>}}
 *   TrustState `owner`: the account's user id; `counter`: raised by every write; `rooms`: every room whose signed
 *   roster this account verified, with the newest head (so any of its browsers catches a room served shorter, forked
 *   or without its roster)
 * @typedef {{id: number | string, username: string, signing_public_key: string,
 *            agreement_public_key: string, agreement_signature?: string, key_version: number}} PublicIdentity
 *   as served by the key directory (GET /api/keys?ids=…)
 * @typedef {{iv: string, ciphertext: string}} Sealed
 * @typedef {(path: string) => Promise<any>} FetchJson
 * @typedef {(path: string, body: unknown) => Promise<any>} PutJson
 * @typedef {{accountKey: CryptoKey, username: string, ownerId: number | string, fetchJson?: FetchJson,
 *            putJson?: PutJson, now?: () => number, keyVersion?: number,
 *            seenBackend?: import("./seen.js").SeenBackend}} PinsOptions
 *   ownerId: the account's user id, which the store must name; keyVersion: the owner's key version these pins are
 *   sealed for; the server refuses a write for another (a tab still open from before a key reset would otherwise
 *   seal pins under the old account key); seenBackend: where this browser keeps the highest counter it opened
 *   (IndexedDB unless told).
 */

/**
 * The trust store the server serves cannot be used: none at all, one that does not open, another account's, or
 * one older than this browser has seen. Pinning on from it would be a silent first sight of every contact.
 * `problem`: "missing" | "tampered" | "foreign" | "older" | "malformed".
 */
export class TrustStoreError extends IntegrityError {
  /**
   * @param {"missing" | "tampered" | "foreign" | "older" | "malformed"} problem
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(problem, message, options) {
    super(message, options);
    this.name = "TrustStoreError";
    this.problem = problem;
  }
}

/** A pin operation that does not fit the pinned state, e.g. marking a key verified that is not the pinned one. */
export class PinError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "PinError";
  }
}

/** @type {PutJson} */
const defaultPutJson = (path, body) => request(/** @type {any} */ ("PUT"), path, body);

export class Pins {
  /** @type {CryptoKey} */ #accountKey;
  /** @type {string} */ #username;
  /** @type {FetchJson} */ #fetchJson;
  /** @type {PutJson} */ #putJson;
  /** @type {() => number} */ #now;
  /** @type {number | undefined} */ #keyVersion;
  /** @type {string} */ #owner;
  /** @type {SeenCounter} */ #seen;
  /** @type {TrustState} */ #state;
  /** Server version of the blob this state was last read from or written as. */
  #version = 0;
  /** @type {Promise<void>} saves and refreshes run one after another, so a tab never conflicts with itself */
  #saving = Promise.resolve();

  /** @param {PinsOptions} options */
  constructor({ accountKey, username, ownerId, fetchJson = getJson, putJson = defaultPutJson, now = Date.now, keyVersion, seenBackend }) {
    aadTrust(username); // refuses an empty username now rather than at the first save
    this.#owner = userKey(ownerId);
    this.#state = emptyState(this.#owner);
    this.#seen = new SeenCounter({ accountKey, username, owner: this.#owner, keyVersion, backend: seenBackend });
    this.#accountKey = accountKey;
    this.#username = username;
    this.#fetchJson = fetchJson;
    this.#putJson = putJson;
    this.#now = now;
    this.#keyVersion = keyVersion;
  }

  /**
   * Reads and opens the account's sealed pins. A store in the format from before counters is written back at once
   * in the current one.
   * @param {PinsOptions} options
   * @returns {Promise<Pins>}
   * @throws {TrustStoreError} none served, or it does not open under this account key and username, names another
   *   owner, or is older than one this browser opened: the server emptied, changed, swapped or replayed it
   * @throws {ApiError} the request failed
   */
  static async load(options) {
    const pins = new Pins(options);
    const { version, state, legacy } = await pins.#read();
    pins.#version = version;
    pins.#state = state;
    if (legacy) await pins.save();
    return pins;
  }

  /**
   * The store of a new account: empty, counter 1, written once (sign-up). Refused by the server if one exists.
   * @param {PinsOptions} options
   * @returns {Promise<Pins>}
   */
  static async create(options) {
    const pins = new Pins(options);
    await pins.save();
    return pins;
  }

  /**
   * These pins, sealed as the store of the same account under another account key (a key reset makes a new one):
   * the counter goes on, so no browser takes the new store for an older one. `owner`: the owner's new identity,
   * accepted in the sealed copy, so their own old key stays pinned (their old messages still verify) and their new
   * one is current (no "your key changed" to themselves).
   * @param {CryptoKey} accountKey
   * @param {{owner?: PublicIdentity}} [options]
   * @returns {Promise<Sealed>}
   */
  async sealedFor(accountKey, { owner } = {}) {
    const counter = await this.#nextCounter();
    const pins = { ...this.#state.pins };
    if (owner) pins[userKey(owner.id)] = withAccepted(pins[userKey(owner.id)], await this.#keyOf(owner), owner.username);
    return sealJson(accountKey, { ...this.#state, pins, counter }, aadTrust(this.#username));
  }

  /** The account's user id, which its store must name. */
  get ownerId() {
    return Number(this.#owner);
  }

  /** Server version of the last blob read or written (0: none yet). */
  get version() {
    return this.#version;
  }

  /** @returns {string[]} ids of every pinned user */
  userIds() {
    return Object.keys(this.#state.pins);
  }

  /**
   * @param {PublicIdentity} identity
   * @returns {"new" | "same" | "changed"} "same" only when username (without regard to case), both
   *   keys and key version equal the CURRENT pin; a return to an older accepted key is "changed"
   */
  check(identity) {
    const pin = this.#state.pins[userKey(identity.id)];
    if (!pin) return "new";
    return sameKeys(pin, identity) ? "same" : "changed";
  }

  /**
   * @param {number | string} userId
   * @returns {PinnedKey | null} a copy of the current pinned keys
   */
  current(userId) {
    const pin = this.#state.pins[userKey(userId)];
    return pin ? { ...pin.keys[pin.keys.length - 1] } : null;
  }

  /**
   * @param {number | string} userId
   * @returns {string[]} every signing key ever accepted for this user, oldest first (to verify old messages)
   */
  acceptedSigningKeys(userId) {
    const pin = this.#state.pins[userKey(userId)];
    return pin ? pin.keys.map((k) => k.signing_public_key) : [];
  }

  /**
   * @param {number | string} userId
   * @returns {PinnedKey[]} copies of every key accepted for this user, oldest first
   */
  keysOf(userId) {
    const pin = this.#state.pins[userKey(userId)];
    return pin ? pin.keys.map((k) => ({ ...k })) : [];
  }

  /**
   * @param {string} username
   * @returns {string | null} the id of the user pinned under this name (without regard to case), if any
   */
  idOfUsername(username) {
    const name = String(username).toLowerCase();
    for (const [id, pin] of Object.entries(this.#state.pins)) if (pin.username.toLowerCase() === name) return id;
    return null;
  }

  /** @param {number | string} userId @returns {string | null} the username pinned with this user's keys */
  usernameOf(userId) {
    return this.#state.pins[userKey(userId)]?.username ?? null;
  }

  /**
   * @param {string} roomId
   * @returns {RoomHead | null} the newest roster head this account verified for the room
   */
  roomHead(roomId) {
    const head = this.#state.rooms?.[roomId];
    return head ? { ...head } : null;
  }

  /**
   * Remember a verified roster head, if newer than the one recorded.
   * @param {string} roomId
   * @param {RoomHead} head
   * @returns {Promise<void>}
   */
  async recordRoomHead(roomId, head) {
    const known = this.#state.rooms?.[roomId];
    if (known && known.seq >= head.seq) return;
    this.#state.rooms = { ...this.#state.rooms, [roomId]: { seq: head.seq, hash: head.hash } };
    await this.save();
  }

  /**
   * @param {number | string} userId
   * @returns {boolean}
   */
  isVerified(userId) {
    return this.#state.pins[userKey(userId)]?.verified === true;
  }

  /**
   * First sight: records the identity and saves. Already pinned with the same keys: nothing to do.
   * @param {PublicIdentity} identity
   * @returns {Promise<void>}
   * @throws {PinError} the user is pinned with other keys (use accept), or the agreement key is not
   *   signed by the signing key
   */
  async pin(identity) {
    const key = await this.#keyOf(identity);
    const status = this.check(identity);
    if (status === "same") return;
    if (status === "changed") throw new PinError(`${identity.username} is pinned with other keys: accept them first`);
    // Checked after the await above: another first sight may have pinned this name for another id meanwhile.
    const holder = this.idOfUsername(identity.username);
    if (holder !== null && holder !== userKey(identity.id)) {
      throw new PinError(`${identity.username} is pinned for another account`);
    }
    this.#state.pins[userKey(identity.id)] = { username: identity.username, keys: [key], verified: false };
    await this.save();
  }

  /**
   * The user accepts a changed key: it becomes current, the old ones stay (for old messages), and
   * the user is no longer verified. Also pins an identity not seen before.
   * @param {PublicIdentity} identity
   * @returns {Promise<void>}
   * @throws {PinError} the agreement key is not signed by the signing key, or the identity comes under another name
   *   than the one pinned for it, or under a name pinned for someone else (usernames never change), or its key
   *   version is not newer than the accepted one (a key is never rolled back to an older, perhaps stolen, one)
   */
  async accept(identity) {
    const key = await this.#keyOf(identity);
    const id = userKey(identity.id);
    const pinnedName = this.#state.pins[id]?.username;
    const holder = this.idOfUsername(identity.username);
    if ((pinnedName && pinnedName.toLowerCase() !== identity.username.toLowerCase()) || (holder && holder !== id)) {
      throw new PinError(`${identity.username} is pinned for another account, or user ${id} under another name`);
    }
    const status = this.check(identity);
    if (status === "same") return;
    const accepted = this.#state.pins[id]?.keys ?? [];
    const current = accepted.at(-1);
    // The version is the server's word, so a key accepted before comes back under no label: a retired (perhaps
    // stolen) key served again as "newer" is as much a roll-back as an older version.
    const reused = accepted.some(
      (k) => k.signing_public_key === key.signing_public_key || k.agreement_public_key === key.agreement_public_key,
    );
    if (current && (identity.key_version <= current.key_version || reused)) {
      throw new PinError(
        `The server offers ${identity.username} a key that is not newer than the one you accepted ` +
          `(version ${identity.key_version}${reused ? ", a key they had before" : ""}). A key is never rolled back: ` +
          "not accepted.",
      );
    }
    this.#state.pins[id] = withAccepted(this.#state.pins[id], key, identity.username);
    await this.save();
  }

  /**
   * Records that the user compared safety numbers for exactly these keys.
   * @param {PublicIdentity} identity
   * @returns {Promise<void>}
   * @throws {PinError} the identity is not the current pin (not pinned, or other keys)
   */
  async markVerified(identity) {
    const pin = this.#state.pins[userKey(identity.id)];
    if (!pin || !sameKeys(pin, identity)) {
      throw new PinError(`${identity.username} is not pinned with these keys: nothing to verify`);
    }
    if (pin.verified) return;
    pin.verified = true;
    await this.save();
  }

  /**
   * Reads the server's copy and merges it in without writing (e.g. when the tab regains focus).
   * @returns {Promise<void>}
   */
  refresh() {
    return this.#enqueue(async () => {
      const remote = await this.#read();
      this.#state = mergeStates(this.#state, remote.state);
      this.#version = remote.version;
    });
  }

  /**
   * Seals the pins and writes them with the version last read. If another tab wrote first (409
   * conflict), reads its copy, merges, and retries up to MAX_CONFLICT_RETRIES times.
   * @returns {Promise<void>}
   * @throws {ApiError} the write failed, or still conflicted after the retries
   * @throws {import("../crypto/aead.js").IntegrityError} the other tab's blob did not open
   */
  save() {
    return this.#enqueue(() => this.#saveNow());
  }

  /**
   * @param {() => Promise<void>} task
   * @returns {Promise<void>} runs after every earlier save or refresh of this instance, failed or not
   */
  #enqueue(task) {
    const run = this.#saving.catch(() => undefined).then(task);
    this.#saving = run;
    return run;
  }

  async #saveNow() {
    for (let attempt = 0; ; attempt++) {
      const counter = await this.#nextCounter();
      const next = { ...this.#state, counter };
      const sealed = await sealJson(this.#accountKey, next, aadTrust(this.#username));
      try {
        const body = { version: this.#version, sealed, ...(this.#keyVersion ? { key_version: this.#keyVersion } : {}) };
        const answer = await this.#putJson(TRUST_PATH, body);
        this.#version = versionOf(answer);
        this.#state = next;
        await this.#seen.record(counter);
        return;
      } catch (error) {
        if (!isConflict(error) || attempt >= MAX_CONFLICT_RETRIES) throw error;
      }
      const remote = await this.#read();
      this.#state = mergeStates(this.#state, remote.state);
      this.#version = remote.version;
    }
  }

  /** The counter of the next write: past both this store's and the newest this browser opened. */
  async #nextCounter() {
    return Math.max(this.#state.counter, await this.#seenHighest()) + 1;
  }

  /** This browser's record of the account's newest store; one that contradicts the server stops here. */
  async #seenHighest() {
    try {
      return await this.#seen.highest();
    } catch (error) {
      if (!(error instanceof SeenError)) throw error;
      throw new TrustStoreError(error.problem, `Your trust store cannot be trusted: ${error.message}. Nothing is trusted or sent.`);
    }
  }

  /**
   * The served store, opened and checked against its owner and this browser's record, which it then raises.
   * @returns {Promise<{version: number, state: TrustState, legacy: boolean}>}
   */
  async #read() {
    const answer = await this.#fetchJson(TRUST_PATH);
    const version = versionOf(answer);
    if (answer.sealed === null) {
      throw new TrustStoreError(
        "missing",
        "The server sent no trust store for your account, though every account has one. Your pinned and verified " +
          "keys are not shown to this page, so nothing is trusted or sent. Do not trust this server.",
      );
    }
    let opened;
    try {
      opened = await openJson(this.#accountKey, /** @type {Sealed} */ (answer.sealed), aadTrust(this.#username));
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      throw new TrustStoreError(
        "tampered",
        "Your trust store does not open with your account key: the server changed or swapped it. Nothing is trusted " +
          "or sent.",
        { cause: error },
      );
    }
    const legacy = opened?.v === LEGACY_TRUST_STORE_VERSION;
    const state = checkState(legacy ? { ...opened, v: TRUST_STORE_VERSION, owner: this.#owner, counter: 0 } : opened);
    if (state.owner !== this.#owner) {
      throw new TrustStoreError(
        "foreign",
        `The server sent another account's trust store (user ${state.owner}'s, not yours). Nothing is trusted or sent.`,
      );
    }
    const seen = await this.#seenHighest();
    if (state.counter < seen) {
      throw new TrustStoreError(
        "older",
        `The server sent an older copy of your trust store (change ${state.counter}; this browser has seen change ` +
          `${seen}): it would undo keys you pinned or verified. Nothing is trusted or sent.`,
      );
    }
    if (state.counter > 0) await this.#seen.record(state.counter);
    return { version, state, legacy };
  }

  /**
   * @param {PublicIdentity} identity
   * @returns {Promise<PinnedKey>}
   */
  async #keyOf(identity) {
    userKey(identity.id);
    if (typeof identity.username !== "string" || identity.username.length === 0) {
      throw new TypeError("identity has no username");
    }
    checkPublicKey(identity.signing_public_key, "signing");
    checkPublicKey(identity.agreement_public_key, "agreement");
    if (!Number.isSafeInteger(identity.key_version) || identity.key_version < 1) {
      throw new TypeError("identity key_version must be a positive safe integer");
    }
    const signed = await verifyAgreementKey(
      identity.signing_public_key,
      identity.agreement_public_key,
      identity.agreement_signature ?? "",
    );
    if (!signed) throw new PinError(`the agreement key of ${identity.username} is not signed by their signing key`);
    return {
      signing_public_key: identity.signing_public_key,
      agreement_public_key: identity.agreement_public_key,
      key_version: identity.key_version,
      accepted_at: new Date(this.#now()).toISOString(),
    };
  }
}

/**
 * A pin with `key` accepted as the current one: the older keys stay (for old messages), verification does not.
 * @param {Pin | undefined} pin
 * @param {PinnedKey} key
 * @param {string} username
 * @returns {Pin}
 */
function withAccepted(pin, key, username) {
  const older = pin ? pin.keys.filter((k) => k.signing_public_key !== key.signing_public_key) : [];
  return { username, keys: [...older, key], verified: false };
}

/**
 * Two copies of the pins, each possibly changed since a common ancestor, made into one without
 * losing either side's pins or acceptances. For a user on both sides, the side that accepted a key
 * most recently decides the current key; key lists are united by signing key; the user stays
 * verified only if a side that verified had the merged current key.
 * @param {TrustState} local
 * @param {TrustState} remote
 * @returns {TrustState}
 */
export function mergeStates(local, remote) {
  /** @type {Record<string, Pin>} */
  const pins = {};
  for (const id of new Set([...Object.keys(local.pins), ...Object.keys(remote.pins)])) {
    const a = local.pins[id];
    const b = remote.pins[id];
    pins[id] = a && b ? mergePin(a, b) : structuredClone(a ?? b);
  }
  /** @type {TrustState} */
  const merged = { v: TRUST_STORE_VERSION, owner: local.owner, counter: Math.max(local.counter, remote.counter), pins };
  const rooms = { ...remote.rooms };
  for (const [id, head] of Object.entries(local.rooms ?? {})) {
    if (!rooms[id] || head.seq > rooms[id].seq) rooms[id] = head;
  }
  if (Object.keys(rooms).length) merged.rooms = rooms;
  return merged;
}

/**
 * @param {Pin} a
 * @param {Pin} b
 * @returns {Pin}
 */
function mergePin(a, b) {
  const [winner, loser] = newer(a, b) ? [a, b] : [b, a];
  const winnerCurrent = winner.keys[winner.keys.length - 1];
  /** @type {Map<string, PinnedKey>} the winner's record of a shared key wins */
  const bySigningKey = new Map();
  for (const k of [...loser.keys, ...winner.keys]) bySigningKey.set(k.signing_public_key, { ...k });
  const current = /** @type {PinnedKey} */ (bySigningKey.get(winnerCurrent.signing_public_key));
  bySigningKey.delete(winnerCurrent.signing_public_key);
  const older = [...bySigningKey.values()].sort((x, y) => time(x.accepted_at) - time(y.accepted_at));
  const verifiedBy = (/** @type {Pin} */ side) => side.verified && sameKey(side.keys[side.keys.length - 1], current);
  return { username: winner.username, keys: [...older, current], verified: verifiedBy(winner) || verifiedBy(loser) };
}

/**
 * @param {Pin} a
 * @param {Pin} b
 * @returns {boolean} a accepted a key later than b (ties broken by the current signing key, so
 *   every tab picks the same side)
 */
function newer(a, b) {
  const ta = newest(a);
  const tb = newest(b);
  if (ta !== tb) return ta > tb;
  return a.keys[a.keys.length - 1].signing_public_key >= b.keys[b.keys.length - 1].signing_public_key;
}

/** @param {Pin} pin @returns {number} */
function newest(pin) {
  return Math.max(...pin.keys.map((k) => time(k.accepted_at)));
}

/** @param {string} iso @returns {number} */
function time(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

/**
 * @param {Pin} pin
 * @param {PublicIdentity} identity
 * @returns {boolean}
 */
function sameKeys(pin, identity) {
  return (
    pin.username.toLowerCase() === String(identity.username).toLowerCase() &&
    sameKey(pin.keys[pin.keys.length - 1], identity)
  );
}

/**
 * @param {{signing_public_key: string, agreement_public_key: string, key_version: number}} a
 * @param {{signing_public_key: string, agreement_public_key: string, key_version: number}} b
 */
function sameKey(a, b) {
  return (
    a.signing_public_key === b.signing_public_key &&
    a.agreement_public_key === b.agreement_public_key &&
    a.key_version === b.key_version
  );
}

/** @param {number | string} id @returns {string} */
function userKey(id) {
  const text = String(id);
  if (!/^[1-9][0-9]{0,17}$/.test(text)) throw new TypeError(`not a user id: ${JSON.stringify(id)}`);
  return text;
}

/** @param {unknown} b64 @param {string} what */
function checkPublicKey(b64, what) {
  let raw;
  try {
    raw = fromBase64(/** @type {string} */ (b64));
  } catch (error) {
    throw new TypeError(`identity ${what} public key is not base64`, { cause: error });
  }
  if (raw.length !== PUBLIC_KEY_BYTES) throw new TypeError(`identity ${what} public key must be 32 bytes`);
}

/** @param {string} owner @returns {TrustState} */
function emptyState(owner) {
  return { v: TRUST_STORE_VERSION, owner, counter: 0, pins: {} };
}

/**
 * The blob authenticated under our own key, so a wrong shape is a bug or a newer client, not an
 * attack; either way this tab must not overwrite it.
 * @param {any} state
 * @returns {TrustState}
 */
function checkState(state) {
  if (state?.v !== TRUST_STORE_VERSION) {
    throw new Error(`unsupported trust store format ${JSON.stringify(state?.v)}: reload the page`);
  }
  const pins = state.pins;
  const ok =
    pins !== null &&
    typeof pins === "object" &&
    !Array.isArray(pins) &&
    Object.entries(pins).every(
      ([id, pin]) =>
        /^[1-9][0-9]*$/.test(id) &&
        typeof pin?.username === "string" &&
        typeof pin.verified === "boolean" &&
        Array.isArray(pin.keys) &&
        pin.keys.length > 0 &&
        pin.keys.every(
          (/** @type {any} */ k) =>
            typeof k?.signing_public_key === "string" &&
            typeof k.agreement_public_key === "string" &&
            Number.isInteger(k.key_version) &&
            typeof k.accepted_at === "string",
        ),
    );
  const rooms = state.rooms ?? {};
  const roomsOk =
    typeof rooms === "object" &&
    !Array.isArray(rooms) &&
    Object.values(rooms).every(
      (/** @type {any} */ head) => Number.isSafeInteger(head?.seq) && head.seq >= 0 && typeof head.hash === "string",
    );
  const counted = typeof state.owner === "string" && Number.isSafeInteger(state.counter) && state.counter >= 0;
  if (!ok || !roomsOk || !counted) throw new TrustStoreError("malformed", "Your trust store is malformed: reload the page.");
  return /** @type {TrustState} */ (state);
}

/** @param {any} answer @returns {number} */
function versionOf(answer) {
  const version = answer?.version;
  if (!Number.isInteger(version) || version < 0 || (answer.sealed !== null && typeof answer.sealed !== "object")) {
    throw new ApiError({ code: "bad_response", detail: "The server sent a trust store this page cannot read." });
  }
  return version;
}

/** @param {unknown} error */
function isConflict(error) {
  return error instanceof ApiError && error.code === "conflict";
}
