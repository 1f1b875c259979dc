// @ts-check
// /accounts/login/: derive the auth key here, log in, open the key bundle, go on.

import { logIn } from "../account/flows.js";
import { field, handleForm, nextPath } from "./forms.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("login-form"));
const username = field("username");
const password = field("password");

handleForm(form, {
  validate() {
    if (!username.value.trim()) return { message: "Enter your username.", field: "username" };
    if (!password.value) return { message: "Enter your password.", field: "password" };
    return null;
  },
  run: (onProgress) => logIn({ username: username.value.trim(), password: password.value, onProgress }),
  done(_user, ui) {
    ui.succeed("Logged in.");
    password.value = "";
    location.assign(nextPath("/rooms/"));
  },
  fields: { username: "username", auth_key: "password" },
});
