// @ts-check
// A sender's initials in a coloured circle, beside the first message of each of their runs. The colour comes from
// the user's id (stable, and not a name the server could relabel), from a palette of AVATAR_COLOURS defined in
// static/css/chat.css for both themes. It is decoration: the sender's name is in the message as text.

import { el } from "./dom.js";

/** How many avatar colours the palette has (`.avatar-1` … `.avatar-8`). */
export const AVATAR_COLOURS = 8;

/**
 * One or two letters for a username: the first letters of its first two parts when both are words ("mary.jane" →
 * "MJ"), else its first letter ("alice", "alice_7f3a" → "A"). Parts are what `.`, `_`, `-` or spaces separate; a
 * word is letters only.
 * @param {string} name
 */
export function initials(name) {
  const [one, two] = name.split(/[._\-\s]+/);
  const word = (/** @type {string | undefined} */ part) => part !== undefined && /^\p{L}+$/u.test(part);
  const first = (/** @type {string} */ part) => Array.from(part)[0].toLocaleUpperCase();
  if (word(one) && word(two)) return first(one) + first(/** @type {string} */ (two));
  const letters = Array.from(name.trim());
  return letters.length ? letters[0].toLocaleUpperCase() : "?";
}

/** The palette entry of a user, 1 … AVATAR_COLOURS: neighbouring ids get different colours. @param {number} userId */
export function avatarColour(userId) {
  return (((Math.trunc(userId) % AVATAR_COLOURS) + AVATAR_COLOURS) % AVATAR_COLOURS) + 1;
}

/**
 * The avatar of a user, hidden from assistive technology (the name is said by the message itself).
 * @param {number} userId
 * @param {string} name
 */
export function avatar(userId, name) {
  return el("span", { class: `avatar avatar-${avatarColour(userId)}`, "aria-hidden": "true" }, [initials(name)]);
}
