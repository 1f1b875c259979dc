// @ts-check
// The room list's "when": minutes while recent, then the hour, "Yesterday", a weekday, a date.
import assert from "node:assert/strict";
import { test } from "node:test";

import { shortWhen } from "../../static/js/ui/when.js";

const NOW = new Date(2026, 11, 4, 15, 30).getTime(); // a Friday, 15:30 local time
const MINUTE = 60_000;

test("recent things say how many minutes ago", () => {
  assert.equal(shortWhen(NOW - 20_000, NOW), "now");
  assert.equal(shortWhen(NOW - 5 * MINUTE, NOW), "5 min");
  assert.equal(shortWhen(NOW - 59 * MINUTE, NOW), "59 min");
});

test("older ones: the hour today, then Yesterday, a weekday, a date", () => {
  assert.match(shortWhen(new Date(2026, 11, 4, 9, 5).getTime(), NOW), /09.05|9.05/);
  assert.equal(shortWhen(new Date(2026, 11, 3, 23, 59).getTime(), NOW), "Yesterday");
  const weekday = shortWhen(new Date(2026, 11, 1, 12, 0).getTime(), NOW);
  assert.ok(!/\d/.test(weekday), weekday); // a weekday's name
  assert.match(shortWhen(new Date(2026, 10, 2).getTime(), NOW), /2/);
  assert.match(shortWhen(new Date(2025, 10, 2).getTime(), NOW), /2025/);
});
