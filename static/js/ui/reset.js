// @ts-check
// /accounts/reset/: new keys for a signed-in user who lost both password and recovery key.

import { passwordProblem, resetIdentity } from "../account/flows.js";
import { attachStrengthHint, field, handleForm } from "./forms.js";
import { showRecoveryKey } from "./recovery-key.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("reset-form"));
const next = field("new-password");
const confirm = field("new-password-confirm");
const understood = /** @type {HTMLInputElement} */ (document.getElementById("reset-understood"));
const username = document.body.dataset.username ?? "";

attachStrengthHint(next, /** @type {HTMLElement} */ (document.getElementById("password-strength")), () => username);

handleForm(form, {
  validate() {
    const problem = passwordProblem(next.value);
    if (problem) return { message: problem, field: "new-password" };
    if (confirm.value !== next.value) return { message: "The passwords do not match.", field: "new-password-confirm" };
    if (!understood.checked) return { message: "Confirm that you understand what a reset does.", field: "reset-understood" };
    return null;
  },
  run: (onProgress) => resetIdentity({ username, newPassword: next.value, onProgress }),
  done({ user, recoveryKey }, ui) {
    ui.succeed("Your keys were reset.");
    next.value = "";
    confirm.value = "";
    /** @type {HTMLElement} */ (document.getElementById("reset-step")).hidden = true;
    showRecoveryKey(user.username, recoveryKey);
  },
  fields: {},
});
