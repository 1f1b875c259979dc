// @ts-check
// /accounts/signup/: create the account in the browser, then show the recovery key once.

import { passwordProblem, signUp, usernameProblem } from "../account/flows.js";
import { attachStrengthHint, field, handleForm } from "./forms.js";
import { showRecoveryKey } from "./recovery-key.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("signup-form"));
const username = field("username");
const password = field("password");
const confirm = field("password-confirm");

attachStrengthHint(password, /** @type {HTMLElement} */ (document.getElementById("password-strength")), () =>
  username.value.trim(),
);

handleForm(form, {
  validate() {
    const nameProblem = usernameProblem(username.value.trim());
    if (nameProblem) return { message: nameProblem, field: "username" };
    const passProblem = passwordProblem(password.value);
    if (passProblem) return { message: passProblem, field: "password" };
    if (confirm.value !== password.value) return { message: "The passwords do not match.", field: "password-confirm" };
    return null;
  },
  run: (onProgress) => signUp({ username: username.value.trim(), password: password.value, onProgress }),
  done({ user, recoveryKey }, ui) {
    ui.succeed("Account created.");
    password.value = "";
    confirm.value = "";
    /** @type {HTMLElement} */ (document.getElementById("signup-step")).hidden = true;
    showSignedIn(user.username);
    showRecoveryKey(user.username, recoveryKey);
  },
  fields: { username: "username" },
});

/**
 * The header was rendered before the account existed; say who is signed in now (the next page
 * renders the full header with Log out).
 * @param {string} name
 */
function showSignedIn(name) {
  const strong = document.createElement("strong");
  strong.textContent = name;
  const line = document.createElement("span");
  line.className = "signed-in";
  line.append("Signed in as ", strong);
  document.querySelector(".account-nav")?.replaceChildren(line);
}
