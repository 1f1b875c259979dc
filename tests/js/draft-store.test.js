// @ts-check
// Drafts survive a reload sealed under the account key: what is stored is ciphertext bound to the account and the
// room, a record moved to another room or altered does not open, and the last write to a room wins.
import assert from "node:assert/strict";
import { test } from "node:test";

import { DraftStore, wipeDrafts } from "../../static/js/chat/draft-store.js";

const ROOM = "00000000-0000-4000-8000-000000000001";
const OTHER = "00000000-0000-4000-8000-000000000002";

function memoryBackend() {
  /** @type {Map<string, any>} */
  const records = new Map();
  return {
    records,
    all: async (/** @type {string} */ prefix) => [...records].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v),
    put: async (/** @type {string} */ key, /** @type {any} */ record) => void records.set(key, structuredClone(record)),
    delete: async (/** @type {string} */ key) => void records.delete(key),
    clear: async () => records.clear(),
  };
}

const accountKey = () => crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);

test("a draft comes back after a reload, and only ciphertext is stored", async () => {
  const backend = memoryBackend();
  const key = await accountKey();
  const store = new DraftStore({ accountKey: key, username: "Alice", backend });
  await store.save(ROOM, "half a thought about the merger");
  assert.ok(!JSON.stringify([...backend.records]).includes("merger"));
  const again = new DraftStore({ accountKey: key, username: "alice", backend });
  assert.deepEqual(await again.load(), new Map([[ROOM, "half a thought about the merger"]]));
  await again.save(ROOM, "");
  assert.deepEqual(await again.load(), new Map());
});

test("a draft moved to another room, altered, or sealed under another key is not shown", async () => {
  const backend = memoryBackend();
  const key = await accountKey();
  const store = new DraftStore({ accountKey: key, username: "alice", backend });
  await store.save(ROOM, "for the team only");
  const [[, record]] = [...backend.records];
  backend.records.set(`alice:${OTHER}`, { ...record, room: OTHER });
  assert.deepEqual(await store.load(), new Map([[ROOM, "for the team only"]]));
  const flipped = { ...record, ciphertext: `A${record.ciphertext.slice(1)}` };
  backend.records.set(`alice:${ROOM}`, flipped);
  assert.deepEqual(await store.load(), new Map());
  await store.save(ROOM, "sealed again");
  const stranger = new DraftStore({ accountKey: await accountKey(), username: "alice", backend });
  assert.deepEqual(await stranger.load(), new Map());
  // Another account in this browser never sees them.
  assert.deepEqual(await new DraftStore({ accountKey: key, username: "bob", backend }).load(), new Map());
});

test("writes to a room go in order: the last one wins; log-out wipes them all", async () => {
  const backend = memoryBackend();
  const store = new DraftStore({ accountKey: await accountKey(), username: "alice", backend });
  const writes = ["h", "he", "hel", "hell", "hello"].map((text) => store.save(ROOM, text));
  await Promise.all(writes);
  assert.deepEqual(await store.load(), new Map([[ROOM, "hello"]]));
  await wipeDrafts(backend);
  assert.equal(backend.records.size, 0);
});
