// Rich text on hostile input: how long the renderer takes on inputs that make careless Markdown parsers quadratic
// or deep, at a message's length and far beyond it. Prints a table; run with `node bench/rich-text.mjs`.
import { renderRichText } from "../static/js/ui/rich-text.js";

const doc = {
  createElement: (tag) => ({ tag, children: [], setAttribute() {}, append(...nodes) { this.children.push(...nodes); } }),
  createTextNode: (data) => ({ data }),
};

const inputs = {
  "_a": (n) => "_a".repeat(n / 2),
  "*a": (n) => "*a".repeat(n / 2),
  "[": (n) => "[".repeat(n),
  "![": (n) => "![".repeat(n / 2),
  ">": (n) => ">".repeat(n),
  "e-mails": (n) => "a@b.c ".repeat(n / 6),
  "links": (n) => "https://a.example/ ".repeat(n / 19),
  "lines": (n) => "a\n".repeat(n / 2),
};
const sizes = [16_000, 200_000];

console.log(`| input | ${sizes.map((n) => `${n.toLocaleString("en")} chars`).join(" | ")} |`);
console.log(`|---|${sizes.map(() => "---:").join("|")}|`);
for (const [name, make] of Object.entries(inputs)) {
  const cells = sizes.map((n) => {
    const text = make(n);
    const started = performance.now();
    renderRichText(text, /** @type {any} */ (doc));
    return `${(performance.now() - started).toFixed(0)} ms`;
  });
  console.log(`| \`${name}\` | ${cells.join(" | ")} |`);
}
