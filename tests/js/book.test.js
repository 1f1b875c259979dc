// @ts-check
// The roster book against a scripted server that lies: members no one added, forks, shorter chains, a room
// presented without its chain, envelopes naming heads that do not exist or wrapped for other people. Each is a
// blocking problem or a refused envelope; only the verified chain's members are ever recipients.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RosterBlocked, RosterBook } from "../../static/js/roster/book.js";
import { RosterError } from "../../static/js/roster/chain.js";
import { MemoryHeads } from "../../static/js/roster/heads.js";
import { person, Story } from "./roster-cast.js";

const alice = await person(3);
const bob = await person(11);
const carol = await person(25);
const ghost = await person(66);
const everyone = [alice, bob, carol, ghost];

/**
 * Bob's book, fed by a server that serves `served()` (the story's entries unless the test rewrites them).
 * @param {Story} story
 * @param {{served?: () => any[], heads?: MemoryHeads, appended?: any[]}} [server]
 */
function bobsBook(story, { served = () => story.entries, heads = new MemoryHeads(), appended = [] } = {}) {
  return new RosterBook({
    fetchEntries: async (_room, from) => ({ entries: served().slice(from, from + 2), more: from + 2 < served().length }),
    append: async (_room, entry) => {
      appended.push(entry);
      story.entries.push({ ...entry, after: 0 });
      return { type: "appended" };
    },
    keyFor: story.keyFor,
    recipientsFor: story.recipientsFor,
    heads,
    me: { id: bob.id, keyVersion: 1, signingPrivateKey: bob.signingPrivateKey, agreementPrivateKey: bob.agreementPrivateKey },
  });
}

/** @param {Story} story */
function head(story) {
  const state = /** @type {import("../../static/js/roster/chain.js").RosterState} */ (story.state);
  return { seq: state.seq, hash: state.hash };
}

/** @param {RosterBook} book @param {Story} story */
function problems(book, story) {
  return [...(book.rooms.get(story.room)?.problems.keys() ?? [])];
}

async function roomOfThree() {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  await story.about(alice, carol, "add");
  return story;
}

test("a verified room's recipients are the chain's members, and its name opens", async () => {
  const story = await roomOfThree();
  const book = bobsBook(story);
  await book.sync(story.room, { roster: head(story), members: [3, 11, 25] });
  assert.equal(book.rooms.get(story.room)?.status, "ok");
  assert.deepEqual(await book.recipients(story.room), { members: [3, 11, 25], head: head(story) });
  assert.equal(book.rooms.get(story.room)?.meta?.name, "Garden plans");
});

test("a member the server lists and the chain does not blocks the room and is never a recipient", async () => {
  const story = await roomOfThree();
  const book = bobsBook(story);
  await book.sync(story.room, { roster: head(story), members: [3, 11, 25, ghost.id] });
  assert.deepEqual(problems(book, story), ["extra"]);
  await assert.rejects(book.recipients(story.room), (e) => e instanceof RosterBlocked && /members no one added/.test(e.message));
  // The same list in a members_changed refusal: still refused, never added.
  const other = bobsBook(story);
  await other.sync(story.room, { roster: head(story), members: [3, 11, 25] });
  await other.checkServerMembers(story.room, [3, 11, 25, ghost.id]);
  await assert.rejects(other.recipients(story.room), RosterBlocked);
});

test("a forged, altered, dropped or reordered entry is a blocking problem", async () => {
  const story = await roomOfThree();
  await story.about(alice, carol, "remove");
  const [create, add, remove] = story.entries;
  const altered = { ...add, body: add.body.replace(`[[${carol.id},1]]`, `[[${ghost.id},1]]`) };
  for (const served of [[create, altered, remove], [create, remove], [create, remove, add]]) {
    const book = bobsBook(story, { served: () => served });
    await book.sync(story.room, { roster: { seq: 2, hash: head(story).hash }, members: [3, 11] });
    assert.deepEqual(problems(book, story).includes("chain"), true, JSON.stringify(problems(book, story)));
    await assert.rejects(book.recipients(story.room), RosterBlocked);
  }
});

test("two different entries after the same hash (a fork) are caught, live or on a later read", async () => {
  const story = await roomOfThree();
  const book = bobsBook(story);
  await book.sync(story.room, { roster: head(story), members: [3, 11, 25] });
  // The server shows bob one next entry, and keeps another for someone else.
  const base = { entries: [...story.entries], state: story.state };
  await story.about(alice, carol, "remove");
  const mine = story.entries[2];
  story.entries = [...base.entries];
  story.state = base.state;
  await story.about(alice, ghost, "add");
  const theirs = story.entries.at(-1);
  await book.onLive(story.room, [mine]);
  assert.equal(book.rooms.get(story.room)?.status, "ok");
  await book.onLive(story.room, [theirs]);
  assert.deepEqual(problems(book, story), ["fork"]);
});

test("a chain shorter than one this browser verified, or the room without its chain, is caught after a reload", async () => {
  const story = await roomOfThree();
  const heads = new MemoryHeads();
  await bobsBook(story, { heads }).sync(story.room, { roster: head(story), members: [3, 11, 25] });
  // The reload: the server serves the chain without its last entry, naming that older head.
  const truncated = story.entries.slice(0, 1);
  const reloaded = bobsBook(story, { heads, served: () => truncated });
  await reloaded.sync(story.room, { roster: { seq: 0, hash: "x" }, members: [3, 11] });
  assert.ok(problems(reloaded, story).includes("shorter"), JSON.stringify(problems(reloaded, story)));
  const unsigned = bobsBook(story, { heads, served: () => [] });
  await unsigned.sync(story.room, { roster: null, members: [3, 11, 25, ghost.id] });
  assert.deepEqual(problems(unsigned, story), ["unsigned"]);
  await assert.rejects(unsigned.recipients(story.room), RosterBlocked);
});

test("a v2 envelope must name a head of the chain and be wrapped for exactly its members", async () => {
  const story = await roomOfThree();
  const book = bobsBook(story);
  await book.sync(story.room, { roster: head(story), members: [3, 11, 25] });
  const { hash } = head(story);
  assert.deepEqual(await book.checkEnvelope(story.room, { roster_seq: 1, roster_hash: hash }, [3, 11, 25]), { reason: null });
  const ghosted = await book.checkEnvelope(story.room, { roster_seq: 1, roster_hash: hash }, [3, 11, 25, 66]);
  assert.equal(ghosted.reason, "wrong_members");
  const other = story.entries[0].signature.slice(0, 44);
  assert.equal((await book.checkEnvelope(story.room, { roster_seq: 1, roster_hash: other }, [3, 11, 25])).reason, "unknown_roster");
  assert.equal((await book.checkEnvelope(story.room, { roster_seq: 9, roster_hash: hash }, [3, 11, 25])).reason, "unknown_roster");
});

test("a change is rebuilt on the new head when another came first, and the server's conflict never adds anyone", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob]);
  await story.tell(alice, { op: "role", members: [[bob.id, 1]], role: "admin" });
  const appended = [];
  const book = bobsBook(story, { appended });
  await book.sync(story.room, { roster: head(story), members: [3, 11] });
  await story.about(alice, carol, "add");
  // Bob's add is made on seq 1, not knowing alice's: the server refuses it (stale prev), as it would.
  let refusedOnce = false;
  book.options.append = async (_room, entry) => {
    if (!refusedOnce) {
      refusedOnce = true;
      throw Object.assign(new Error("stale"), { code: "roster_conflict" });
    }
    appended.push(entry);
    story.entries.push({ ...entry, after: 0 });
  };
  book.options.fetchEntries = async (_room, from) => ({ entries: story.entries.slice(from), more: false });
  await book.change(story.room, { op: "add", members: [[ghost.id, 1]] });
  assert.equal(JSON.parse(appended[0].body).seq, 3);
  assert.deepEqual((await book.recipients(story.room))?.members, [3, 11, 25, 66]);
});

test("an entry after the verified head must be signed with its actor's current key, not an 'old' one the server made up", async () => {
  const story = await roomOfThree();
  const heads = new MemoryHeads();
  const first = bobsBook(story, { heads });
  await first.sync(story.room, { roster: head(story), members: [3, 11, 25] });
  // The server claims alice had a second key, which it holds, and signs "alice added ghost" with it.
  const forger = { ...alice, keyVersion: 2, signingPrivateKey: ghost.signingPrivateKey };
  const lie = new Story([forger, bob, carol, ghost], story.room);
  lie.entries = [...story.entries];
  lie.state = story.state;
  await lie.about(forger, ghost, "add");
  const served = () => lie.entries;
  const history = async (/** @type {number} */ id, /** @type {number} */ version) =>
    id === alice.id && version === 2 ? ghost.signingPublicKey : story.keyFor(id);
  const current = async (/** @type {number} */ id, /** @type {number} */ version) => (version === 1 ? story.keyFor(id) : null);
  const reloaded = bobsBook(story, { heads, served });
  reloaded.options.keyFor = history;
  reloaded.options.currentKeyFor = current;
  await reloaded.sync(story.room, { roster: head(lie), members: [3, 11, 25, ghost.id] });
  assert.ok(problems(reloaded, story).includes("chain"), JSON.stringify(problems(reloaded, story)));
  await assert.rejects(reloaded.recipients(story.room), RosterBlocked);
});

test("an actor's key version never goes down along a chain", async () => {
  const story = await roomOfThree();
  const renewed = { ...alice, keyVersion: 2 };
  await story.tell(renewed, { op: "role", members: [[bob.id, 1]], role: "admin" });
  // An entry by alice after that, signed with (and naming) her first key: the chain refuses it.
  await assert.rejects(story.about(alice, carol, "remove"), (e) => e instanceof RosterError && e.reason === "old_key");
});

/** @param {Story} story @param {import("./roster-cast.js").Person} me */
function bookOf(story, me) {
  return new RosterBook({
    fetchEntries: async (_room, from) => ({ entries: story.entries.slice(from), more: false }),
    append: async () => ({ type: "appended" }),
    keyFor: story.keyFor,
    recipientsFor: story.recipientsFor,
    heads: new MemoryHeads(),
    me: { id: me.id, keyVersion: 1, signingPrivateKey: me.signingPrivateKey, agreementPrivateKey: me.agreementPrivateKey },
  });
}

test("only a create or a rename names the room: a member's reseal, or a join, cannot rename it", async () => {
  const story = new Story(everyone);
  await story.create(alice, [bob, carol]);
  story.name = "Bob's room now";
  await story.tell(bob, { op: "reseal" }); // a plain member seals a name of his own in a change of nothing
  const book = bookOf(story, carol);
  await book.sync(story.room, { roster: head(story), members: [3, 11, 25] });
  assert.equal(book.rooms.get(story.room)?.status, "ok");
  assert.equal(book.rooms.get(story.room)?.meta?.name, "Garden plans");

  const linked = new Story(everyone);
  await linked.create(alice, [bob]);
  const secret = await linked.openLink(alice);
  linked.name = "Renamed by whoever had the link";
  await linked.join(carol, secret);
  const bobs = bookOf(linked, bob);
  await bobs.sync(linked.room, { roster: head(linked), members: [3, 11, 25] });
  assert.equal(bobs.rooms.get(linked.room)?.meta?.name, "Garden plans");
});

test("the invite link members can hand out is the room's open link, not one a member slipped into a change", async () => {
  const { linkKeyPair, newLinkSecret, toBase64 } = await import("../../static/js/crypto/index.js");
  const story = new Story(everyone);
  await story.create(alice, [bob, carol]);
  const open = await story.openLink(alice);
  await story.tell(bob, { op: "reseal" }, { link: newLinkSecret() }); // the secret of a link to a room of his
  const book = bookOf(story, carol);
  await book.sync(story.room, { roster: head(story), members: [3, 11, 25] });
  const room = book.rooms.get(story.room);
  assert.deepEqual(room?.meta?.link, open);
  assert.equal(toBase64((await linkKeyPair(/** @type {Uint8Array} */ (room?.meta?.link))).publicRaw), room?.state?.link);
});

test("a member added or joined since the last rename reads the name a manager sealed, not a plain member's re-seal", async () => {
  const mallory = ghost; // a plain member
  const story = new Story(everyone);
  await story.create(alice, [mallory]);
  await story.about(alice, bob, "add"); // the owner adds bob, sealing the real name for him
  story.name = "Mallory's room now";
  await story.tell(mallory, { op: "reseal" });
  const bobs = bookOf(story, bob);
  await bobs.sync(story.room, { roster: head(story), members: [3, 11, 66] });
  assert.equal(bobs.rooms.get(story.room)?.meta?.name, "Garden plans");

  const joined = new Story(everyone);
  await joined.create(alice, [mallory]);
  const secret = await joined.openLink(alice);
  joined.name = "Mallory's room now";
  await joined.tell(mallory, { op: "reseal" });
  await joined.join(carol, secret); // her join copies what it read; the link still opens the owner's entries
  const carols = bookOf(joined, carol);
  await carols.sync(joined.room, { roster: head(joined), members: [3, 25, 66] });
  assert.equal(carols.rooms.get(joined.room)?.meta?.name, "Garden plans");
});

test("a verified head is remembered even while the server lists someone extra, so it cannot pass the room off later as unsigned", async () => {
  const story = await roomOfThree();
  const heads = new MemoryHeads();
  const first = bobsBook(story, { heads });
  // The genuine chain, beside a member list with one more and a head it does not name: blocked, and remembered.
  await first.sync(story.room, { roster: { seq: 0, hash: "x" }, members: [3, 11, 25, ghost.id] });
  assert.equal(first.rooms.get(story.room)?.status, "blocked");
  assert.deepEqual(await heads.get(story.room), head(story));
  const next = bobsBook(story, { heads, served: () => [] });
  await next.sync(story.room, { roster: null, members: [3, 11, 25, ghost.id] });
  assert.deepEqual(problems(next, story), ["unsigned"]);
});
