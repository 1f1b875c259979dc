// @ts-check
// The chat socket gives up on a socket that never says `ready` and connects again (static/js/net/socket.js).
import assert from "node:assert/strict";
import { mock, test } from "node:test";

import { ChatSocket } from "../../static/js/net/socket.js";

/** A stand-in for the browser's WebSocket: records what the page does, lets the test play the server. */
class FakeWebSocket extends EventTarget {
  static OPEN = 1;
  /** @type {FakeWebSocket[]} */
  static made = [];
  readyState = 0;
  /** @type {{code: number, reason: string} | null} */
  closedWith = null;

  /** @param {string} url */
  constructor(url) {
    super();
    this.url = url;
    FakeWebSocket.made.push(this);
  }

  /** @param {number} code @param {string} reason */
  close(code, reason) {
    this.closedWith = { code, reason };
  }

  /** @param {any} frame */
  serverSays(frame) {
    this.readyState = FakeWebSocket.OPEN;
    this.dispatchEvent(Object.assign(new Event("message"), { data: JSON.stringify(frame) }));
  }
}

test("a socket that never says ready is closed and replaced; one that does is kept", (t) => {
  withFakeSocket(t);
  const socket = new ChatSocket("ws://test/ws/chat/", { initialDelayMs: 100, readyTimeoutMs: 1000 });
  /** @type {string[]} */
  const statuses = [];
  socket.addEventListener("status", (event) => statuses.push(/** @type {CustomEvent} */ (event).detail));

  socket.start();
  assert.equal(FakeWebSocket.made.length, 1);
  const wedged = FakeWebSocket.made[0];
  wedged.readyState = FakeWebSocket.OPEN; // accepted, but the server never serves it
  mock.timers.tick(999);
  assert.equal(wedged.closedWith, null);
  mock.timers.tick(1);
  assert.deepEqual(wedged.closedWith, { code: 4000, reason: "no ready" });
  assert.deepEqual(statuses, ["connecting", "offline"]);

  mock.timers.tick(200); // the backoff (100 ms, with jitter)
  assert.equal(FakeWebSocket.made.length, 2);
  const served = FakeWebSocket.made[1];
  served.serverSays({ type: "ready", user: 1, rooms: [] });
  assert.equal(socket.status, "online");
  mock.timers.tick(5000);
  assert.equal(served.closedWith, null, "a ready socket is not given up");
  assert.equal(FakeWebSocket.made.length, 2);

  // The late close event of the abandoned socket changes nothing.
  wedged.dispatchEvent(Object.assign(new Event("close"), { code: 1006 }));
  assert.equal(socket.status, "online");
  assert.equal(socket.ws, /** @type {any} */ (served));
});

/** @param {import("node:test").TestContext} t */
function withFakeSocket(t) {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const original = globalThis.WebSocket;
  globalThis.WebSocket = /** @type {any} */ (FakeWebSocket);
  t.after(() => {
    globalThis.WebSocket = original;
  });
  FakeWebSocket.made = [];
}

/** @param {FakeWebSocket} ws @param {number} code */
function serverCloses(ws, code) {
  ws.dispatchEvent(Object.assign(new Event("close"), { code }));
}

for (const [code, status] of [
  [4401, "signed-out"],
  [4403, "switched-off"],
  [4410, "keys-reset"],
  [4411, "password-changed"],
]) {
  test(`a close with ${code} (a session that ended) says "${status}" and does not reconnect`, (t) => {
    withFakeSocket(t);
    const socket = new ChatSocket("ws://test/ws/chat/", { initialDelayMs: 100 });
    socket.start();
    FakeWebSocket.made[0].serverSays({ type: "ready", user: 1, rooms: [] });
    serverCloses(FakeWebSocket.made[0], code);
    assert.equal(socket.status, status);
    mock.timers.tick(60_000);
    assert.equal(FakeWebSocket.made.length, 1);
  });
}

test("a close with 4013 (try again: output backed up, or the server's Redis broke) reconnects", (t) => {
  withFakeSocket(t);
  const socket = new ChatSocket("ws://test/ws/chat/", { initialDelayMs: 100 });
  socket.start();
  FakeWebSocket.made[0].serverSays({ type: "ready", user: 1, rooms: [] });
  serverCloses(FakeWebSocket.made[0], 4013);
  assert.equal(socket.status, "offline");
  mock.timers.tick(200);
  assert.equal(FakeWebSocket.made.length, 2);
});

test("a request refused as rate_limited is sent again after retry_after, and answered then", async (t) => {
  withFakeSocket(t);
  const socket = new ChatSocket("ws://test/ws/chat/");
  socket.start();
  const ws = FakeWebSocket.made[0];
  /** @type {any[]} */
  const sent = [];
  /** @type {any} */ (ws).send = (/** @type {string} */ text) => sent.push(JSON.parse(text));
  ws.serverSays({ type: "ready", user: 1, rooms: [] });
  const answer = socket.request({ op: "history", room: "r", before: null, limit: 50 });
  assert.equal(sent.length, 1);
  ws.serverSays({ type: "error", code: "rate_limited", op: "history", retry_after: 2, ref: sent[0].ref });
  mock.timers.tick(1999);
  assert.equal(sent.length, 1);
  mock.timers.tick(1);
  assert.deepEqual(sent[1], sent[0]);
  ws.serverSays({ type: "envelopes", ref: sent[0].ref, room: "r", items: [], more: false });
  assert.deepEqual((await answer).items, []);
});
