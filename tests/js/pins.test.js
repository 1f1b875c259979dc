// @ts-check
// Trust on first use: pins sealed under the account key on a server that only keeps a versioned blob.
// The server here is an in-memory stand-in for the HTTP transport of /api/accounts/trust (versions and
// 409 conflict as in docs/ACCOUNTS.md); the crypto is real.
import assert from "node:assert/strict";
import { test } from "node:test";

import { generateAccountKey } from "../../static/js/crypto/accountkey.js";
import { IntegrityError, openJson, sealJson } from "../../static/js/crypto/aead.js";
import { fromBase64, toBase64 } from "../../static/js/crypto/encoding.js";
import { generateIdentity, publicKeys } from "../../static/js/crypto/identity.js";
import { aadTrust as aadTrustFromIndex } from "../../static/js/crypto/index.js";
import { ApiError } from "../../static/js/net/api.js";
import { aadTrust, mergeStates, PinError, Pins, TRUST_PATH, TrustStoreError } from "../../static/js/trust/pins.js";
import { MemorySeenBackend } from "../../static/js/trust/seen.js";

/** @typedef {import("../../static/js/trust/pins.js").PublicIdentity} PublicIdentity */
/** @typedef {{iv: string, ciphertext: string}} Sealed */

/** What the Django view does: a versioned blob, and 409 conflict when the writer read an older version. */
class FakeTrustServer {
  version = 0;
  /** @type {Sealed | null} */
  sealed = null;
  puts = 0;
  conflicts = 0;
  alwaysConflict = false;

  /** @param {string} path */
  fetchJson = async (path) => {
    assert.equal(path, TRUST_PATH);
    await pause();
    return structuredClone({ version: this.version, sealed: this.sealed });
  };

  /** @param {string} path @param {any} body */
  putJson = async (path, body) => {
    assert.equal(path, TRUST_PATH);
    assert.ok(["sealed", "version"].every((key) => key in body));
    assert.ok(Object.keys(body).every((key) => ["key_version", "sealed", "version"].includes(key)));
    assert.equal(fromBase64(body.sealed.iv).length, 12);
    await pause();
    this.puts++;
    if (this.alwaysConflict || body.version !== this.version) {
      this.conflicts++;
      throw new ApiError({ code: "conflict", status: 409, detail: "Your trusted keys changed in another tab." });
    }
    this.sealed = structuredClone(body.sealed);
    this.version++;
    return structuredClone({ version: this.version, sealed: this.sealed });
  };
}

/** Lets other pending requests run, as the network would. */
const pause = () => new Promise((resolve) => setImmediate(resolve));

/**
 * @param {number} id
 * @param {string} username
 * @param {number} [keyVersion]
 * @returns {Promise<PublicIdentity>} a real key-directory entry with a valid agreement signature
 */
async function directoryEntry(id, username, keyVersion = 1) {
  const keys = await publicKeys(await generateIdentity());
  return {
    id,
    username,
    signing_public_key: keys.signingPublicKey,
    agreement_public_key: keys.agreementPublicKey,
    agreement_signature: keys.agreementSignature,
    key_version: keyVersion,
  };
}

/** A clock the test moves by hand, so "later" is deterministic. */
function clock(start = Date.UTC(2025, 0, 1)) {
  let t = start;
  const now = () => t;
  now.tick = (ms = 1000) => {
    t += ms;
  };
  return now;
}

/**
 * A new account's trust store on the fake server (made as sign-up makes it), and one browser's record of it.
 * @param {string} [owner] the account's username
 */
async function setup(owner = "alice") {
  const server = new FakeTrustServer();
  const accountKey = await generateAccountKey();
  const now = clock();
  const seenBackend = new MemorySeenBackend();
  /** @param {string} [username] @param {Partial<import("../../static/js/trust/pins.js").PinsOptions>} [more] */
  const options = (username = owner, more = {}) => ({
    accountKey,
    username,
    ownerId: 1,
    keyVersion: 1,
    fetchJson: server.fetchJson,
    putJson: server.putJson,
    now,
    seenBackend,
    ...more,
  });
  /** @param {string} [username] */
  const load = (username) => Pins.load(options(username));
  await Pins.create(options());
  server.puts = 0;
  return { server, accountKey, now, load, options, seenBackend };
}

/** @param {string} problem */
const storeError = (problem) => (/** @type {unknown} */ error) =>
  error instanceof TrustStoreError && error.problem === problem && /trust store/.test(error.message);

test("aadTrust is the v1 label with the owner in lower case, from labels.js", () => {
  assert.equal(aadTrust("Alice"), "securechat/trust/v1|alice");
  assert.equal(aadTrustFromIndex, aadTrust);
  assert.throws(() => aadTrust(""), TypeError);
});

test("a new account's store is empty at change 1; none at all is refused, never read as a first sight", async () => {
  const { server, load } = await setup();
  const pins = await load();
  assert.deepEqual(pins.userIds(), []);
  assert.equal(pins.version, 1);
  assert.equal(server.puts, 0, "loading writes nothing");
  server.sealed = null;
  await assert.rejects(load(), storeError("missing"));
});

test("an older copy of the store is refused by a browser that opened a newer one; a new browser cannot tell", async () => {
  const { server, load, options } = await setup();
  const pins = await load();
  await pins.pin(await directoryEntry(7, "bob"));
  const older = structuredClone(server.sealed);
  await pins.markVerified(await directoryEntry(8, "carol").then(async (carol) => (await pins.pin(carol), carol)));
  server.sealed = older;
  await assert.rejects(load(), storeError("older"));
  await assert.rejects(pins.refresh(), storeError("older"), "nor merged in by an open tab");
  const elsewhere = await Pins.load(options("alice", { seenBackend: new MemorySeenBackend() }));
  assert.deepEqual(elsewhere.userIds(), ["7"], "a brand-new browser takes the authentic older copy (SECURITY.md)");
});

test("another account's store is refused, even sealed under this account key", async () => {
  const { server, accountKey, load } = await setup();
  server.sealed = await sealJson(accountKey, { v: 2, owner: "2", counter: 9, pins: {} }, aadTrust("alice"));
  await assert.rejects(load(), storeError("foreign"));
});

test("every write raises the counter past what this browser saw; a reset re-seals it under the new key", async () => {
  const { server, accountKey, load, seenBackend } = await setup();
  const counter = async (/** @type {CryptoKey} */ key) =>
    (await openJson(key, /** @type {Sealed} */ (server.sealed), aadTrust("alice"))).counter;
  assert.equal(await counter(accountKey), 1);
  const pins = await load();
  await pins.pin(await directoryEntry(7, "bob"));
  assert.equal(await counter(accountKey), 2);
  const newKey = await generateAccountKey();
  server.sealed = await pins.sealedFor(newKey);
  assert.equal(await counter(newKey), 3);
  const after = await Pins.load({ accountKey: newKey, username: "alice", ownerId: 1, keyVersion: 2, fetchJson: server.fetchJson, seenBackend });
  assert.deepEqual(after.userIds(), ["7"], "the pins go on, and the old key's record does not block the new store");
});

test("a store from before counters opens once and is written back with one", async () => {
  const { server, accountKey, options } = await setup();
  server.sealed = await sealJson(accountKey, { v: 1, pins: {} }, aadTrust("alice"));
  const pins = await Pins.load(options("alice", { seenBackend: new MemorySeenBackend() }));
  assert.equal(server.puts, 1);
  const state = await openJson(accountKey, /** @type {Sealed} */ (server.sealed), aadTrust("alice"));
  assert.deepEqual([state.v, state.owner, state.counter], [2, "1", 1]);
  assert.deepEqual(pins.userIds(), []);
});

test("first sight pins the identity and saves it sealed; a reload reads it back", async () => {
  const { server, load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const pins = await load();
  assert.equal(pins.check(bob), "new");
  assert.equal(pins.current(7), null);
  await pins.pin(bob);
  assert.equal(pins.check(bob), "same");
  assert.equal(server.version, 2);
  assert.equal(pins.version, 2);
  const current = pins.current("7");
  assert.equal(current?.signing_public_key, bob.signing_public_key);
  assert.equal(current?.agreement_public_key, bob.agreement_public_key);
  assert.equal(current?.key_version, 1);
  assert.equal(current?.accepted_at, "2025-01-01T00:00:00.000Z");
  assert.equal(pins.isVerified(7), false);

  const again = await load();
  assert.equal(again.check(bob), "same");
  assert.deepEqual(again.acceptedSigningKeys(7), [bob.signing_public_key]);
});

test("pinning the same keys again is a no-op that writes nothing", async () => {
  const { server, load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const pins = await load();
  await pins.pin(bob);
  await pins.pin({ ...bob, username: "Bob" });
  assert.equal(pins.check({ ...bob, username: "BOB" }), "same");
  assert.equal(server.puts, 1);
});

test("a different key is 'changed', stays changed (pin refuses) until accepted", async () => {
  const { server, load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const bobReset = await directoryEntry(7, "bob", 2);
  const pins = await load();
  await pins.pin(bob);
  assert.equal(pins.check(bobReset), "changed");
  await assert.rejects(pins.pin(bobReset), PinError);
  assert.equal(pins.check(bobReset), "changed");
  assert.equal((await load()).check(bobReset), "changed", "a new login still warns");
  assert.equal(server.version, 2);

  await pins.accept(bobReset);
  assert.equal(pins.check(bobReset), "same");
  assert.equal(pins.check(bob), "changed", "going back to the old key is a change too");
  assert.equal((await load()).check(bobReset), "same");
});

test("any difference from the current pin is a change: agreement key, key version or username", async () => {
  const { load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const other = await directoryEntry(7, "bob");
  const pins = await load();
  await pins.pin(bob);
  assert.equal(pins.check({ ...bob, agreement_public_key: other.agreement_public_key }), "changed");
  assert.equal(pins.check({ ...bob, key_version: 2 }), "changed");
  assert.equal(pins.check({ ...bob, username: "mallory" }), "changed");
  assert.equal(pins.check({ ...bob, id: 8 }), "new");
});

test("accept clears verified, and acceptedSigningKeys keeps every accepted key for old messages", async () => {
  const { now, load } = await setup();
  const v1 = await directoryEntry(7, "bob");
  const v2 = await directoryEntry(7, "bob", 2);
  const v3 = await directoryEntry(7, "bob", 3);
  const pins = await load();
  await pins.pin(v1);
  await pins.markVerified(v1);
  assert.equal(pins.isVerified(7), true);
  now.tick();
  await pins.accept(v2);
  assert.equal(pins.isVerified(7), false);
  now.tick();
  await pins.accept(v3);
  const expected = [v1.signing_public_key, v2.signing_public_key, v3.signing_public_key];
  assert.deepEqual(pins.acceptedSigningKeys(7), expected);
  assert.deepEqual((await load()).acceptedSigningKeys(7), expected);
  assert.equal(pins.current(7)?.key_version, 3);
  assert.deepEqual(pins.acceptedSigningKeys(99), []);
});

test("markVerified refuses an identity that is not the current pin", async () => {
  const { server, load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const mallory = await directoryEntry(7, "bob");
  const pins = await load();
  await assert.rejects(pins.markVerified(bob), PinError, "not pinned yet");
  await pins.pin(bob);
  await assert.rejects(pins.markVerified(mallory), PinError);
  await assert.rejects(pins.markVerified({ ...bob, key_version: 2 }), PinError);
  assert.equal(pins.isVerified(7), false);
  assert.equal(server.version, 2);
  await pins.markVerified(bob);
  assert.equal(pins.isVerified(7), true);
  assert.equal((await load()).isVerified(7), true);
});

test("an identity whose agreement key is not signed by its signing key is never pinned", async () => {
  const { server, load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const mallory = await directoryEntry(7, "bob");
  const pins = await load();
  const swapped = { ...bob, agreement_public_key: mallory.agreement_public_key };
  await assert.rejects(pins.pin(swapped), PinError);
  await assert.rejects(pins.accept(swapped), PinError);
  await assert.rejects(pins.pin({ ...bob, agreement_signature: undefined }), PinError);
  await assert.rejects(pins.pin({ ...bob, signing_public_key: toBase64(new Uint8Array(31)) }), TypeError);
  await assert.rejects(pins.pin({ ...bob, id: 0 }), TypeError);
  assert.equal(server.puts, 0);
});

test("the sealed blob holds no username or key in clear, and opens only under the account key", async () => {
  const { server, accountKey, load } = await setup("alice_owner");
  const bob = await directoryEntry(7, "bob_the_builder");
  const pins = await load("alice_owner");
  await pins.pin(bob);
  const stored = /** @type {Sealed} */ (server.sealed);
  const onTheWire = JSON.stringify(stored);
  const ciphertextBytes = fromBase64(stored.ciphertext);
  const asLatin1 = String.fromCharCode(...ciphertextBytes);
  for (const secret of ["bob_the_builder", "alice_owner", bob.signing_public_key, bob.agreement_public_key]) {
    assert.ok(!onTheWire.includes(secret), `${secret} is visible on the wire`);
    assert.ok(!asLatin1.includes(secret), `${secret} is visible in the ciphertext`);
  }
  for (const raw of [fromBase64(bob.signing_public_key), fromBase64(bob.agreement_public_key)]) {
    assert.ok(!asLatin1.includes(String.fromCharCode(...raw)));
  }
  const state = await openJson(accountKey, stored, "securechat/trust/v1|alice_owner");
  assert.equal(state.v, 2);
  assert.equal(state.pins["7"].username, "bob_the_builder");
});

test("a blob sealed for alice refuses to open as bob's (IntegrityError)", async () => {
  const { server, accountKey, load } = await setup();
  await (await load("alice")).pin(await directoryEntry(7, "carol"));
  await assert.rejects(load("bob"), IntegrityError);
  await assert.rejects(
    Pins.load({ accountKey: await generateAccountKey(), username: "alice", ownerId: 1, fetchJson: server.fetchJson }),
    IntegrityError,
    "another account key",
  );
  assert.equal((await load("ALICE")).check(await directoryEntry(8, "dave")), "new", "the owner in any case opens it");
});

test("a flipped byte in the stored blob is an IntegrityError, and so is a malformed one", async () => {
  const { server, load } = await setup();
  await (await load()).pin(await directoryEntry(7, "bob"));
  const good = /** @type {Sealed} */ (server.sealed);
  for (const field of /** @type {const} */ (["iv", "ciphertext"])) {
    const bytes = fromBase64(good[field]);
    bytes[bytes.length - 1] ^= 0x01;
    server.sealed = { ...good, [field]: toBase64(bytes) };
    await assert.rejects(load(), IntegrityError, field);
  }
  server.sealed = { iv: good.iv, ciphertext: "not base64" };
  await assert.rejects(load(), IntegrityError);
  server.sealed = good;
  await load();
});

test("a conflict during a write from a tampered blob propagates the IntegrityError", async () => {
  const { server, load } = await setup();
  const pins = await load();
  await (await load()).pin(await directoryEntry(8, "carol"));
  const bytes = fromBase64(/** @type {Sealed} */ (server.sealed).ciphertext);
  bytes[0] ^= 0x80;
  server.sealed = { .../** @type {Sealed} */ (server.sealed), ciphertext: toBase64(bytes) };
  await assert.rejects(pins.pin(await directoryEntry(7, "bob")), IntegrityError);
});

test("two tabs writing one after the other: the stale one gets 409, merges, and both end with the union", async () => {
  const { server, load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const carol = await directoryEntry(8, "carol");
  const tabA = await load();
  const tabB = await load();
  await tabA.pin(bob);
  await tabB.pin(carol);
  assert.equal(server.conflicts, 1);
  assert.equal(server.version, 3);
  assert.deepEqual(tabB.userIds().sort(), ["7", "8"]);
  await tabA.refresh();
  assert.deepEqual(tabA.userIds().sort(), ["7", "8"]);
  assert.equal(tabA.version, 3);
  assert.deepEqual((await load()).userIds().sort(), ["7", "8"]);
});

test("two tabs writing at the same moment both end up with the union", async () => {
  const { server, load } = await setup();
  const people = await Promise.all([7, 8, 9, 10].map((id) => directoryEntry(id, `user${id}`)));
  const tabA = await load();
  const tabB = await load();
  await Promise.all([tabA.pin(people[0]), tabB.pin(people[1]), tabA.pin(people[2]), tabB.pin(people[3])]);
  assert.ok(server.conflicts >= 1, "the fake really conflicted");
  await Promise.all([tabA.refresh(), tabB.refresh()]);
  const all = ["10", "7", "8", "9"];
  assert.deepEqual(tabA.userIds().sort(), all);
  assert.deepEqual(tabB.userIds().sort(), all);
  assert.deepEqual((await load()).userIds().sort(), all);
});

test("merge: the later acceptance wins, key lists unite, verified only for the merged current key", async () => {
  const { now, load } = await setup();
  const v1 = await directoryEntry(7, "bob");
  const v2 = await directoryEntry(7, "bob", 2);
  const tabA = await load();
  await tabA.pin(v1);
  const tabB = await load();
  await tabB.markVerified(v1); // B verified v1 ...
  now.tick();
  await tabA.accept(v2); // ... while A, unaware, accepted a newer key: 409, merge
  assert.equal(tabA.check(v2), "same");
  assert.equal(tabA.isVerified(7), false, "B verified v1, not the current v2");
  assert.deepEqual(tabA.acceptedSigningKeys(7), [v1.signing_public_key, v2.signing_public_key]);
  await tabB.refresh();
  assert.equal(tabB.check(v2), "same");
  assert.equal(tabB.isVerified(7), false);
});

test("merge: a verification of the same current key survives another tab's unrelated write", async () => {
  const { load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const tabA = await load();
  await tabA.pin(bob);
  const tabB = await load();
  await tabA.markVerified(bob);
  await tabB.pin(await directoryEntry(8, "carol")); // 409, merge: equal accepted_at, A's verified kept
  assert.equal(tabB.isVerified(7), true);
  assert.equal((await load()).isVerified(7), true);
});

test("mergeStates is symmetric for users on both sides", async () => {
  const k = (/** @type {string} */ s, /** @type {string} */ at) => ({
    signing_public_key: s,
    agreement_public_key: s + "-x",
    key_version: 1,
    accepted_at: at,
  });
  const [day1, day2, day3] = ["2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z"];
  const a = {
    v: /** @type {1} */ (1),
    pins: { 7: { username: "bob", keys: [k("K1", day1), k("K2", day3)], verified: true } },
  };
  const b = {
    v: /** @type {1} */ (1),
    pins: {
      7: { username: "bob", keys: [k("K1", day1), k("K3", day2)], verified: true },
      8: { username: "carol", keys: [k("C1", day1)], verified: false },
    },
  };
  const ab = mergeStates(a, b);
  assert.deepEqual(ab, mergeStates(b, a));
  assert.deepEqual(ab.pins[7].keys.map((x) => x.signing_public_key), ["K1", "K3", "K2"]);
  assert.equal(ab.pins[7].verified, true, "a verified K2 and K2 is current");
  assert.deepEqual(Object.keys(ab.pins).sort(), ["7", "8"]);
});

test("save gives up after 3 retries when every write conflicts", async () => {
  const { server, load } = await setup();
  const pins = await load();
  server.alwaysConflict = true;
  await assert.rejects(pins.pin(await directoryEntry(7, "bob")), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, "conflict");
    return true;
  });
  assert.equal(server.puts, 4);
});

test("other write errors are not retried", async () => {
  const { server, accountKey } = await setup();
  let puts = 0;
  const pins = await Pins.load({
    accountKey,
    username: "alice",
    ownerId: 1,
    seenBackend: new MemorySeenBackend(),
    fetchJson: server.fetchJson,
    putJson: async () => {
      puts++;
      throw new ApiError({ code: "network", detail: "offline" });
    },
  });
  await assert.rejects(pins.pin(await directoryEntry(7, "bob")), (error) => error instanceof ApiError);
  assert.equal(puts, 1);
});

test("a trust store in an unknown format is refused rather than overwritten", async () => {
  const { server, accountKey, load } = await setup();
  server.sealed = await sealJson(accountKey, { v: 3, owner: "1", counter: 5, pins: {} }, aadTrust("alice"));
  server.version = 1;
  await assert.rejects(load(), /unsupported trust store format/);
  server.sealed = await sealJson(accountKey, { v: 2, owner: "1", counter: 5, pins: { 7: { username: "bob" } } }, aadTrust("alice"));
  await assert.rejects(load(), /malformed/);
});

test("a key under another name than the one pinned, or under a name pinned for someone else, is never accepted", async () => {
  const { load } = await setup();
  const bob = await directoryEntry(7, "bob");
  const mallory = await directoryEntry(9, "mallory");
  const pins = await load();
  await pins.pin(bob);
  await pins.pin(mallory);
  await assert.rejects(pins.accept({ ...(await directoryEntry(9, "bob", 2)) }), PinError, "mallory as bob");
  await assert.rejects(pins.accept({ ...(await directoryEntry(7, "robert", 2)) }), PinError, "bob renamed");
  assert.equal(pins.idOfUsername("bob"), "7");
  assert.equal(pins.usernameOf(9), "mallory");
});

test("two first sights at once cannot pin one name for two accounts", async () => {
  const { load } = await setup();
  const pins = await load();
  const results = await Promise.allSettled([pins.pin(await directoryEntry(3, "alice")), pins.pin(await directoryEntry(66, "alice"))]);
  assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  assert.ok(results.some((r) => r.status === "rejected" && r.reason instanceof PinError));
  assert.equal(pins.userIds().length, 1);
});

test("a reset's re-sealed store pins the owner's new key as current and keeps the old one for old messages", async () => {
  const { server, load, seenBackend } = await setup();
  const pins = await load();
  const before = await directoryEntry(1, "alice");
  await pins.pin(before);
  const after = await directoryEntry(1, "alice", 2);
  const newKey = await generateAccountKey();
  server.sealed = await pins.sealedFor(newKey, { owner: after });
  const reopened = await Pins.load({ accountKey: newKey, username: "alice", ownerId: 1, keyVersion: 2, fetchJson: server.fetchJson, seenBackend });
  assert.equal(reopened.check(after), "same");
  assert.deepEqual(reopened.acceptedSigningKeys(1), [before.signing_public_key, after.signing_public_key]);
});

test("this browser's record stops the server from serving keys from before a reset, another id, or another key", async () => {
  const { server, accountKey, options } = await setup();
  const pins = await Pins.load(options());
  await pins.pin(await directoryEntry(7, "bob"));
  // After a reset (key version 2) in this browser, the server serves the old keys again (the same password).
  const newKey = await generateAccountKey();
  const old = structuredClone(server.sealed);
  const resealed = await pins.sealedFor(newKey);
  server.sealed = resealed;
  await Pins.load(options("alice", { accountKey: newKey, keyVersion: 2 }));
  server.sealed = old;
  await assert.rejects(Pins.load(options("alice", { accountKey, keyVersion: 1 })), storeError("older"));
  // The same keys, but the server now says this account is another user id: the v1-era store would pass as its.
  server.sealed = resealed;
  await assert.rejects(Pins.load(options("alice", { accountKey: newKey, keyVersion: 2, ownerId: 99 })), storeError("foreign"));
  server.sealed = await sealJson(newKey, { v: 1, pins: {} }, aadTrust("alice"));
  await assert.rejects(Pins.load(options("alice", { accountKey: newKey, keyVersion: 2, ownerId: 99 })), storeError("foreign"));
  // Another account key at the same key version: the record does not open.
  await assert.rejects(
    Pins.load(options("alice", { accountKey: await generateAccountKey(), keyVersion: 2 })),
    (error) => error instanceof TrustStoreError,
  );
  assert.ok(accountKey);
});

test("a key is never rolled back: an older or equal key version is refused in place of the accepted one", async () => {
  const { pins, v1, v2 } = await bobChangedOnce();
  // The server serves bob's retired key again, or another key under the version already accepted.
  await assert.rejects(pins.accept(v1), /never rolled back/);
  const sameVersion = await directoryEntry(7, "bob", 2);
  assert.notEqual(sameVersion.signing_public_key, v2.signing_public_key);
  await assert.rejects(pins.accept(sameVersion), /never rolled back/);
  assert.equal(pins.current(7)?.signing_public_key, v2.signing_public_key);
});

test("a key accepted before comes back under no label: a retired key served as a newer version is refused", async () => {
  const { pins, v1, v2 } = await bobChangedOnce();
  // The server relabels bob's retired key as version 3, and his current one as version 99.
  await assert.rejects(pins.accept({ ...v1, key_version: 3 }), /never rolled back/);
  await assert.rejects(pins.accept({ ...v2, key_version: 99 }), /never rolled back/);
  await assert.rejects(pins.accept({ ...(await directoryEntry(7, "bob")), key_version: 1e300 }), TypeError);
  assert.equal(pins.current(7)?.signing_public_key, v2.signing_public_key);
  assert.equal(pins.current(7)?.key_version, 2);
});

/** Pins where bob (7) was first seen with key version 1 and his version 2 was accepted later. */
async function bobChangedOnce() {
  const { now, load } = await setup();
  const v1 = await directoryEntry(7, "bob");
  const v2 = await directoryEntry(7, "bob", 2);
  const pins = await load();
  await pins.pin(v1);
  now.tick();
  await pins.accept(v2);
  return { pins, v1, v2 };
}
