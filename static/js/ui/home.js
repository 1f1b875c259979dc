// @ts-check
// The home page's fingerprint, computed here from the signing key this browser signs with (the public half kept
// with the unwrapped keys, checked against them at log-in), never the server's word for it.

import * as keystore from "../account/keystore.js";
import { fingerprint } from "../crypto/index.js";

const shown = /** @type {HTMLElement} */ (document.getElementById("own-fingerprint"));
const problem = /** @type {HTMLElement} */ (document.getElementById("fingerprint-error"));

async function main() {
  const keys = await keystore.load();
  const username = (document.body.dataset.username ?? "").toLowerCase();
  if (!keys || keys.username.toLowerCase() !== username) {
    throw new Error("This browser does not hold your keys, so it cannot show your fingerprint. Log in again.");
  }
  shown.textContent = await fingerprint(keys.identity.signing_public_key);
  shown.removeAttribute("aria-busy");
}

main().catch((error) => {
  shown.textContent = "unavailable";
  shown.removeAttribute("aria-busy");
  problem.textContent = error instanceof Error ? error.message : String(error);
  problem.hidden = false;
});
