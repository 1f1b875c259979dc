// @ts-check
// Whose keys this tab may use: the key directory says what the server serves now, the pins say
// what this user accepted before. A key that differs from its pin is "changed": nothing is
// encrypted to it and nothing it signs is trusted until the user accepts it.

import { Pins } from "../trust/pins.js";

/**
 * @typedef {import("./directory.js").PublicKeys} PublicKeys
 * @typedef {{id: number, username: string, status: "trusted" | "changed" | "missing" | "impostor", verified: boolean,
 *            served: PublicKeys | null, agreementPublicKey: string | null, signingKeys: string[],
 *            keys: import("../trust/pins.js").PinnedKey[], wasVerified: boolean}} Contact
 *   served: what the directory serves now; agreementPublicKey: the pinned (accepted) key to encrypt to;
 *   signingKeys: every signing key ever accepted for this user (old messages verify against old keys); keys: the
 *   same with their versions and when each was accepted, oldest first;
 *   wasVerified: for a changed key, whether the user had verified the key it replaces.
 */

/** Events: "changed" ({contact}) when a key differs from its pin, "trust" ({id}) when a pin or verification changes. */
export class TrustGate extends EventTarget {
  /**
   * @param {{directory: import("./directory.js").KeyDirectory, pins: Pins}} options
   */
  constructor({ directory, pins }) {
    super();
    this.directory = directory;
    this.pins = pins;
    /** @type {Map<number, Contact>} changed keys waiting for the user's decision */
    this.changed = new Map();
  }

  /**
   * @param {{directory: import("./directory.js").KeyDirectory, accountKey: CryptoKey, username: string,
   *          ownerId: number, keyVersion: number}} options
   */
  static async open({ directory, accountKey, username, ownerId, keyVersion }) {
    return new TrustGate({ directory, pins: await Pins.load({ accountKey, username, ownerId, keyVersion }) });
  }

  /**
   * What may be done with each user's keys; first sight pins them (trust on first use).
   * @param {number[]} ids
   * @returns {Promise<Map<number, Contact>>}
   */
  async contacts(ids) {
    const served = await this.directory.get(ids);
    /** @type {Map<number, Contact>} */
    const result = new Map();
    for (const id of new Set(ids)) {
      result.set(id, await this.contact(id, served.get(id) ?? null));
    }
    return result;
  }

  /** @param {number} id */
  async one(id) {
    return /** @type {Contact} */ ((await this.contacts([id])).get(id));
  }

  /**
   * @param {number} id
   * @param {PublicKeys | null} served
   * @returns {Promise<Contact>}
   */
  async contact(id, served) {
    if (!served) return this.describe(id, null, "missing");
    const seen = this.pins.check(served);
    // A name this browser knows for someone else, or another name for someone it knows: the server relabels an
    // account (usernames never change). Never pinned, never accepted, never used.
    if (this.claimsAnothersName(id, served.username) || this.renamed(id, served.username)) {
      return this.describe(id, null, "impostor");
    }
    if (seen === "new") {
      await this.pins.pin(served);
      this.emit("trust", { id });
    }
    if (seen !== "changed") {
      this.changed.delete(id);
      return this.describe(id, served, "trusted");
    }
    const contact = this.describe(id, served, "changed");
    if (!this.changed.has(id)) {
      this.changed.set(id, contact);
      this.emit("changed", { contact });
    }
    return contact;
  }

  /**
   * Whether the server gives `id` a username this browser has pinned for another user.
   * @param {number} id
   * @param {string} username
   */
  claimsAnothersName(id, username) {
    const pinned = this.pins.idOfUsername(username);
    return pinned !== null && pinned !== String(id);
  }

  /**
   * Whether the server gives a pinned user another username than the one pinned with their keys.
   * @param {number} id
   * @param {string} username
   */
  renamed(id, username) {
    const pinned = this.pins.usernameOf(id);
    return pinned !== null && pinned.toLowerCase() !== String(username).toLowerCase();
  }

  /**
   * @param {number} id
   * @param {PublicKeys | null} served
   * @param {Contact["status"]} status
   * @returns {Contact}
   */
  describe(id, served, status) {
    const pinned = this.pins.current(id);
    return {
      id,
      // The name pinned with their keys: what the server calls them now is its word only.
      username: this.pins.usernameOf(id) ?? served?.username ?? `user ${id}`,
      status,
      verified: status === "trusted" && this.pins.isVerified(id),
      wasVerified: status === "changed" && this.pins.isVerified(id),
      served,
      agreementPublicKey: pinned?.agreement_public_key ?? null,
      signingKeys: this.pins.acceptedSigningKeys(id),
      keys: this.pins.keysOf(id),
    };
  }

  /**
   * The signing key to check something `id` signed with key version `version`: the pinned key of that version, the
   * current key on first sight, or — for an older version this browser never saw — the server's record of it.
   * With `current`, only the user's current key will do (a new roster entry is signed with it, never a retired one);
   * without `history`, no key known only from the server's record (for the entries that admit this account, and
   * after them).
   * @param {number} id
   * @param {number} version
   * @param {{current?: boolean}} [options]
   * @returns {Promise<string | null>} base64 Ed25519 public key; null for a key not accepted (a change pending)
   */
  async signingKeyFor(id, version, { current = false, history = true } = {}) {
    const pinnedNow = this.pins.current(id);
    if (current && pinnedNow) return pinnedNow.key_version === version ? pinnedNow.signing_public_key : null;
    const pinned = this.pins.keysOf(id).find((k) => k.key_version === version);
    if (pinned) return pinned.signing_public_key;
    const contact = await this.one(id);
    if (contact.status !== "trusted" || !contact.served) return null;
    if (contact.served.key_version === version) return contact.served.signing_public_key;
    if (current || !history || version > contact.served.key_version) return null;
    return (await this.directory.history(id)).get(version) ?? null;
  }

  /**
   * Whom these ids are: the username pinned with their keys, or the directory's on first sight (no pin is made).
   * A room's frames name members too, but those names are the server's alone and are not used.
   * @param {number[]} ids
   * @returns {Promise<Map<number, string>>}
   */
  async usernames(ids) {
    const unpinned = ids.filter((id) => !this.pins.current(id));
    const served = unpinned.length ? await this.directory.get(unpinned) : new Map();
    /** @type {Map<number, string>} */
    const names = new Map();
    for (const id of ids) {
      const claimed = served.get(id)?.username;
      // A name pinned for someone else is not this user's, whatever the server says.
      const username = this.pins.usernameOf(id) ?? (claimed && !this.claimsAnothersName(id, claimed) ? claimed : null);
      if (username) names.set(id, username);
    }
    return names;
  }

  /**
   * The pinned agreement keys to seal for these members.
   * @param {number[]} ids
   * @returns {Promise<{id: number, agreementPublicKey: string}[]>}
   * @throws {Error} a member whose key changed (not accepted yet) or who has no valid keys
   */
  async recipients(ids) {
    const contacts = await this.contacts(ids);
    return ids.map((id) => {
      const contact = /** @type {Contact} */ (contacts.get(id));
      if (contact.status === "changed") throw new Error(`${contact.username}'s key changed. Review it before sending to this room.`);
      if (contact.status === "impostor") throw new Error(`The server gives user ${id} a name you know for someone else; nothing was sent.`);
      if (!contact.agreementPublicKey) throw new Error(`${contact.username} has no valid keys; nothing was sent.`);
      // The pinned key, not whatever the server serves now.
      return { id, agreementPublicKey: contact.agreementPublicKey };
    });
  }

  /** The user accepts a changed key: it becomes the pin, and is no longer verified. @param {number} id */
  async accept(id) {
    const contact = this.changed.get(id);
    if (!contact?.served) return;
    await this.pins.accept(contact.served);
    this.changed.delete(id);
    this.emit("trust", { id });
  }

  /** After comparing safety numbers. @param {number} id */
  async markVerified(id) {
    const contact = await this.one(id);
    if (contact.status !== "trusted" || !contact.served) throw new Error(`${contact.username}'s key is not accepted.`);
    await this.pins.markVerified(contact.served);
    this.emit("trust", { id });
  }

  /** The server says this user's keys changed: look again. @param {number} id */
  async recheck(id) {
    this.directory.forget(id);
    return this.one(id);
  }

  /** @param {string} type @param {any} detail */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
