// @ts-check
// Typing notices: shown only in the room they came from, for a while after the latest one, on a clock the test moves.
import assert from "node:assert/strict";
import { test } from "node:test";

import { TYPING_SHOWN_MS, TypingNotices } from "../../static/js/chat/typing.js";

const GARDEN = "00000000-0000-4000-8000-000000000001";
const WORK = "00000000-0000-4000-8000-000000000002";
const ALICE = 3;
const BOB = 4;

function clocked() {
  const clock = { now: 1_000_000 };
  const typing = new TypingNotices({ now: () => clock.now });
  return { clock, typing };
}

test("a notice shows in its own room only", () => {
  const { typing } = clocked();
  typing.seen(GARDEN, ALICE);
  assert.deepEqual(typing.typingIn(GARDEN), [ALICE]);
  assert.deepEqual(typing.typingIn(WORK), []);
  assert.deepEqual(typing.typingIn(null), []);
});

test("a notice shows until its time is up, and not after", () => {
  const { clock, typing } = clocked();
  typing.seen(GARDEN, ALICE);
  clock.now += TYPING_SHOWN_MS;
  assert.deepEqual(typing.typingIn(GARDEN), [ALICE]);
  clock.now += 1;
  assert.deepEqual(typing.typingIn(GARDEN), []);
});

test("a repeated notice keeps its sender shown for longer", () => {
  const { clock, typing } = clocked();
  typing.seen(GARDEN, ALICE);
  clock.now += 3000;
  typing.seen(GARDEN, ALICE);
  clock.now += 3000;
  assert.deepEqual(typing.typingIn(GARDEN), [ALICE]);
  clock.now += TYPING_SHOWN_MS;
  assert.deepEqual(typing.typingIn(GARDEN), []);
});

test("several people typing in a room are named in the order their notices first came", () => {
  const { clock, typing } = clocked();
  typing.seen(GARDEN, BOB);
  typing.seen(GARDEN, ALICE);
  typing.seen(WORK, ALICE);
  clock.now += 1000;
  typing.seen(GARDEN, BOB);
  assert.deepEqual(typing.typingIn(GARDEN), [BOB, ALICE]);
  assert.deepEqual(typing.typingIn(WORK), [ALICE]);
});

test("an expired notice is dropped in every room, not only the one asked about", () => {
  const { clock, typing } = clocked();
  typing.seen(WORK, ALICE);
  clock.now += TYPING_SHOWN_MS + 1;
  typing.typingIn(GARDEN);
  assert.equal(typing.rooms.size, 0);
});

test("how long a notice shows is the holder's to choose", () => {
  const clock = { now: 0 };
  const typing = new TypingNotices({ now: () => clock.now, shownMs: 100 });
  typing.seen(GARDEN, ALICE);
  clock.now = 101;
  assert.deepEqual(typing.typingIn(GARDEN), []);
});
