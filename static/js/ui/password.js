// @ts-check
// /accounts/password/: re-wrap the account key under a key from the new password.

import { changePassword, passwordProblem } from "../account/flows.js";
import { attachStrengthHint, field, handleForm } from "./forms.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("password-form"));
const current = field("current-password");
const next = field("new-password");
const confirm = field("new-password-confirm");

attachStrengthHint(next, /** @type {HTMLElement} */ (document.getElementById("password-strength")), () =>
  document.body.dataset.username ?? "",
);

handleForm(form, {
  validate() {
    if (!current.value) return { message: "Enter your current password.", field: "current-password" };
    const problem = passwordProblem(next.value);
    if (problem) return { message: `New ${problem.charAt(0).toLowerCase()}${problem.slice(1)}`, field: "new-password" };
    if (confirm.value !== next.value) return { message: "The new passwords do not match.", field: "new-password-confirm" };
    if (next.value === current.value) return { message: "The new password is the same as the current one.", field: "new-password" };
    return null;
  },
  run: (onProgress) => changePassword({ currentPassword: current.value, newPassword: next.value, onProgress }),
  done(_user, ui) {
    form.reset();
    ui.setBusy(false);
    ui.succeed("Password changed. Use the new password from now on; your recovery key stays the same.");
  },
  fields: { current_auth_key: "current-password", auth_key: "new-password" },
});
