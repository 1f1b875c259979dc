// @ts-check
// A rough password-strength hint. It only advises: the one rule enforced is the minimum length.
// The estimate is bits of a random string drawn from the character classes used, cut down for
// common words, the username, repeats and runs (what guessing tools try first).

import { MIN_PASSWORD_LENGTH } from "../account/flows.js";

const COMMON = [
  "password", "passwort", "qwerty", "azerty", "123456", "654321", "letmein", "welcome", "iloveyou",
  "admin", "monkey", "dragon", "sunshine", "princess", "football", "baseball", "abc123", "111111",
  "secret", "securechat", "trustno1", "master", "shadow", "superman", "changeme",
];
const RUNS = ["abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm"];

/**
 * @param {string} password
 * @param {string} [username]
 * @returns {{score: 0 | 1 | 2 | 3 | 4, label: string, advice: string}} score 0 = below the minimum
 */
export function passwordStrength(password, username = "") {
  const chars = [...password];
  if (chars.length < MIN_PASSWORD_LENGTH) {
    const missing = MIN_PASSWORD_LENGTH - chars.length;
    return {
      score: 0,
      label: "Too short.",
      advice: `${missing} more character${missing === 1 ? "" : "s"} needed (at least ${MIN_PASSWORD_LENGTH}).`,
    };
  }
  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/[0-9]/.test(password)) pool += 10;
  if (/[ -/:-@[-`{-~]/.test(password)) pool += 33;
  if (/[^\x00-\x7f]/.test(password)) pool += 100;
  let bits = chars.length * Math.log2(Math.max(pool, 2));

  const lower = password.toLowerCase();
  for (const word of COMMON) if (lower.includes(word)) bits -= 4 * word.length;
  if (username.length >= 3 && lower.includes(username.toLowerCase())) bits -= 4 * username.length;
  bits -= 3 * countRuns(lower);
  bits *= Math.min(1, (2 * new Set(chars).size) / chars.length); // "aaaaaaaaaa" is one guess, not 10

  if (bits < 40) return { score: 1, label: "Strength: weak.", advice: "Add more words, or mix in capitals, digits and symbols." };
  if (bits < 60) return { score: 2, label: "Strength: fair.", advice: "A few more characters or another word would help." };
  if (bits < 80) return { score: 3, label: "Strength: good.", advice: "" };
  return { score: 4, label: "Strength: strong.", advice: "" };
}

/**
 * @param {string} text lower case
 * @returns {number} characters that continue a run such as "abc", "123" or "qwe" (either direction)
 */
function countRuns(text) {
  let count = 0;
  for (let i = 2; i < text.length; i++) {
    const triple = text.slice(i - 2, i + 1);
    const reversed = [...triple].reverse().join("");
    if (RUNS.some((run) => run.includes(triple) || run.includes(reversed))) count++;
  }
  return count;
}
