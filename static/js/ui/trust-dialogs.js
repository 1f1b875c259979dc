// @ts-check
// The two trust dialogs: comparing a safety number (and marking a contact verified), and the
// blocking warning when a contact's key changed. Both are modal <dialog>s with text set as text.

// Every fingerprint and number shown is computed here from the key this browser uses (its own, or the one pinned for
// the contact), never taken from the server.

import { fingerprint, formatSafetyNumber, safetyNumber } from "../crypto/index.js";
import { el } from "./dom.js";

/**
 * @typedef {import("../chat/trust.js").Contact} Contact
 * @typedef {{username: string, signing_public_key: string}} Me
 */

/**
 * A modal dialog that opens with focus on its heading: a key typed for the page behind it (a space in the composer,
 * or one held down as it opens) lands on no button.
 * @param {string} id
 * @param {string} title
 * @returns {{dialog: HTMLDialogElement, body: HTMLElement, actions: HTMLElement}}
 */
function modal(id, title) {
  document.getElementById(id)?.remove();
  const heading = el("h2", { id: `${id}-title`, tabindex: "-1", autofocus: "" }, [title]);
  const body = el("div", { class: "dialog-body" });
  const actions = el("div", { class: "actions" });
  const dialog = /** @type {HTMLDialogElement} */ (
    el("dialog", { id, class: "trust-dialog", "aria-labelledby": `${id}-title` }, [heading, body, actions])
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  return { dialog, body, actions };
}

/**
 * @param {string} label
 * @param {() => void | Promise<void>} onClick
 * @param {string} [kind]
 */
function button(label, onClick, kind = "") {
  const node = el("button", { type: "button", class: kind }, [label]);
  node.addEventListener("click", onClick);
  return node;
}

/**
 * The safety number both people compare, in person or over another channel.
 * @param {Me} me
 * @param {Contact} contact
 * @param {{onVerify: () => Promise<void>}} actions
 */
export async function showSafetyNumber(me, contact, { onVerify }) {
  const { dialog, body, actions } = modal("safety-dialog", `Verify ${contact.username}`);
  const pinned = contact.signingKeys.at(-1);
  if (contact.status !== "trusted" || !pinned) {
    body.append(el("p", {}, [`${contact.username}'s key is not accepted, so there is nothing to verify yet.`]));
    actions.append(button("Close", () => dialog.close(), "secondary"));
    dialog.showModal();
    return;
  }
  const digits = await safetyNumber(
    { username: me.username, signingPublicKey: me.signing_public_key },
    { username: contact.username, signingPublicKey: pinned },
  );
  const groups = formatSafetyNumber(digits);
  body.append(
    el("p", {}, [
      `Compare this number with the one ${contact.username} sees for you — in person, or over a call you trust. `,
      "If they match, nobody is in between.",
    ]),
    el("p", { id: "safety-number", class: "safety-number", "aria-label": "Safety number" }, groups.map((g) => el("span", {}, [g]))),
    el("dl", { class: "fingerprints" }, [
      el("dt", {}, ["Your fingerprint"]),
      el("dd", {}, [el("code", { id: "own-fingerprint" }, [await fingerprint(me.signing_public_key)])]),
      el("dt", {}, [`${contact.username}'s fingerprint`]),
      el("dd", {}, [el("code", { id: "contact-fingerprint" }, [await fingerprint(pinned)])]),
    ]),
  );
  const status = el("p", { class: "status", role: "status" });
  body.append(status);
  if (contact.verified) {
    status.textContent = `You have verified ${contact.username}.`;
  } else {
    actions.append(
      button("Mark as verified", async () => {
        try {
          await onVerify();
          dialog.close();
        } catch (error) {
          status.textContent = error instanceof Error ? error.message : String(error);
        }
      }),
    );
  }
  actions.append(button("Close", () => dialog.close(), "secondary"));
  dialog.showModal();
}

/**
 * Blocking: until accepted, nothing is encrypted to the new key and nothing it signs is trusted.
 * @param {Contact} contact
 * @param {{onAccept: () => Promise<void>}} actions
 */
export function showKeyChange(contact, { onAccept }) {
  const { dialog, body, actions } = modal("key-change-dialog", `${contact.username}'s key changed`);
  dialog.setAttribute("role", "alertdialog");
  body.append(
    el("p", {}, [
      `The server now gives a different security key for ${contact.username}. `,
      "This happens when they reset their account — or when someone tries to listen in.",
    ]),
    el("p", {}, [
      contact.wasVerified
        ? `You had verified ${contact.username}. That verification does not cover the new key.`
        : `You had not verified ${contact.username}.`,
    ]),
    el("p", {}, [
      `Until you accept the new key, messages are not encrypted to ${contact.username}, and messages signed with `,
      "the new key are not shown as theirs. Ask them, over another channel, whether they reset their keys; ",
      "then compare safety numbers.",
    ]),
  );
  const status = el("p", { class: "error", role: "alert" });
  body.append(status);
  actions.append(
    button(
      "Accept new key",
      async () => {
        try {
          await onAccept();
          dialog.close();
        } catch (error) {
          status.textContent = error instanceof Error ? error.message : String(error);
        }
      },
      "danger",
    ),
    button("Not now", () => dialog.close(), "secondary"),
  );
  dialog.addEventListener("cancel", (event) => event.preventDefault());
  dialog.showModal();
}
