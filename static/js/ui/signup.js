// @ts-check
// /accounts/signup/: create the account in the browser, then show the recovery key once.

import { passwordProblem, signUp, usernameProblem } from "../account/flows.js";
import { attachStrengthHint, field, handleForm } from "./forms.js";

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
    showRecoveryKey(user.username, recoveryKey);
  },
  fields: { username: "username" },
});

/**
 * @param {string} name
 * @param {string} recoveryKey formatted
 */
function showRecoveryKey(name, recoveryKey) {
  const output = /** @type {HTMLOutputElement} */ (document.getElementById("recovery-key"));
  const status = /** @type {HTMLElement} */ (document.getElementById("recovery-status"));
  const error = /** @type {HTMLElement} */ (document.getElementById("recovery-error"));
  output.value = recoveryKey;
  /** @type {HTMLElement} */ (document.getElementById("signup-step")).hidden = true;
  const step = /** @type {HTMLElement} */ (document.getElementById("recovery-step"));
  step.hidden = false;
  /** @type {HTMLElement} */ (step.querySelector("h1")).focus();

  /** @param {string} message */
  const say = (message) => {
    error.textContent = "";
    status.textContent = message;
  };

  document.getElementById("copy-recovery")?.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(recoveryKey);
      say("Copied.");
    } catch (reason) {
      selectText(output);
      status.textContent = "";
      error.textContent = `Could not copy (${reason instanceof Error ? reason.message : reason}). The key is selected: copy it by hand.`;
    }
  });

  document.getElementById("download-recovery")?.addEventListener("click", () => {
    const text =
      `SecureChat recovery key\n\nUsername: ${name}\nRecovery key: ${recoveryKey}\n\n` +
      "Keep this file somewhere safe and private. With it anyone can reset your password;\n" +
      "without it a forgotten password cannot be recovered.\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `securechat-recovery-key-${name}.txt`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say("Downloaded.");
  });

  document.getElementById("recovery-saved")?.addEventListener("click", () => location.assign("/rooms/"));
}

/** @param {HTMLElement} element */
function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}
