// @ts-check
// /accounts/reset/: new keys for a signed-in user who proves, with the password or the recovery key, that it is them.

import { passwordProblem, resetIdentity } from "../account/flows.js";
import { attachStrengthHint, field, handleForm } from "./forms.js";
import { showRecoveryKey } from "./recovery-key.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("reset-form"));
const current = field("current-password");
const recovery = field("recovery-key");
const next = field("new-password");
const confirm = field("new-password-confirm");
const understood = /** @type {HTMLInputElement} */ (document.getElementById("reset-understood"));
const startEmpty = /** @type {HTMLInputElement} */ (document.getElementById("start-empty"));
const username = document.body.dataset.username ?? "";

attachStrengthHint(next, /** @type {HTMLElement} */ (document.getElementById("password-strength")), () => username);

handleForm(form, {
  validate() {
    if (!current.value && !recovery.value.trim()) {
      return { message: "Enter your current password or your recovery key.", field: "current-password" };
    }
    const problem = passwordProblem(next.value);
    if (problem) return { message: problem, field: "new-password" };
    if (confirm.value !== next.value) return { message: "The passwords do not match.", field: "new-password-confirm" };
    if (!understood.checked) return { message: "Confirm that you understand what a reset does.", field: "reset-understood" };
    return null;
  },
  run: (onProgress) =>
    resetIdentity({
      username,
      proof: current.value ? { password: current.value } : { recoveryKey: recovery.value },
      newPassword: next.value,
      startEmpty: startEmpty.checked,
      onProgress,
    }),
  done({ user, recoveryKey, pinsKept }, ui) {
    ui.succeed(
      pinsKept
        ? "Your keys were reset. Every other device was logged out."
        : "Your keys were reset. Every other device was logged out. You start with no trusted keys: compare safety " +
            "numbers again with the people you had verified.",
    );
    current.value = "";
    recovery.value = "";
    next.value = "";
    confirm.value = "";
    /** @type {HTMLElement} */ (document.getElementById("reset-step")).hidden = true;
    showRecoveryKey(user.username, recoveryKey);
  },
  fields: { current_auth_key: "current-password", current_recovery_auth: "recovery-key", "start-empty": "start-empty" },
});
