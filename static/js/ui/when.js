// @ts-check
// When something happened, as a room list says it: "now", "5 min", the hour today, "Yesterday", the weekday this
// week, else the date. In the reader's language; the full date and time go in the element's title.

// One formatter each, made once: toLocaleTimeString would build a new one per call, a cost per message shown.
export const HOUR = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const WEEKDAY = new Intl.DateTimeFormat([], { weekday: "short" });
const DATE = new Intl.DateTimeFormat([], { day: "numeric", month: "short" });
const DATE_WITH_YEAR = new Intl.DateTimeFormat([], { day: "numeric", month: "short", year: "numeric" });
export const FULL = new Intl.DateTimeFormat([], { dateStyle: "full", timeStyle: "short" });
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * @param {number} at ms
 * @param {number} now ms
 * @returns {string}
 */
export function shortWhen(at, now) {
  const ago = now - at;
  if (ago < MINUTE) return "now";
  if (ago < 60 * MINUTE) return `${Math.floor(ago / MINUTE)} min`;
  const then = new Date(at);
  const today = new Date(now);
  today.setHours(0, 0, 0, 0);
  const start = today.getTime();
  if (at >= start) return HOUR.format(then);
  if (at >= start - DAY) return "Yesterday";
  if (at >= start - 6 * DAY) return WEEKDAY.format(then);
  return then.getFullYear() === today.getFullYear() ? DATE.format(then) : DATE_WITH_YEAR.format(then);
}
