// @ts-check
// Small helpers the chat page's parts share: finding and making elements, reading an event's detail, and showing an
// action's error where its form says it. Text is always added as text nodes, never parsed as HTML.

import { FULL, HOUR } from "./when.js";

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * Whether a Date holds a time: one made from a number the server or a sender chose may not (past ±8.64e15 ms, or not
 * a number), and formatting it would throw.
 * @param {Date} time
 */
export function isTime(time) {
  return !Number.isNaN(time.getTime());
}

/**
 * A `<time>`: the hour and minute (or `shown`), in the reader's language, with the full date and time as its tooltip
 * ("time unknown" for no time).
 * @param {Date} time
 * @param {(time: Date) => string} [shown]
 * @param {Record<string, string>} [attrs]
 */
export function timeNode(time, shown = (t) => HOUR.format(t), attrs = {}) {
  if (!isTime(time)) return el("time", attrs, ["time unknown"]);
  return el("time", { ...attrs, datetime: time.toISOString(), title: FULL.format(time) }, [shown(time)]);
}

/** @param {Event} event */
export function detail(event) {
  return /** @type {CustomEvent} */ (event).detail;
}

/** @param {unknown} error */
export function message(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Act, with the error box `errorId` emptied first and showing the error if the action fails.
 * @param {string} errorId @param {() => Promise<void>} action
 */
export async function formAction(errorId, action) {
  const box = $(errorId);
  box.textContent = "";
  try {
    await action();
  } catch (error) {
    box.textContent = message(error);
  }
}

/**
 * Act on what a field holds, emptying it at once so the next can be typed meanwhile; on failure it is put back (if
 * nothing new was typed), for the user to correct.
 * @template T
 * @param {HTMLInputElement} input
 * @param {(value: string) => Promise<T>} action
 * @returns {Promise<T>}
 */
export async function taking(input, action) {
  const value = input.value;
  input.value = "";
  try {
    return await action(value);
  } catch (error) {
    if (!input.value) input.value = value;
    throw error;
  }
}

/**
 * Make ``parent``'s children exactly ``nodes``, in order, moving and creating as little as possible: nodes already
 * in place stay (no style or layout work for them), new ones go in one fragment per run, the rest are removed.
 * @param {HTMLElement} parent
 * @param {HTMLElement[]} nodes
 */
export function showInOrder(parent, nodes) {
  const wanted = new Set(nodes);
  let cursor = parent.firstChild;
  const fragment = document.createDocumentFragment();
  for (const node of nodes) {
    while (cursor && !wanted.has(/** @type {HTMLElement} */ (cursor))) {
      const gone = cursor;
      cursor = cursor.nextSibling;
      gone.remove();
    }
    if (node === cursor) {
      if (fragment.firstChild) parent.insertBefore(fragment, cursor);
      cursor = cursor.nextSibling;
    } else {
      fragment.append(node);
    }
  }
  while (cursor) {
    const gone = cursor;
    cursor = cursor.nextSibling;
    gone.remove();
  }
  if (fragment.firstChild) parent.append(fragment);
}
