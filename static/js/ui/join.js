// @ts-check
// The invite-link page: join, then open the room.

import { postJson } from "../net/api.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("join-form"));
const error = /** @type {HTMLElement} */ (document.getElementById("join-error"));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  try {
    const { room } = await postJson(`/api/join/${encodeURIComponent(form.dataset.token ?? "")}`);
    location.assign(`/rooms/${room.id}/`);
  } catch (failure) {
    error.textContent = failure instanceof Error ? failure.message : String(failure);
  }
});
