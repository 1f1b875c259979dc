// @ts-check
// Applies the stored colour theme before the first paint. A classic script, loaded without defer in <head> of
// templates/base.html: the Content-Security-Policy allows no inline script, and a module would run after the first
// paint. A choice made in another tab follows here through the storage event. Key and values as in theme.js.
(() => {
  const KEY = "securechat.theme";
  /** @param {string | null} value */
  const apply = (value) => {
    if (value === "light" || value === "dark") document.documentElement.setAttribute("data-theme", value);
    else document.documentElement.removeAttribute("data-theme");
  };
  try {
    apply(localStorage.getItem(KEY));
  } catch {
    // Storage disabled: the system's theme.
  }
  window.addEventListener("storage", (event) => {
    if (event.storageArea === localStorage && (event.key === KEY || event.key === null)) apply(event.newValue);
  });
})();
