// @ts-check
// Roster v1: entries of the documented form only, signatures that bind every byte, the name sealed for exactly the
// members, invite links, and the chain's rules — each way a server could bend the chain, refused.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  encodeBody,
  EntryError,
  fromBase64,
  linkAddress,
  linkKeyPair,
  linkSecretText,
  MetaError,
  newLinkSecret,
  openMeta,
  openMetaWithLink,
  parseEntry,
  parseLinkSecret,
  signEntry,
  toBase64,
} from "../../static/js/crypto/index.js";
import { memberIds, RosterError, verifyEntries } from "../../static/js/roster/chain.js";
import { authoritativeName } from "../../static/js/roster/names.js";
import { person, Story } from "./roster-cast.js";

const alice = await person(3);
const bob = await person(11);
const carol = await person(25);
const mallory = await person(66);
const everyone = [alice, bob, carol, mallory];

/** @param {Story} story @param {any[]} [entries] */
function verify(story, entries = story.entries) {
  return verifyEntries({ room: story.room, entries, state: null, keyFor: story.keyFor });
}

/** @param {Story} story @param {any[]} entries @param {string} reason */
async function refused(story, entries, reason) {
  await assert.rejects(verify(story, entries), (error) => error instanceof RosterError && error.reason === reason);
}

/** @param {any} wire @param {(body: any) => void} change @returns {any} the entry with its body edited */
function edited(wire, change) {
  const body = JSON.parse(wire.body);
  change(body);
  return { ...wire, body: JSON.stringify(body) };
}

test("a room's story verifies, and the chain yields its members, roles, owner and link", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  await story.about(alice, carol, "add");
  await story.tell(alice, { op: "role", members: [[bob.id, 1]], role: "admin" });
  await story.about(bob, carol, "remove");
  const secret = await story.openLink(bob);
  await story.join(mallory, secret);
  await story.about(alice, bob, "owner");
  await story.about(mallory, mallory, "leave");

  const steps = await verify(story);
  const last = /** @type {import("../../static/js/roster/chain.js").Step} */ (steps.at(-1)).state;
  assert.deepEqual(memberIds(last), [alice.id, bob.id]);
  assert.equal(last.owner, bob.id);
  assert.equal(last.members.get(alice.id)?.role, "admin");
  assert.equal(last.link, toBase64((await linkKeyPair(secret)).publicRaw));
  assert.deepEqual(
    steps.map((s) => s.entry.body.op),
    ["create", "add", "role", "remove", "link", "join", "owner", "leave"],
  );
  // Each entry names the hash of the one before it.
  for (let i = 1; i < steps.length; i++) assert.equal(steps[i].entry.body.prev, steps[i - 1].hash);
});

test("only the members after an entry can read the room's name; a link holder can through the link", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  const secret = await story.openLink(alice);
  const [{ body }] = (await verify(story)).slice(-1).map((s) => s.entry);
  const read = await openMeta(body, { myId: bob.id, agreementPrivateKey: bob.agreementPrivateKey });
  assert.equal(read.name, "Garden plans");
  assert.deepEqual(read.link, secret);
  await assert.rejects(openMeta(body, { myId: carol.id, agreementPrivateKey: carol.agreementPrivateKey }), MetaError);
  // Carol's key under bob's wrap does not open it either.
  await assert.rejects(openMeta(body, { myId: bob.id, agreementPrivateKey: carol.agreementPrivateKey }), MetaError);
  assert.equal((await openMetaWithLink(body, { link: secret })).name, "Garden plans");
  await assert.rejects(openMetaWithLink(body, { link: newLinkSecret() }), MetaError);
});

/** @param {unknown} error @returns {false} a meta that does not open; anything else is thrown again */
function notOpened(error) {
  if (error instanceof MetaError) return false;
  throw error;
}

/**
 * Whether an entry's meta opens for bob (a member it was sealed for) and through the invite link.
 * @param {import("../../static/js/crypto/roster.js").Body} body @param {Uint8Array} secret
 */
async function opens(body, secret) {
  const asBob = openMeta(body, { myId: bob.id, agreementPrivateKey: bob.agreementPrivateKey }).then(() => true, notOpened);
  const withLink = openMetaWithLink(body, { link: secret }).then(() => true, notOpened);
  return { asBob: await asBob, withLink: await withLink };
}

test("a room's name opens only in the entry it was sealed into: moved into another entry, it does not", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  const secret = await story.openLink(alice);
  const genuine = JSON.parse(story.entries[1].body);
  assert.deepEqual(await opens(genuine, secret), { asBob: true, withLink: true });
  // The same room and seq, and the genuine meta, in an entry the server made up: by someone else, after another
  // entry, naming other members, another change or another time.
  const elsewhere = [
    { actor: mallory.id },
    { actor_key: 2 },
    { prev: toBase64(new Uint8Array(32)) },
    { op: "add", members: [[mallory.id, 1]], link: "" },
    { at: genuine.at + 1 },
    { seq: 2 },
    { room: crypto.randomUUID() },
  ];
  for (const change of elsewhere) {
    assert.deepEqual(await opens({ ...genuine, ...change }, secret), { asBob: false, withLink: false }, JSON.stringify(change));
  }
});

test("a room's name whose wrap_ids were rewritten does not open, for a member or through the link", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob, carol]);
  const secret = await story.openLink(alice);
  const genuine = JSON.parse(story.entries[1].body);
  const wraps = fromBase64(genuine.meta.wraps);
  const rewritten = [
    // mallory listed beside the members (bob's wrap still in its place): she would be "a member it was sealed for".
    { wrap_ids: [alice.id, bob.id, carol.id, mallory.id], wraps: toBase64(new Uint8Array([...wraps, ...new Uint8Array(40)])) },
    // carol dropped, as if it had never been sealed for her.
    { wrap_ids: [alice.id, bob.id], wraps: toBase64(wraps.subarray(0, 80)) },
  ];
  for (const change of rewritten) {
    const body = { ...genuine, meta: { ...genuine.meta, ...change } };
    assert.deepEqual(await opens(body, secret), { asBob: false, withLink: false }, JSON.stringify(change.wrap_ids));
  }
});

test("a room the server forges around a genuine name, in its own account's name, shows no name through the link", async () => {
  // The red team's proof of concept: alice's room {alice, bob} with an invite link; the server makes up a chain for
  // the same room id and seqs, signed by mallory (an account it holds, with her real key), carrying alice's sealed
  // name with mallory added to its wrap_ids. The join page reads the name as join.js does: through the link.
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  const secret = await story.openLink(alice);
  const genuine = JSON.parse(story.entries[1].body).meta;
  const ids = [alice.id, bob.id, mallory.id];
  const transplanted = { ...genuine, wrap_ids: ids, wraps: toBase64(new Uint8Array(40 * ids.length)) };
  /** @param {number} seq @param {string} prev @param {any} change */
  const byMallory = (seq, prev, { op, kind = "", members = [], link = "", meta }) =>
    signEntry(
      { v: 1, room: story.room, seq, prev, at: Date.now(), actor: mallory.id, actor_key: 1, op, kind, members, role: "", link, meta },
      mallory.signingPrivateKey,
    );
  const members = ids.map((id) => [id, 1]);
  const create = await byMallory(0, "", { op: "create", kind: "group", members, meta: { ...transplanted, link_wrap: "" } });
  const [made] = await verify(story, [create]);
  const forged = [create, await byMallory(1, made.hash, { op: "link", link: story.state?.link, meta: transplanted })];
  /** @param {import("../../static/js/roster/chain.js").Step} step */
  const throughLink = (step) => openMetaWithLink(step.entry.body, { link: secret }).catch(() => null);
  assert.equal((await authoritativeName(await verify(story), throughLink))?.name, "Garden plans");
  // The forged chain verifies, with the link open under the genuine key: only the sealed name can tell.
  const steps = await verify(story, forged);
  assert.equal(steps.at(-1)?.state.link, story.state?.link);
  assert.equal(await authoritativeName(steps, throughLink), null);
});

test("an entry's body has one spelling: spaces, another key order, an extra key, escapes, floats are refused", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  const [wire] = story.entries;
  const body = JSON.parse(wire.body);
  const spellings = [
    JSON.stringify(body, null, 1),
    JSON.stringify({ room: body.room, ...body }).replace(`"v":1,`, `"v":1,`),
    JSON.stringify({ ...body, extra: 1 }),
    wire.body.replace(`"op":"create"`, `"op":"\\u0063reate"`),
    wire.body.replace(`"v":1`, `"v":1.0`),
    wire.body.replace(`"v":1,`, `"v":1,"v":1,`),
  ];
  for (const text of spellings) {
    assert.notEqual(text, wire.body);
    assert.throws(() => parseEntry({ ...wire, body: text }), EntryError, text.slice(0, 60));
  }
  assert.equal(parseEntry(wire).text, wire.body);
  assert.equal(encodeBody(body), wire.body);
});

test("a changed byte anywhere in a body breaks its signature", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  await story.about(alice, carol, "add");
  const forged = edited(story.entries[1], (body) => {
    body.members = [[mallory.id, 1]];
  });
  await refused(story, [story.entries[0], forged], "bad_signature");
  const renamed = edited(story.entries[1], (body) => {
    body.at += 1;
  });
  await refused(story, [story.entries[0], renamed], "bad_signature");
});

test("an entry signed by someone else's key, or by a key this browser cannot check, is refused", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  await story.about(alice, carol, "add");
  // The server signs as alice with a key of its own: alice's pinned key does not verify it.
  const impostor = new Story([{ ...alice, signingPrivateKey: mallory.signingPrivateKey }, bob, carol, mallory], story.room);
  impostor.state = (await verify(story)).at(0)?.state ?? null;
  impostor.entries = [story.entries[0]];
  await impostor.about(impostor.people.get(alice.id), mallory, "add");
  await refused(story, impostor.entries, "bad_signature");
  await assert.rejects(
    verifyEntries({ room: story.room, entries: story.entries, state: null, keyFor: async () => null }),
    (error) => error instanceof RosterError && error.reason === "unknown_key",
  );
});

test("dropped, reordered, replayed and foreign entries break the chain", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  await story.about(alice, carol, "add");
  await story.about(alice, carol, "remove");
  const [create, add, remove] = story.entries;
  await refused(story, [create, remove], "broken");
  await refused(story, [create, remove, add], "broken");
  await refused(story, [create, add, add], "broken");
  await refused(story, [add, remove], "broken");
  const elsewhere = new Story(everyone);
  await elsewhere.create(alice, [bob]);
  await refused(story, [elsewhere.entries[0], add], "malformed");
  await assert.rejects(
    verifyEntries({ room: crypto.randomUUID(), entries: story.entries, state: null, keyFor: story.keyFor }),
    (error) => error instanceof RosterError && error.reason === "malformed",
  );
});

test("only the owner or an admin adds and removes; anyone leaves; nobody removes the owner", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  await assert.rejects(story.about(bob, carol, "add"), (e) => e instanceof RosterError && e.reason === "unauthorised");
  await assert.rejects(story.about(bob, alice, "remove"), RosterError);
  await story.tell(alice, { op: "role", members: [[bob.id, 1]], role: "admin" });
  await story.about(bob, carol, "add");
  await assert.rejects(story.about(bob, alice, "remove"), RosterError);
  await assert.rejects(story.about(carol, bob, "remove"), RosterError);
  await assert.rejects(story.about(alice, alice, "leave"), RosterError, "the owner hands the room on first");
  await assert.rejects(story.about(bob, carol, "leave"), RosterError, "one leaves only for oneself");
  await story.about(carol, carol, "leave");
  await assert.rejects(story.tell(bob, { op: "role", members: [[bob.id, 1]], role: "member" }), RosterError);
  await verify(story);
});

test("a chain that does not follow the rules is refused even when every signature is genuine", async () => {
  // The server cannot sign, but a member can sign anything: the rules are checked by every reader.
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  const rogue = new Story(everyone, story.room);
  rogue.entries = [story.entries[0]];
  rogue.state = (await verify(story))[0].state;
  // Bypass the maker's check, as a modified client would: build bob's add as if he were the owner.
  rogue.state = { ...rogue.state, owner: bob.id };
  await rogue.about(bob, mallory, "add");
  await refused(story, rogue.entries, "unauthorised");
});

test("a direct room is its two people: a third member, or any change after creation, is refused", async () => {
  const story = new Story(everyone);
  await story.direct(alice, bob);
  assert.deepEqual(memberIds((await verify(story))[0].state), [alice.id, bob.id]);
  await assert.rejects(story.about(alice, carol, "add"), RosterError);
  await assert.rejects(story.about(bob, bob, "leave"), RosterError);
  const three = new Story(everyone);
  await assert.rejects(
    three.tell(alice, { op: "create", kind: "direct", members: [[alice.id, 1], [bob.id, 1], [carol.id, 1]] }),
    RosterError,
  );
});

test("a join needs the open link's key: its public part alone, or a closed or rotated link, admits nobody", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  const secret = await story.openLink(alice);
  const base = story.entries.length;
  await story.join(carol, secret);
  await verify(story);

  // The server knows only the link's public key: it signs the link part with a key of its own.
  const forged = edited(story.entries[base], () => {});
  forged.link_signature = toBase64(new Uint8Array(64));
  await refused(story, [...story.entries.slice(0, base), forged], "bad_signature");

  const rotated = new Story(everyone);
  await rotated.create(alice, [bob]);
  const old = await rotated.openLink(alice);
  await rotated.openLink(alice);
  await assert.rejects(rotated.join(carol, old), RosterError, "a rotated link admits nobody");
  await rotated.tell(alice, { op: "link", link: "" }, { link: null });
  await assert.rejects(rotated.join(carol, old), RosterError, "a closed link admits nobody");
});

test("an entry whose name is sealed for someone who is not a member is refused", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  const leaky = new Story(everyone, story.room);
  leaky.entries = [...story.entries];
  leaky.state = (await verify(story))[0].state;
  // alice renames, sealing the name for mallory as well: the chain yields alice and bob, not mallory.
  leaky.recipientsFor = async (ids) => story.recipientsFor([...ids, mallory.id]);
  await assert.rejects(leaky.tell(alice, { op: "rename" }), (e) => e instanceof RosterError && e.reason === "wrong_meta");
});

test("the last member to leave seals the name for themselves", async () => {
  const story = new Story(everyone);
  await story.create(alice);
  await story.about(alice, alice, "leave");
  const steps = await verify(story);
  assert.equal(steps.at(-1)?.state.members.size, 0);
  assert.equal(steps.at(-1)?.state.owner, null);
});

test("an invite link's secret has one form, and its key and address come from it", async () => {
  const secret = newLinkSecret();
  const text = linkSecretText(secret);
  assert.match(text, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(parseLinkSecret(`#${text}`), secret);
  for (const bad of ["", "#", text.slice(1), `${text}A`, `${text.slice(0, 42)}+`]) {
    assert.throws(() => parseLinkSecret(bad), TypeError, bad);
  }
  const one = await linkKeyPair(secret);
  const again = await linkKeyPair(secret);
  assert.deepEqual(one.publicRaw, again.publicRaw);
  assert.equal(one.privateKey.extractable, false);
  assert.equal(linkAddress(one.publicRaw).length, 43);
  assert.deepEqual(fromBase64(toBase64(one.publicRaw)), one.publicRaw);
});
