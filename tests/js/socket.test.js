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
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const original = globalThis.WebSocket;
  globalThis.WebSocket = /** @type {any} */ (FakeWebSocket);
  t.after(() => {
    globalThis.WebSocket = original;
  });
  FakeWebSocket.made = [];
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
