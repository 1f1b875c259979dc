// @ts-check
// /accounts/recover/: the recovery key unwraps the account key; a new password wraps it again.

import { parseRecoveryKey } from "../crypto/index.js";
import { passwordProblem, recoverAccount, usernameProblem } from "../account/flows.js";
import { attachStrengthHint, field, handleForm } from "./forms.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("recover-form"));
const username = field("username");
const recoveryKey = field("recovery-key");
const password = field("new-password");
const confirm = field("password-confirm");

attachStrengthHint(password, /** @type {HTMLElement} */ (document.getElementById("password-strength")), () =>
  username.value.trim(),
);

handleForm(form, {
  validate() {
    const nameProblem = usernameProblem(username.value.trim());
    if (nameProblem) return { message: nameProblem, field: "username" };
    try {
      parseRecoveryKey(recoveryKey.value);
    } catch (error) {
      return { message: error instanceof Error ? error.message : String(error), field: "recovery-key" };
    }
    const problem = passwordProblem(password.value);
    if (problem) return { message: `New ${problem.charAt(0).toLowerCase()}${problem.slice(1)}`, field: "new-password" };
    if (confirm.value !== password.value) return { message: "The passwords do not match.", field: "password-confirm" };
    return null;
  },
  run: (onProgress) =>
    recoverAccount({
      username: username.value.trim(),
      recoveryKey: recoveryKey.value,
      newPassword: password.value,
      onProgress,
    }),
  done(_user, ui) {
    ui.succeed("Account recovered. Signing you in…");
    form.reset();
    location.assign("/rooms/");
  },
  fields: { username: "username", recovery_key: "recovery-key", recovery_auth: "recovery-key", auth_key: "new-password" },
});
