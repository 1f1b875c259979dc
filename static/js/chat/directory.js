// @ts-check
// Public keys of the people whose messages this tab opens, fetched by user id and checked: an
// agreement key not signed by its user's signing key is never used.

import { USERNAME_PATTERN as USERNAME } from "../account/username.js";
import { verifyAgreementKey } from "../crypto/index.js";
import { getJson } from "../net/api.js";

/**
 * @typedef {{id: number, username: string, signing_public_key: string, agreement_public_key: string,
 *            agreement_signature: string, key_version: number, fingerprint: string}} PublicKeys
 */

export class KeyDirectory {
  /**
   * The server answers only for people who are or were in a room with this user; a visitor about to join by an invite
   * link also reads the keys of that room's members, by naming the link's address.
   * @param {{link?: string}} [options]
   */
  constructor({ link } = {}) {
    /** @type {Map<number, Promise<PublicKeys | null>>} */
    this.byId = new Map();
    this.scope = link ? `&link=${encodeURIComponent(link)}` : "";
  }

  /**
   * Keys for every id; null for a user with no valid keys. One request for all ids not yet known.
   * @param {number[]} ids
   * @returns {Promise<Map<number, PublicKeys | null>>}
   */
  async get(ids) {
    const missing = [...new Set(ids)].filter((id) => !this.byId.has(id));
    if (missing.length) {
      const batch = getJson(`/api/keys?ids=${missing.join(",")}${this.scope}`).then(async (answer) => {
        /** @type {Map<number, PublicKeys | null>} */
        const found = new Map();
        for (const keys of answer.keys) found.set(keys.id, await checked(keys));
        return found;
      });
      for (const id of missing) {
        this.byId.set(
          id,
          batch.then((found) => found.get(id) ?? null),
        );
      }
      // A failed lookup is retried next time instead of being remembered as "no keys".
      batch.catch(() => missing.forEach((id) => this.byId.delete(id)));
    }
    const result = new Map();
    for (const id of ids) result.set(id, await this.byId.get(id));
    return result;
  }

  /**
   * Every signing key the server says this user has had, by key version (to check roster entries signed before a
   * key reset). The server's word, taken as a first sight is: only for versions this browser never pinned.
   * @param {number} id
   * @returns {Promise<Map<number, string>>}
   */
  async history(id) {
    const answer = await getJson(`/api/key-history?id=${id}${this.scope}`);
    return new Map(answer.keys.map((/** @type {any} */ k) => [k.key_version, k.signing_public_key]));
  }

  /**
   * Someone's keys by their exact name (to add them, or to start a conversation): the one lookup the server answers
   * for people who share no room with this user yet. Kept by id like any other.
   * @param {string} username
   * @returns {Promise<PublicKeys>} the served keys (whose agreement key may still fail its check: see ``one``)
   */
  async named(username) {
    /** @type {PublicKeys} */
    const served = await getJson(`/api/keys/${encodeURIComponent(username)}`);
    this.byId.set(served.id, checked(served));
    return served;
  }

  /** Fetch this user's keys again next time (the server announced a change). @param {number} id */
  forget(id) {
    this.byId.delete(id);
  }

  /** @param {number} id */
  async one(id) {
    return (await this.get([id])).get(id) ?? null;
  }
}

/**
 * The keys if their agreement key is signed by their signing key and their name is one a username may be; else null.
 * @param {PublicKeys} keys
 */
async function checked(keys) {
  const signed = await verifyAgreementKey(keys.signing_public_key, keys.agreement_public_key, keys.agreement_signature);
  // A name outside what usernames may be (a look-alike letter, an invisible one) is no user's.
  return signed && USERNAME.test(keys.username) ? keys : null;
}
