// @ts-check
// Each room keeps its own unsent text: what was written in one room is never what another room's composer holds.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Drafts } from "../../static/js/chat/drafts.js";

const GARDEN = "00000000-0000-4000-8000-000000000001";
const WORK = "00000000-0000-4000-8000-000000000002";

test("a draft kept in one room is that room's only", () => {
  const drafts = new Drafts();
  drafts.keep(GARDEN, "the roses need water");
  assert.equal(drafts.get(GARDEN), "the roses need water");
  assert.equal(drafts.get(WORK), "");
});

test("each room keeps its own draft, and the latest text kept replaces the one before", () => {
  const drafts = new Drafts();
  drafts.keep(GARDEN, "the roses");
  drafts.keep(WORK, "the report is late");
  drafts.keep(GARDEN, "the roses need water");
  assert.equal(drafts.get(GARDEN), "the roses need water");
  assert.equal(drafts.get(WORK), "the report is late");
});

test("an emptied composer keeps no draft", () => {
  const drafts = new Drafts();
  drafts.keep(GARDEN, "the roses need water");
  drafts.keep(GARDEN, "");
  assert.equal(drafts.get(GARDEN), "");
});

test("a sent draft is gone from its room, and only from its room", () => {
  const drafts = new Drafts();
  drafts.keep(GARDEN, "the roses need water");
  drafts.keep(WORK, "the report is late");
  drafts.clear(GARDEN);
  assert.equal(drafts.get(GARDEN), "");
  assert.equal(drafts.get(WORK), "the report is late");
});

test("with a store, kept drafts are written and come back in a new tab; a sent one is removed", async () => {
  /** @type {Map<string, string>} */
  const stored = new Map();
  const store = {
    load: async () => new Map(stored),
    save: async (/** @type {string} */ room, /** @type {string} */ text) => void (text ? stored.set(room, text) : stored.delete(room)),
  };
  const drafts = new Drafts(store);
  drafts.keep(GARDEN, "the roses need water");
  drafts.keep(WORK, "the report is late");
  drafts.clear(WORK);
  await drafts.written();
  const reloaded = new Drafts(store);
  await reloaded.load();
  assert.equal(reloaded.get(GARDEN), "the roses need water");
  assert.equal(reloaded.get(WORK), "");
});
