// @ts-check
// People and rooms for the roster tests: real identities, entries made by the browser's own makeEntry.

import { generateIdentity, linkKeyPair, newLinkSecret, publicKeys, toBase64 } from "../../static/js/crypto/index.js";
import { makeEntry } from "../../static/js/roster/changes.js";

/**
 * @typedef {{id: number, keyVersion: number, signingPrivateKey: CryptoKey, agreementPrivateKey: CryptoKey,
 *   signingPublicKey: string, agreementPublicKey: string}} Person
 * @typedef {import("../../static/js/roster/chain.js").RosterState} RosterState
 * @typedef {import("../../static/js/roster/changes.js").Change} Change
 */

/** @param {number} id @returns {Promise<Person>} */
export async function person(id) {
  const identity = await generateIdentity();
  const pub = await publicKeys(identity);
  return {
    id,
    keyVersion: 1,
    signingPrivateKey: identity.signing.privateKey,
    agreementPrivateKey: identity.agreement.privateKey,
    signingPublicKey: pub.signingPublicKey,
    agreementPublicKey: pub.agreementPublicKey,
  };
}

/** A room's story as it is told: entries made one after another, by whoever acts. */
export class Story {
  /** @param {Person[]} people @param {string} [room] */
  constructor(people, room = crypto.randomUUID()) {
    this.people = new Map(people.map((p) => [p.id, p]));
    this.room = room;
    /** @type {RosterState | null} */
    this.state = null;
    /** @type {any[]} wire entries, as the server would serve them */
    this.entries = [];
    this.name = "Garden plans";
    /** @type {Uint8Array | null} */
    this.link = null;
  }

  /** @type {import("../../static/js/roster/chain.js").KeyFor} */
  keyFor = async (userId) => this.people.get(userId)?.signingPublicKey ?? null;

  /** @param {number[]} ids */
  recipientsFor = async (ids) =>
    ids.map((id) => ({ id, agreementPublicKey: /** @type {Person} */ (this.people.get(id)).agreementPublicKey }));

  /**
   * @param {Person} actor
   * @param {Change} change
   * @param {{linkPrivateKey?: CryptoKey, link?: Uint8Array | null}} [extra] `link`: the secret open after it
   */
  async tell(actor, change, { linkPrivateKey, link = this.link } = {}) {
    const { wire, step } = await makeEntry({
      room: this.room,
      state: this.state,
      change,
      actor,
      meta: { name: this.name, topic: "", link },
      recipientsFor: this.recipientsFor,
      linkPrivateKey,
    });
    this.entries.push({ ...wire, after: 0, server_time: new Date().toISOString() });
    this.state = step.state;
    this.link = link;
    return step;
  }

  /** @param {Person} owner @param {Person[]} [others] */
  create(owner, others = []) {
    const members = [owner, ...others].sort((a, b) => a.id - b.id).map((p) => /** @type {[number, number]} */ ([p.id, 1]));
    return this.tell(owner, { op: "create", kind: "group", members });
  }

  /** @param {Person} a @param {Person} b */
  direct(a, b) {
    const members = [a, b].sort((x, y) => x.id - y.id).map((p) => /** @type {[number, number]} */ ([p.id, 1]));
    return this.tell(a, { op: "create", kind: "direct", members });
  }

  /** @param {Person} actor @param {Person} member @param {Change["op"]} op */
  about(actor, member, op) {
    return this.tell(actor, { op, members: [[member.id, member.keyVersion]] });
  }

  /** Open (or rotate) the invite link. @param {Person} actor */
  async openLink(actor) {
    const secret = newLinkSecret();
    const { publicRaw } = await linkKeyPair(secret);
    await this.tell(actor, { op: "link", link: toBase64(publicRaw) }, { link: secret });
    return secret;
  }

  /** @param {Person} joiner @param {Uint8Array} secret */
  async join(joiner, secret) {
    const { privateKey, publicRaw } = await linkKeyPair(secret);
    return this.tell(
      joiner,
      { op: "join", members: [[joiner.id, joiner.keyVersion]], link: toBase64(publicRaw) },
      { linkPrivateKey: privateKey, link: secret },
    );
  }
}
