// @ts-check
// The one WebSocket of a tab: reconnects with backoff, and keeps every envelope that has no ack yet
// so it can be resent (same client_id, so the server stores it once) after a reconnect. A socket that
// does not say `ready` in time is given up and replaced: a server can accept a socket and then never
// serve it (a worker whose channel layer broke under it), and only a new socket gets the tab going again.

// Not signed in, or this browser's session was logged out (in another tab).
const CLOSE_UNAUTHENTICATED = 4401;
// The account was switched off by the site's staff.
const CLOSE_ACCOUNT_DISABLED = 4403;
// The user's keys were reset, in another tab or on another device: this page's keys are void.
const CLOSE_KEYS_RESET = 4410;
// The password was changed in another session (another browser or device), which signed this one out.
const CLOSE_PASSWORD_CHANGED = 4411;
// The user has too many sockets open (tabs, devices): try again, slowly, in case one closes.
const CLOSE_TOO_MANY_SOCKETS = 4429;
// Closes after which this page must not reconnect, and the status each one shows. Any other close (4013 among them:
// the server's side failed, or it had too much output waiting for this page) reconnects and syncs.
const FINAL_CLOSES = new Map([
  [CLOSE_UNAUTHENTICATED, "signed-out"],
  [CLOSE_ACCOUNT_DISABLED, "switched-off"],
  [CLOSE_KEYS_RESET, "keys-reset"],
  [CLOSE_PASSWORD_CHANGED, "password-changed"],
]);
// Errors after which the same envelope may succeed later; any other error is final for it.
const RETRYABLE = new Set(["unavailable", "rate_limited"]);

/**
 * @typedef {{room: string, envelope: any, resolve: (ack: any) => void, reject: (error: SocketError) => void}} Pending
 */

export class SocketError extends Error {
  /** @param {any} frame an `error` frame from the server */
  constructor(frame) {
    super(frame.detail || frame.code);
    this.name = "SocketError";
    this.code = frame.code;
    this.frame = frame;
  }
}

/**
 * Events (CustomEvent, data in `detail`): "status" ("connecting" | "online" | "offline" | "too-many" | "signed-out" |
 *   "keys-reset" | "password-changed" | "switched-off"),
 * "ready", "messages", "envelopes", "room", "presence", "typing", "error" (frames without a waiting caller),
 * "pending" (the number of unacknowledged envelopes changed).
 */
export class ChatSocket extends EventTarget {
  /**
   * @param {string} url e.g. `ws://127.0.0.1:8000/ws/chat/`
   * @param {{initialDelayMs?: number, maxDelayMs?: number, retryDelayMs?: number, readyTimeoutMs?: number}} [options]
   */
  constructor(url, { initialDelayMs = 500, maxDelayMs = 15000, retryDelayMs = 2000, readyTimeoutMs = 10000 } = {}) {
    super();
    this.url = url;
    this.initialDelayMs = initialDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.retryDelayMs = retryDelayMs;
    this.readyTimeoutMs = readyTimeoutMs;
    this.delayMs = initialDelayMs;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.readyTimer = undefined;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.stopped = false;
    this.status = "offline";
    /** @type {Map<string, Pending>} client_id → envelope waiting for its ack, in send order */
    this.pending = new Map();
    /** @type {Map<string, {frame: any, resolve: (frame: any) => void, reject: (error: SocketError) => void}>} */
    this.requests = new Map();
    this.nextRef = 1;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.ws?.close(1000);
  }

  /** Drop the connection as a network fault would; it reconnects. */
  drop() {
    this.ws?.close(4000, "dropped");
  }

  connect() {
    this.setStatus("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("message", (event) => this.onFrame(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => this.onClose(ws, event));
    this.readyTimer = setTimeout(() => this.giveUp(ws), this.readyTimeoutMs);
  }

  /**
   * No `ready` in time: close that socket and carry on as if it had closed (its close event, which a wedged
   * server may delay, is ignored then), so the usual backoff brings a new one.
   * @param {WebSocket} ws
   */
  giveUp(ws) {
    if (this.ws !== ws) return;
    ws.close(4000, "no ready");
    this.onClose(ws, /** @type {CloseEvent} */ ({ code: 4000, reason: "no ready" }));
  }

  /** @param {WebSocket} ws @param {CloseEvent} event */
  onClose(ws, event) {
    if (this.ws !== ws) return;
    this.ws = null;
    clearTimeout(this.readyTimer);
    for (const { reject } of this.requests.values()) {
      reject(new SocketError({ code: "offline", detail: "The connection was lost." }));
    }
    this.requests.clear();
    const final = FINAL_CLOSES.get(event.code);
    if (final) {
      this.stopped = true;
      this.setStatus(final);
      return;
    }
    if (event.code === CLOSE_TOO_MANY_SOCKETS) this.delayMs = this.maxDelayMs;
    this.setStatus(event.code === CLOSE_TOO_MANY_SOCKETS ? "too-many" : "offline");
    if (this.stopped) return;
    // Jitter keeps a crowd of tabs from reconnecting in lock-step after a server restart.
    const delay = this.delayMs * (0.75 + Math.random() * 0.5);
    this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
    setTimeout(() => this.connect(), delay);
  }

  /** @param {any} frame */
  onFrame(frame) {
    switch (frame.type) {
      case "ready":
        clearTimeout(this.readyTimer);
        this.delayMs = this.initialDelayMs;
        this.setStatus("online");
        this.emit("ready", frame);
        this.resendPending();
        return;
      case "ack":
        return this.settle(frame.client_id, (p) => p.resolve(frame));
      case "error":
        return this.onError(frame);
      default:
        if (frame.ref && this.requests.has(frame.ref)) {
          this.requests.get(frame.ref)?.resolve(frame);
          this.requests.delete(frame.ref);
          return;
        }
        this.emit(frame.type, frame);
    }
  }

  /** @param {any} frame */
  onError(frame) {
    const pending = frame.ref && this.pending.get(frame.ref);
    if (pending) {
      if (RETRYABLE.has(frame.code)) {
        this.emit("error", frame);
        setTimeout(() => this.transmit(frame.ref), this.retryDelayMs);
        return;
      }
      return this.settle(frame.ref, (p) => p.reject(new SocketError(frame)));
    }
    const request = frame.ref && this.requests.get(frame.ref);
    if (request && frame.code === "rate_limited") {
      // Over this connection's rate for the op (history, sync): the same request again once the server allows it.
      const ws = this.ws;
      setTimeout(() => {
        if (this.ws === ws && this.requests.get(frame.ref) === request) this.write(request.frame);
      }, 1000 * Math.max(1, Number(frame.retry_after) || 1));
      return;
    }
    if (request) {
      this.requests.delete(frame.ref);
      request.reject(new SocketError(frame));
      return;
    }
    this.emit("error", frame);
  }

  /**
   * Send an envelope; resolves with its ack, however many reconnects that takes.
   * @param {string} room
   * @param {any} envelope
   * @returns {Promise<any>}
   */
  sendEnvelope(room, envelope) {
    return new Promise((resolve, reject) => {
      this.pending.set(envelope.client_id, { room, envelope, resolve, reject });
      this.emit("pending", this.pending.size);
      this.transmit(envelope.client_id);
    });
  }

  /** Forget an envelope the user gave up on (it may still have been stored). @param {string} clientId */
  abandon(clientId) {
    this.settle(clientId, (p) => p.reject(new SocketError({ code: "abandoned", detail: "Not sent." })));
  }

  /** @param {string} clientId */
  transmit(clientId) {
    const pending = this.pending.get(clientId);
    if (pending) {
      this.write({ op: "send", room: pending.room, envelope: pending.envelope, ref: clientId });
    }
  }

  resendPending() {
    for (const clientId of this.pending.keys()) this.transmit(clientId);
  }

  /**
   * A request that gets one answer frame (sync, history).
   * @param {any} frame
   * @returns {Promise<any>}
   */
  request(frame) {
    const ref = `r${this.nextRef++}`;
    const sent = { ...frame, ref };
    return new Promise((resolve, reject) => {
      if (!this.write(sent)) {
        reject(new SocketError({ code: "offline", detail: "Not connected." }));
        return;
      }
      this.requests.set(ref, { frame: sent, resolve, reject });
    });
  }

  /** Fire and forget (typing). @param {any} frame */
  notify(frame) {
    this.write(frame);
  }

  /** @param {any} frame @returns {boolean} whether it went out */
  write(frame) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** @param {string} clientId @param {(p: Pending) => void} settleWith */
  settle(clientId, settleWith) {
    const pending = this.pending.get(clientId);
    if (!pending) return;
    this.pending.delete(clientId);
    settleWith(pending);
    this.emit("pending", this.pending.size);
  }

  /** @param {string} status */
  setStatus(status) {
    this.status = status;
    this.emit("status", status);
  }

  /** @param {string} type @param {any} detail */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
