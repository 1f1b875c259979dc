// @ts-check
// On every page: keys and sealed drafts in IndexedDB belong to the signed-in user only. A page served
// signed-out, or to someone else, wipes them; the Log out button wipes them before the session ends.

import * as keystore from "../account/keystore.js";
import { wipeDrafts } from "../chat/draft-store.js";

const username = document.body.dataset.username ?? "";
// An account that has no keys at all (staff made on the command line): nothing to hold, nothing to warn of.
const keyless = document.body.hasAttribute("data-keyless");

/** Everything of the account this browser holds: its keys, and the drafts sealed under them. */
function wipe() {
  return Promise.all([keystore.wipe(), wipeDrafts()]);
}

/** @param {string} message */
function warn(message) {
  const banner = document.getElementById("session-warning");
  if (banner) {
    banner.textContent = message;
    banner.hidden = false;
  }
}

async function reconcile() {
  if (!username) {
    await wipe();
    return;
  }
  const stored = await keystore.load();
  if (stored && stored.username.toLowerCase() !== username.toLowerCase()) {
    await wipe();
  }
  if (keyless) return;
  if (!stored || stored.username.toLowerCase() !== username.toLowerCase()) {
    warn("This browser does not hold your keys. Log out and log in again to unlock them.");
  }
}

reconcile().catch((error) => {
  console.error(error);
  warn(error instanceof Error ? error.message : String(error));
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("form[data-logout]")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  // form.submit() does not fire "submit" again, so this runs once; the session ends even if the
  // wipe fails, and the signed-out page that follows wipes again.
  wipe()
    .catch((error) => console.error("could not wipe the key store before logging out", error))
    .finally(() => form.submit());
});
