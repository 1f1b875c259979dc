// @ts-check
// One message of the conversation as an article: who sent it, when, its text, and what is in doubt about it. The
// sender's name is set as text, never as HTML; the text is rich text built from elements and text nodes
// (rich-text.js). A message that continues its sender's run shows no avatar, and its name and time only to assistive
// technology and on hover or focus — each article still says who sent it and when.

import { avatar } from "./avatar.js";
import { el, timeNode } from "./dom.js";
import { renderRichText } from "./rich-text.js";

/** A genuine message of a kind this page cannot show (a newer version's, or one it has no view for yet). */
export const NEWER_VERSION = "This message needs a newer version of SecureChat.";

// The full date and time, shown as a time's tooltip: "Friday, 4 December 2026 at 14:03" in the reader's language.

/** Why a message is not shown, by the reason it failed verification. */
const REASONS = {
  bad_signature: "its signature does not match the sender's key — it may have been forged or altered",
  no_wrap: "it was not encrypted for you",
  decrypt_failed: "it could not be decrypted with your keys — sent before a key reset, or altered",
  malformed: "it is malformed",
  wrong_room: "it was made for another room",
  wrong_sender: "it claims another sender",
  key_not_accepted: "it is signed with a new key of the sender that you have not accepted",
  retired_key: "it is signed with a retired key: one the sender replaced before it was stored, which may be in someone else's hands",
  unknown_key: "it names a key of the sender's that you never accepted",
  key_mismatch: "its content key is not the one its sender committed to — members may have been given different texts",
  unknown_sender: "the sender's keys are missing or invalid",
  unknown_roster: "it names a member list that is not in this room's signed list (forged, or a fork)",
  wrong_members: "it was encrypted for other people than the room's signed member list",
};
/** What is in doubt about a message shown, by the timeline's warning. */
const WARNINGS = {
  stale: (/** @type {string} */ sender) =>
    `⚠ ${sender} is sending to an out-of-date member list: someone no longer in the room may read this.`,
  unsigned: () => "⚠ Sent without the room's signed member list, after the room had one.",
  out_of_order: (/** @type {string} */ sender, mine = false) =>
    mine
      ? "⚠ Out of order: you sent this before a message of yours shown above it."
      : `⚠ Out of order: ${sender} sent this before a message of theirs shown above it.`,
  downgraded: (/** @type {string} */ sender, mine = false) =>
    `⚠ Sent in an older format after ${mine ? "your" : `${sender}'s`} newer messages here: its place in the conversation is not checked.`,
  forked: (/** @type {string} */ sender, mine = false) =>
    `⚠ This does not follow on from ${mine ? "your" : `${sender}'s`} previous message here: the server may be showing you a different conversation from the one others see.`,
};

/**
 * Whether a message is one whose verification failed (shown as a warning in place of its text).
 * @param {import("../chat/client.js").Message} msg
 * @param {import("../chat/timeline.js").Warning} warning
 */
export function notShown(msg, warning) {
  return msg.status === "failed" || warning === "retired";
}

/**
 * @param {import("../chat/client.js").Message} msg
 * @param {number | null} me
 * @param {boolean} verified whether to show the sender's verified badge
 * @param {import("../chat/timeline.js").Warning} warning
 * @param {{continued?: boolean, avatarName?: string}} [options] `continued`: the message follows one of its
 *   sender's in the same run (no avatar; name and time for assistive technology and on hover); `avatarName`: the
 *   name whose initials the avatar shows (the sender's)
 * @returns {HTMLElement}
 */
export function renderMessage(msg, me, verified, warning, { continued = false, avatarName = msg.senderName } = {}) {
  const mine = msg.sender === me;
  const header = el("header", {}, [
    el("span", { class: "sender" }, [mine ? "You" : msg.senderName]),
    ...(verified ? [el("span", { class: "badge-verified" }, ["verified"])] : []),
    timeNode(new Date(msg.sentAt)),
  ]);
  const classes = ["message", msg.status, ...(mine ? ["mine"] : []), ...(continued ? ["continued"] : [])];
  const attrs = { class: classes.join(" "), "data-key": msg.key };
  if (msg.id !== null) attrs["data-id"] = String(msg.id);
  /** @type {HTMLElement[]} */
  const children = continued ? [header] : [avatar(msg.sender, avatarName), header];
  if (notShown(msg, warning)) {
    const reason = warning === "retired" ? "retired_key" : msg.reason;
    const why = REASONS[/** @type {keyof REASONS} */ (reason)] ?? reason;
    children.push(el("p", { class: "warning" }, [`⚠ Message not shown: failed verification — ${why}.`]));
    return el("article", attrs, children);
  }
  if (msg.kind === "unsupported") {
    children.push(el("p", { class: "text unsupported" }, [NEWER_VERSION]));
    return el("article", attrs, children);
  }
  children.push(el("div", { class: "text rich-text" }, renderRichText(msg.text ?? "")));
  if (warning) children.push(el("p", { class: "warning" }, [WARNINGS[warning](msg.senderName, mine)]));
  if (msg.status === "pending") children.push(el("span", { class: "state" }, ["Sending…"]));
  if (msg.status === "rejected") {
    children.push(
      el("p", { class: "state-line" }, [
        el("span", { class: "state error" }, [`Not sent: ${msg.reason}`]),
        " ",
        el("button", { type: "button", class: "link retry" }, ["Retry"]),
      ]),
    );
  }
  return el("article", attrs, children);
}
