// @ts-check
// The open room's conversation: its messages and the lines between them (roster changes, accepted keys, missing
// messages, messages from before a key reset, days), older pages as the reader scrolls up, and the loading status.
// Only what changed is touched: paging back 1 000 messages stays linear. A sender's messages in a row (within
// GROUP_MS of the one before, on the same day, with no line between) form a run: only its first shows the avatar,
// the name and the time.

import { $, el, isTime, message, showInOrder, timeNode } from "./dom.js";
import { notShown, renderMessage } from "./message-view.js";
import { rosterLine } from "./roster-lines.js";

// The date above each day's first message: "Friday, 4 December 2026" in the reader's language.
const DAY_FORMAT = new Intl.DateTimeFormat([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });
/** The longest pause within a run of one sender's messages. */
export const GROUP_MS = 5 * 60 * 1000;

/**
 * @typedef {import("../chat/client.js").ChatClient} ChatClient
 * @typedef {import("../chat/client.js").Message} Message
 * @typedef {import("../chat/timeline.js").Warning} Warning
 * @typedef {import("./open-room.js").OpenRoom} OpenRoom
 */

export class Transcript {
  /**
   * @param {ChatClient} client
   * @param {OpenRoom} open
   * @param {() => void} rosterWarnings shows the open room's roster problems (whether a room without a roster may be
   *   written to depends on its history, `usableUnsigned`, so they are shown again with it)
   */
  constructor(client, open, rosterWarnings) {
    this.client = client;
    this.open = open;
    this.rosterWarnings = rosterWarnings;
    /** @type {WeakMap<object, {node: HTMLElement, text: string}>} each roster line as last drawn, by its step */
    this.lines = new WeakMap();
    /** @type {Map<string, {node: HTMLElement, text: string}>} each key-change, reset and day line as last drawn */
    this.keyLines = new Map();
    /** @type {WeakMap<Message, {node: HTMLElement, verified: boolean, warning: string | null, continued: boolean,
     * name: string}>} each message's article as last rendered: a message is a new object whenever it changes, so
     * an unchanged one keeps its node */
    this.rendered = new WeakMap();
    this.note = el("p", { class: "transcript-note" });
    this.newDivider = el("p", { class: "new-divider", role: "separator", "aria-label": "New messages" }, ["New messages"]);
    /** Whether the view stays at the newest message as messages come. */
    this.stickToBottom = true;
    this.loadingOlder = false;
  }

  start() {
    $("load-older").addEventListener("click", () => this.loadOlder());
    $("transcript").addEventListener("click", (event) => this.onClick(event));
    $("transcript").addEventListener("scroll", () => this.onScroll());
  }

  /** Show the open room's messages. */
  render() {
    const transcript = $("transcript");
    const state = this.open.id ? this.client.rooms.get(this.open.id) : null;
    if (!state) return;
    const wasAtBottom = this.stickToBottom;
    const heightBefore = transcript.scrollHeight;
    const topBefore = transcript.scrollTop;
    /** @type {HTMLElement[]} */
    const nodes = [];
    if (state.reachedStart) {
      const note =
        state.room.joined_after > 0
          ? "Messages from before you joined are not available to you."
          : "This is the beginning of the conversation.";
      if (this.note.textContent !== note) this.note.textContent = note;
      nodes.push(this.note);
    }
    const newAfter = this.open.newAfter;
    let divided = newAfter === null;
    /** @type {{message: Message, warning: Warning} | null} the message just before, if nothing came between */
    let previous = null;
    for (const item of this.client.timeline(state.room.id)) {
      if (item.type === "message") {
        const msg = item.message;
        if (!divided && msg.id !== null && msg.id > /** @type {number} */ (newAfter) && msg.sender !== this.client.userId) {
          // "New messages" above the first one not read when the room was opened; it starts a run of its own.
          nodes.push(this.newDivider);
          divided = true;
          previous = null;
        }
        nodes.push(this.messageNode(msg, item.warning, continues(previous, item)));
        previous = item;
        continue;
      }
      previous = null;
      if (item.type === "roster") nodes.push(this.lineNode(item.step));
      else if (item.type === "key") nodes.push(this.keyLineNode(item.key, item.change));
      else if (item.type === "day") nodes.push(this.dayNode(item.key, item.at));
      else if (item.type === "gap") nodes.push(this.gapLineNode(item.key, item.user, item.count));
      else nodes.push(this.resetLineNode(item.key, item.count));
    }
    showInOrder(transcript, nodes);
    this.rosterWarnings();
    $("load-older").hidden = state.reachedStart || !state.loaded;
    if (wasAtBottom) transcript.scrollTop = transcript.scrollHeight;
    else transcript.scrollTop = topBefore + (transcript.scrollHeight - heightBefore);
  }

  /**
   * The message's article: the one rendered before if neither it, its sender's verified badge nor its warning
   * changed since.
   * @param {Message} msg
   * @param {Warning} warning
   * @param {boolean} continued whether it continues its sender's run
   */
  messageNode(msg, warning, continued) {
    const me = this.client.userId;
    const verified = Boolean(msg.sender !== me && msg.status === "sent" && this.open.contacts.get(msg.sender)?.verified);
    const name = msg.sender === me ? this.client.nameOf(msg.sender) : msg.senderName;
    const known = this.rendered.get(msg);
    if (known && known.verified === verified && known.warning === warning && known.continued === continued && known.name === name) {
      return known.node;
    }
    const node = renderMessage(msg, me, verified, warning, { continued, avatarName: name });
    this.rendered.set(msg, { node, verified, warning, continued, name });
    return node;
  }

  /** A click on a refused message's Retry: the client sends its text again, as a new message. @param {Event} event */
  onClick(event) {
    const button = /** @type {HTMLElement} */ (event.target).closest?.("button.retry");
    const key = button?.closest("article.message")?.getAttribute("data-key");
    const roomId = this.open.id;
    if (!key || !roomId) return;
    this.stickToBottom = true;
    // A refusal again shows on the new message itself ("Not sent: …"), with its own Retry.
    this.client.retry(roomId, key).catch(() => undefined);
  }

  /**
   * A roster change as a line of the conversation ("alice added carol"), drawn once per entry.
   * @param {import("../roster/chain.js").Step} step
   */
  lineNode(step) {
    const body = step.entry.body;
    const who = (/** @type {number} */ id) => (id === this.client.userId ? "you" : this.client.nameOf(id));
    const before = this.client.rosters.rooms.get(body.room)?.steps[body.seq - 1]?.state ?? null;
    const said = rosterLine(step, { who, before });
    const text = said.startsWith("you ") ? `You${said.slice(3)}` : said;
    const known = this.lines.get(step);
    if (known?.text === text) return known.node;
    const node = conversationLine(text, body.at, { class: "roster-line", "data-seq": String(body.seq) });
    this.lines.set(step, { node, text });
    return node;
  }

  /**
   * A member's key this account accepted in place of an older one: a line that stays in the conversation.
   * @param {string} key
   * @param {import("../chat/timeline.js").KeyChange} change
   */
  keyLineNode(key, change) {
    const text = `${this.client.nameOf(change.user)}'s key changed. Compare safety numbers to verify the new one.`;
    return this.drawnOnce(key, text, () => conversationLine(text, change.at, { class: "roster-line key-line" }));
  }

  /**
   * Messages of one sender that the server did not serve, where they belong in their chain: a warning line.
   * @param {string} key
   * @param {number} user
   * @param {number} count
   */
  gapLineNode(key, user, count) {
    const who = user === this.client.userId ? "you" : this.client.nameOf(user);
    const what = count === 1 ? "A message" : `${count} messages`;
    const text = `⚠ ${what} from ${who} ${count === 1 ? "is" : "are"} missing here: the server did not deliver ${count === 1 ? "it" : "them"}.`;
    return this.drawnOnce(key, text, () => el("p", { class: "roster-line gap-line", role: "note" }, [el("span", { class: "line-text" }, [text])]));
  }

  /**
   * Messages encrypted for my keys from before my reset, in a row: one quiet line.
   * @param {string} key
   * @param {number} count
   */
  resetLineNode(key, count) {
    const text = `${count === 1 ? "1 message" : `${count} messages`} sent before your key reset: encrypted for your old keys, which no longer open them.`;
    return this.drawnOnce(key, text, () => el("p", { class: "roster-line reset-line" }, [el("span", { class: "line-text" }, [text])]));
  }

  /**
   * Where a day begins: its date, as a separator of the conversation.
   * @param {string} key
   * @param {number} at ms, a time on that day
   */
  dayNode(key, at) {
    const date = new Date(at);
    const text = isTime(date) ? DAY_FORMAT.format(date) : "Date unknown";
    return this.drawnOnce(key, text, () => el("p", { class: "day-separator", role: "separator", "aria-label": text }, [text]));
  }

  /**
   * The node drawn for `key` before, while what it says is unchanged; else a new one from `draw`.
   * @param {string} key
   * @param {string} text
   * @param {() => HTMLElement} draw
   */
  drawnOnce(key, text, draw) {
    const known = this.keyLines.get(key);
    if (known?.text === text) return known.node;
    const node = draw();
    this.keyLines.set(key, { node, text });
    return node;
  }

  /** Load the room's latest messages, saying so meanwhile. @param {string} roomId */
  async load(roomId) {
    const status = $("history-status");
    status.textContent = "Loading messages…";
    try {
      await this.client.openRoom(roomId);
      status.textContent = "";
    } catch (error) {
      status.textContent = `Could not load the messages: ${message(error)}`;
    }
  }

  onScroll() {
    const t = $("transcript");
    this.stickToBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 40;
    if (t.scrollTop < 40) this.loadOlder();
  }

  async loadOlder() {
    const roomId = this.open.id;
    if (!roomId || this.loadingOlder) return;
    const state = this.client.rooms.get(roomId);
    if (!state || state.reachedStart || !state.loaded) return;
    this.loadingOlder = true;
    this.stickToBottom = false;
    $("history-status").textContent = "Loading older messages…";
    try {
      await this.client.loadOlder(roomId);
      $("history-status").textContent = "";
    } catch (error) {
      $("history-status").textContent = `Could not load older messages: ${message(error)}`;
    } finally {
      this.loadingOlder = false;
    }
  }

  /** @param {{done: number, total: number}} progress */
  showProgress({ done, total }) {
    $("history-status").textContent = done < total ? `Decrypting messages… ${done} of ${total}` : "";
  }
}

/**
 * A line of the conversation that is not a message: what changed, and when.
 * @param {string} text
 * @param {number} at ms
 * @param {Record<string, string>} attrs
 */
function conversationLine(text, at, attrs) {
  return el("p", attrs, [el("span", { class: "line-text" }, [text]), " ", timeNode(new Date(at))]);
}

/**
 * Whether a message continues the run of the one just before it: the same sender, on the same day, at most GROUP_MS
 * later, and neither of them one that failed verification (their warnings stand alone).
 * @param {{message: Message, warning: Warning} | null} previous
 * @param {{message: Message, warning: Warning}} current
 */
export function continues(previous, current) {
  if (!previous) return false;
  const [a, b] = [previous.message, current.message];
  if (a.sender !== b.sender || notShown(a, previous.warning) || notShown(b, current.warning)) return false;
  const pause = b.sentAt - a.sentAt;
  return pause >= 0 && pause <= GROUP_MS && new Date(a.sentAt).toDateString() === new Date(b.sentAt).toDateString();
}
