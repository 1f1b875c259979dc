// @ts-check
// The connection's status line, with how many messages wait to be sent, and the banner where problems are said.

import { $ } from "./dom.js";

const STATUS_TEXT = {
  connecting: "Connecting…",
  online: "Connected",
  offline: "Offline — reconnecting…",
  "too-many": "Too many open tabs — close one; retrying…",
  "signed-out": "Signed out — log in again",
  "keys-reset": "Your keys were reset — log in again",
  "password-changed": "Password changed elsewhere — log in again",
  "switched-off": "Account switched off",
};
/** Said, as an alert, when the account's keys were reset elsewhere: this page's keys no longer work. */
const KEYS_RESET =
  "Your account's keys were reset, on another device or in another tab. This page's keys no longer work and " +
  "you were logged out everywhere else: log in again.";
/** Said when the password was changed in another session, which ended this one (its socket closed with 4411). */
const PASSWORD_CHANGED =
  "Your password was changed in another browser or on another device, which signed you out here. " +
  "Log in again with the new password.";
/** Said when the site's staff switched the account off (its sockets closed with 4403). */
const SWITCHED_OFF =
  "This account was switched off by the site's staff: you were signed out and cannot log in until they switch " +
  "it on again.";
const TOO_MANY_TABS =
  "You have too many SecureChat tabs or devices open at once. Close one; this page connects as soon as there is room.";
/** Statuses that are problems only the user can solve (close a tab, log in again): said where problems are said. */
const STATUS_PROBLEMS = new Map([
  ["too-many", TOO_MANY_TABS],
  ["keys-reset", KEYS_RESET],
  ["password-changed", PASSWORD_CHANGED],
  ["switched-off", SWITCHED_OFF],
]);

/** Say a problem in the banner; "" hides it. @param {string} text */
export function showProblem(text) {
  $("problem").textContent = text;
  $("problem").hidden = !text;
}

/**
 * The connection's status, and the messages still waiting to be sent.
 * @param {string} status
 * @param {number} pending how many messages wait to be sent
 */
export function showStatus(status, pending) {
  const waiting = pending ? ` · ${pending} message${pending > 1 ? "s" : ""} waiting to be sent` : "";
  $("connection").textContent = `${STATUS_TEXT[/** @type {keyof STATUS_TEXT} */ (status)] ?? status}${waiting}`;
  $("connection").dataset.status = status;
  const problem = STATUS_PROBLEMS.get(status);
  if (problem) showProblem(problem);
  else if ($("problem").textContent === TOO_MANY_TABS) showProblem(""); // there is room again
}
