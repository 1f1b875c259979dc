// @ts-check
// The colour theme: a display preference of this browser, never anything security-relevant. "system" follows
// prefers-color-scheme; "light" and "dark" set data-theme on <html>, which the palettes of static/css/app.css key on.
// theme-boot.js applies the stored choice before the first paint: keep its key and values in step with these.

/** @typedef {"system" | "light" | "dark"} Theme */

/** @type {readonly Theme[]} */
export const THEMES = Object.freeze(["system", "light", "dark"]);
export const STORAGE_KEY = "securechat.theme";

/**
 * @param {unknown} value
 * @returns {value is Theme}
 */
export function isTheme(value) {
  return typeof value === "string" && /** @type {readonly string[]} */ (THEMES).includes(value);
}

/**
 * The stored choice: "system" when there is none, it is unknown, or storage is unavailable.
 * @returns {Theme}
 */
export function currentTheme() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage disabled: the default.
  }
  return isTheme(stored) ? stored : "system";
}

/**
 * Shows ``theme`` at once and remembers it for the next pages (and the other open tabs).
 * @param {Theme} theme
 */
export function applyTheme(theme) {
  if (!isTheme(theme)) throw new RangeError(`Unknown theme: ${String(theme)}`);
  const root = document.documentElement;
  if (theme === "system") root.removeAttribute("data-theme");
  else root.dataset.theme = theme;
  try {
    localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // Storage disabled: the choice holds for this page only.
  }
}
