// @ts-check
// Asking before a change to a room that cannot simply be taken back (leaving it, removing someone, handing it on,
// replacing or closing its invite link): a modal <dialog> that opens with the focus on Cancel, so a key pressed for
// the page behind it confirms nothing; Escape cancels. Names in the question are set as text.

import { el } from "./dom.js";

const ID = "confirm-dialog";

/**
 * @param {{title: string, text: string[], confirm: string, danger?: boolean}} question `title`: the question, as the
 *   dialog's heading and name; `text`: what happens, a paragraph each; `confirm`: the button that does it
 * @returns {Promise<boolean>} whether it was confirmed
 */
export function confirmAction({ title, text, confirm, danger = false }) {
  document.getElementById(ID)?.remove();
  const heading = el("h2", { id: `${ID}-title` }, [title]);
  const body = el("div", { id: `${ID}-text`, class: "dialog-body" }, text.map((line) => el("p", {}, [line])));
  const yes = el("button", { type: "button", class: danger ? "danger" : "" }, [confirm]);
  const no = el("button", { type: "button", class: "secondary", autofocus: "" }, ["Cancel"]);
  const dialog = /** @type {HTMLDialogElement} */ (
    el("dialog", { id: ID, class: "confirm-dialog", "aria-labelledby": heading.id, "aria-describedby": body.id }, [
      heading,
      body,
      el("div", { class: "actions" }, [yes, no]),
    ])
  );
  yes.addEventListener("click", () => dialog.close("confirm"));
  no.addEventListener("click", () => dialog.close("cancel"));
  document.body.append(dialog);
  return new Promise((resolve) => {
    // Escape closes it with no answer: cancelled.
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    dialog.showModal();
    no.focus();
  });
}
