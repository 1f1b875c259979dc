// @ts-check
// What the four account pages share: one submission at a time, step-by-step progress, every
// error shown in the form's alert area (and the field at fault marked), a live strength hint.

import { AccountError } from "../account/flows.js";
import { ApiError } from "../net/api.js";
import { passwordStrength } from "./strength.js";

/**
 * @typedef {{message: string, field?: string | null}} Problem field = id of the input at fault
 * @typedef {(step: number, total: number, label: string) => void} OnProgress
 */

export class FormController {
  /** @param {HTMLFormElement} form */
  constructor(form) {
    this.form = form;
    this.error = /** @type {HTMLElement} */ (form.querySelector("[role=alert]"));
    this.progress = /** @type {HTMLProgressElement} */ (form.querySelector("progress"));
    this.status = /** @type {HTMLElement} */ (form.querySelector("[data-status]"));
    this.submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    this.busy = false;
  }

  /** @returns {HTMLInputElement[]} */
  get inputs() {
    return Array.from(this.form.querySelectorAll("input:not([type=hidden]), textarea"));
  }

  /** The button starts disabled in the HTML, so nothing is submitted before this script runs. */
  ready() {
    this.submit.disabled = false;
  }

  /** @param {boolean} busy */
  setBusy(busy) {
    this.busy = busy;
    this.submit.disabled = busy;
    this.form.setAttribute("aria-busy", String(busy));
    for (const input of this.inputs) input.readOnly = busy;
    this.progress.hidden = !busy;
    if (!busy) this.progress.value = 0;
  }

  /** @type {OnProgress} */
  onProgress = (step, total, label) => {
    this.progress.max = total;
    this.progress.value = step - 0.5; // a step is under way, not finished
    this.status.textContent = `Step ${step} of ${total}: ${label}`;
  };

  /** @param {string} message shown in the status line, e.g. "Password changed." */
  succeed(message) {
    this.progress.value = this.progress.max;
    this.status.textContent = message;
  }

  clear() {
    this.error.textContent = "";
    this.status.textContent = "";
    for (const input of this.inputs) input.removeAttribute("aria-invalid");
  }

  /** @param {Problem} problem */
  fail({ message, field }) {
    this.error.textContent = message;
    this.status.textContent = "";
    const input = field ? /** @type {HTMLInputElement | null} */ (this.form.querySelector(`#${field}`)) : null;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }
}

/**
 * Wires a form: validate synchronously, then run the flow with progress; on failure show why.
 * `done` runs after success with the form still disabled (a page that stays calls `ui.setBusy(false)`).
 * @template T
 * @param {HTMLFormElement} form
 * @param {{
 *   validate?: () => Problem | null,
 *   run: (onProgress: OnProgress) => Promise<T>,
 *   done: (result: T, ui: FormController) => void | Promise<void>,
 *   fields?: Record<string, string>,
 * }} options fields maps an error's field (server or flow name) to the id of its input
 * @returns {FormController}
 */
export function handleForm(form, { validate, run, done, fields = {} }) {
  const ui = new FormController(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // Set before the first await, so a second submit in the same tick is refused too.
    if (ui.busy) return;
    ui.clear();
    const problem = validate?.();
    if (problem) {
      ui.fail(problem);
      return;
    }
    ui.setBusy(true);
    let result;
    try {
      result = await run(ui.onProgress);
    } catch (error) {
      ui.setBusy(false);
      ui.fail(describeError(error, fields));
      if (!(error instanceof ApiError) && !(error instanceof AccountError)) console.error(error);
      return;
    }
    try {
      await done(result, ui);
    } catch (error) {
      ui.setBusy(false);
      ui.fail(describeError(error, fields));
      console.error(error);
    }
  });
  ui.ready();
  return ui;
}

/**
 * @param {unknown} error
 * @param {Record<string, string>} fields
 * @returns {Problem}
 */
export function describeError(error, fields) {
  if (error instanceof ApiError) {
    const field = error.field ? fields[error.field] ?? null : null;
    let message = error.detail;
    if (error.code === "rate_limited" && error.retryAfter !== null && !/try again/i.test(message)) {
      message += ` Try again in ${formatWait(error.retryAfter)}.`;
    }
    // A field with no input here is a bug in this page, not the user's doing: name it.
    if (error.field && !field) message += ` (field: ${error.field})`;
    return { message, field };
  }
  if (error instanceof AccountError) {
    return { message: error.message, field: error.field ? fields[error.field] ?? null : null };
  }
  if (error instanceof Error && error.name === "NotSupportedError") {
    return { message: "This browser lacks the cryptography SecureChat needs (Ed25519, X25519). Update it." };
  }
  if (error instanceof Error) return { message: `Something went wrong: ${error.message}` };
  return { message: `Something went wrong: ${String(error)}` };
}

/** @param {number} seconds */
export function formatWait(seconds) {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

/**
 * Keeps a hint under a new-password field up to date as the user types.
 * @param {HTMLInputElement} input
 * @param {HTMLElement} hint an aria-live region
 * @param {() => string} [username] to penalise passwords built from it
 */
export function attachStrengthHint(input, hint, username = () => "") {
  const initial = hint.textContent ?? "";
  const update = () => {
    const { label, advice } = passwordStrength(input.value, username());
    hint.textContent = input.value ? `${label}${advice ? ` ${advice}` : ""}` : initial;
    hint.dataset.strength = input.value ? label.replace(/^Strength: |\.$/g, "").toLowerCase() : "";
  };
  input.addEventListener("input", update);
  update();
}

/**
 * @param {string} id
 * @returns {HTMLInputElement}
 */
export function field(id) {
  const element = document.getElementById(id);
  if (!(element instanceof HTMLInputElement) && !(element instanceof HTMLTextAreaElement)) {
    throw new Error(`no input #${id} on this page`);
  }
  return /** @type {HTMLInputElement} */ (element);
}

/**
 * Only same-origin paths from ?next=, so a link cannot send a freshly signed-in user elsewhere.
 * @param {string} fallback
 * @returns {string}
 */
export function nextPath(fallback = "/") {
  const next = new URLSearchParams(location.search).get("next");
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin ? url.pathname + url.search + url.hash : fallback;
  } catch {
    return fallback;
  }
}
