// @ts-check
// The recovery key, shown once (after sign-up or a key reset), with copy and download.

/**
 * @param {string} name
 * @param {string} recoveryKey formatted
 */
export function showRecoveryKey(name, recoveryKey) {
  // The key shown (the reset page also has a field of that id, where an old key is typed).
  const output = /** @type {HTMLOutputElement} */ (document.querySelector("#recovery-step output"));
  const status = /** @type {HTMLElement} */ (document.getElementById("recovery-status"));
  const error = /** @type {HTMLElement} */ (document.getElementById("recovery-error"));
  output.value = recoveryKey;
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
