// @ts-check
// A message's rich text: what it shows, and that nothing another user types becomes markup, a script, an image or a
// link to anything but http(s) and mailto. Node has no DOM: a stand-in document with only createElement,
// createTextNode, setAttribute and append (no innerHTML to fall back on) records the tree the renderer builds.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_DEPTH, renderRichText, safeLinkHref } from "../../static/js/ui/rich-text.js";

class FakeText {
  /** @param {string} data */
  constructor(data) {
    this.data = data;
  }
}

class FakeElement {
  /** @param {string} tagName */
  constructor(tagName) {
    this.tagName = tagName;
    /** @type {Map<string, string>} */
    this.attributes = new Map();
    /** @type {(FakeElement | FakeText)[]} */
    this.childNodes = [];
  }

  /**
   * @param {string} name
   * @param {string} value
   */
  setAttribute(name, value) {
    this.attributes.set(name, value);
  }

  /** @param {...(FakeElement | FakeText)} nodes */
  append(...nodes) {
    for (const node of nodes) {
      assert.ok(node instanceof FakeElement || node instanceof FakeText, `appended ${typeof node}, not a node`);
    }
    this.childNodes.push(...nodes);
  }
}

/** @param {number} n characters @returns {string[]} inputs that make careless Markdown parsers quadratic or deep */
function hostileLong(n) {
  return [
    "_a".repeat(n / 2),
    "*a".repeat(n / 2),
    "[".repeat(n),
    "![".repeat(n / 2),
    ">".repeat(n),
    "a@b.c ".repeat(n / 6),
    "https://a.example/ ".repeat(n / 19),
    "a\n".repeat(n / 2),
  ];
}

const fakeDocument = {
  /** @param {string} tag */
  createElement: (tag) => new FakeElement(tag),
  /** @param {string} data */
  createTextNode: (data) => new FakeText(data),
};

/** The rendered nodes under one container, as the message view will hold them. */
function render(/** @type {string} */ text) {
  const box = new FakeElement("div");
  box.append(...renderRichText(text, fakeDocument));
  return box;
}

/** @returns {Generator<FakeElement>} every element under `node`, depth first (iteratively: trees may be deep) */
function* elements(/** @type {FakeElement} */ node) {
  const stack = [...node.childNodes].reverse();
  while (stack.length) {
    const next = /** @type {FakeElement | FakeText} */ (stack.pop());
    if (next instanceof FakeElement) {
      yield next;
      stack.push(...[...next.childNodes].reverse());
    }
  }
}

const all = (/** @type {FakeElement} */ node, /** @type {string} */ tag) =>
  [...elements(node)].filter((el) => el.tagName === tag);

/** What a reader sees: the text, with a line break for each <br>. */
function textOf(/** @type {FakeElement | FakeText} */ node) {
  if (node instanceof FakeText) return node.data;
  if (node.tagName === "br") return "\n";
  return node.childNodes.map(textOf).join("");
}

/** Text without its whitespace, to compare what is shown with what was typed across paragraphs. */
const unspaced = (/** @type {string} */ text) => text.replace(/\s+/g, "");

/** The nesting of elements as a string, e.g. "p(strong,em)". */
function shape(/** @type {FakeElement} */ node) {
  const children = node.childNodes.filter((child) => child instanceof FakeElement);
  return children.length ? `${node.tagName}(${children.map(shape).join(",")})` : node.tagName;
}

function depth(/** @type {FakeElement} */ node) {
  let deepest = 0;
  /** @type {[FakeElement, number][]} */
  const stack = [[node, 0]];
  while (stack.length) {
    const [el, d] = /** @type {[FakeElement, number]} */ (stack.pop());
    deepest = Math.max(deepest, d);
    for (const child of el.childNodes) if (child instanceof FakeElement) stack.push([child, d + 1]);
  }
  return deepest;
}

const ALLOWED_TAGS = new Set(["p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"]);
const ALLOWED_ATTRIBUTES = new Set(["href", "target", "rel", "title", "start"]);

/** Only the supported elements, only the attributes the renderer sets, and every link a safe one. */
function assertSafe(/** @type {FakeElement} */ box) {
  for (const el of elements(box)) {
    assert.ok(ALLOWED_TAGS.has(el.tagName), `made a <${el.tagName}>`);
    for (const name of el.attributes.keys()) assert.ok(ALLOWED_ATTRIBUTES.has(name), `set ${name} on <${el.tagName}>`);
    if (el.tagName === "a") {
      assert.match(el.attributes.get("href") ?? "", /^(https?:\/\/|mailto:)/);
      assert.equal(el.attributes.get("target"), "_blank");
      assert.equal(el.attributes.get("rel"), "noopener noreferrer");
    }
  }
}

const HOSTILE_LINKS = [
  "[x](javascript:alert(1))",
  "[x](JaVaScRiPt:alert(1))",
  "[x](java\tscript:alert(1))",
  "[x](<java\tscript:alert(1)>)",
  "[x](java&#x09;script:alert(1))",
  "[x](&#106;avascript:alert(1))",
  "[x]( javascript:alert(1))",
  "[x](java%0ascript:alert(1))",
  "[x](vbscript:msgbox(1))",
  "[x](data:text/html,<script>alert(1)</script>)",
  "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "[x](//evil.example/)",
  "[x](/settings)",
  "[x](https:javascript:alert(1))",
  "<javascript:alert(1)>",
  "<JAVASCRIPT:alert(1)>",
  "<data:text/html,<b>hi</b>>",
  "[x](file:///etc/passwd)",
];

test("markup in a message is its text: no element it names is made", () => {
  for (const text of [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "<svg onload=alert(4)>",
    '<iframe src="javascript:alert(5)"></iframe>',
    '<a href="javascript:alert(3)">click me</a>',
    "<b>bold?</b> &amp; &lt;entities&gt;",
    "<div>\n\n<img src=x onerror=alert(6)>\n\n</div>",
  ]) {
    const box = render(text);
    assertSafe(box);
    assert.deepEqual(all(box, "a"), [], text);
    assert.equal(unspaced(textOf(box)), unspaced(text), text);
  }
});

test("a link to anything but http(s) or mailto stays the text typed", () => {
  for (const text of HOSTILE_LINKS) {
    const box = render(text);
    assert.deepEqual(all(box, "a"), [], text);
    assert.equal(textOf(box), text);
    assertSafe(box);
  }
});

test("an image is never made: its alt text links to its address like any link", () => {
  const box = render("![a](https://evil.example/x.png)");
  assert.deepEqual(all(box, "img"), []);
  assertSafe(box);
  assert.equal(textOf(box), "!a");
  const [a] = all(box, "a");
  assert.equal(a.attributes.get("href"), "https://evil.example/x.png");
  assert.equal(a.attributes.get("title"), "https://evil.example/x.png");
});

test("bare URLs become links with the parsed address; underscores and trailing punctuation stay right", () => {
  const box = render("https://example.com/a_b_c");
  assert.equal(shape(box), "div(p(a))");
  const [a] = all(box, "a");
  assert.equal(a.attributes.get("href"), "https://example.com/a_b_c");
  assert.equal(textOf(a), "https://example.com/a_b_c");
  assert.equal(a.attributes.get("title"), undefined, "the text already says where it goes");
  assertSafe(box);

  const sentence = render("see https://example.com. (or https://example.org/x), www.example.net!");
  assert.deepEqual(
    all(sentence, "a").map((link) => [textOf(link), link.attributes.get("href")]),
    [
      ["https://example.com", "https://example.com/"],
      ["https://example.org/x", "https://example.org/x"],
      ["www.example.net", "http://www.example.net/"],
    ],
  );
  assert.equal(textOf(sentence), "see https://example.com. (or https://example.org/x), www.example.net!");
  assertSafe(sentence);
});

test("a bare name without a scheme or www. is not a link; an e-mail address is a mailto link", () => {
  const box = render("example.com and alice@example.com");
  assert.deepEqual(
    all(box, "a").map((a) => [textOf(a), a.attributes.get("href"), a.attributes.get("title")]),
    [["alice@example.com", "mailto:alice@example.com", undefined]],
  );
  assertSafe(box);
});

test("a link's text that is not its address gets the address as its title; the author's title is not used", () => {
  const box = render('[click](https://evil.example/x "Your bank") [https://a.example/](https://a.example/)');
  const [named, plain] = all(box, "a");
  assert.equal(textOf(named), "click");
  assert.equal(named.attributes.get("href"), "https://evil.example/x");
  assert.equal(named.attributes.get("title"), "https://evil.example/x");
  assert.equal(plain.attributes.get("title"), undefined);
  assertSafe(box);

  const lookalike = render("[https://bank.example](https://evil.example)");
  assert.equal(all(lookalike, "a")[0].attributes.get("title"), "https://evil.example/");

  const mail = render("[write to me](mailto:alice@example.com)");
  assert.equal(all(mail, "a")[0].attributes.get("href"), "mailto:alice@example.com");
  assertSafe(mail);
});

test("a link with no text shows its address", () => {
  const box = render("[](https://example.com/hidden) [ ](https://example.com/space)");
  assert.deepEqual(
    all(box, "a").map((a) => textOf(a).trim()),
    ["https://example.com/hidden", "https://example.com/space"],
  );
});

test("emphasis, strong, strikethrough and inline code", () => {
  const box = render("**bold** _em_ ~~s~~ `code <b>`");
  assert.equal(shape(box), "div(p(strong,em,del,code))");
  assert.deepEqual(
    ["strong", "em", "del", "code"].map((tag) => textOf(all(box, tag)[0])),
    ["bold", "em", "s", "code <b>"],
  );
  assert.equal(textOf(box), "bold em s code <b>");
});

test("a single newline is a line break; a blank line starts a paragraph", () => {
  const box = render("one\ntwo\n\nthree");
  assert.equal(shape(box), "div(p(br),p)");
  assert.equal(textOf(box), "one\ntwothree");
});

test("fenced and indented code is text in pre > code, markup and all", () => {
  const fenced = render("```html\n<b>x</b>\n<img src=x onerror=alert(1)>\n```");
  assert.equal(shape(fenced), "div(pre(code))");
  assert.equal(textOf(fenced), "<b>x</b>\n<img src=x onerror=alert(1)>");
  assert.equal(all(fenced, "code")[0].attributes.size, 0, "no language class from the message");
  const indented = render("    let a = 1;\n    a <b> 2");
  assert.equal(shape(indented), "div(pre(code))");
  assert.equal(textOf(indented), "let a = 1;\na <b> 2");
});

test("a quote, and lists", () => {
  const quote = render("> quoted **text**\n> more");
  assert.equal(shape(quote), "div(blockquote(p(strong,br)))");
  assert.equal(textOf(quote), "quoted text\nmore");

  const lists = render("- one\n- two\n\n3. three\n4. four");
  assert.equal(shape(lists), "div(ul(li,li),ol(li,li))");
  assert.equal(all(lists, "ol")[0].attributes.get("start"), "3");
  assert.deepEqual(all(lists, "li").map(textOf), ["one", "two", "three", "four"]);
});

test("headings, tables, rules and link definitions are shown as typed", () => {
  const text = "# Title\n\n|a|b|\n|-|-|\n|1|2|\n\n---\n\n[1]: https://example.com/";
  const box = render(text);
  assert.equal(unspaced(textOf(box)), unspaced(text));
  assert.deepEqual(
    [...elements(box)].map((el) => el.tagName).filter((tag) => !["p", "br", "a"].includes(tag)),
    [],
  );
});

test(`nesting is capped at ${MAX_DEPTH} elements; what is deeper is still shown, as text`, () => {
  for (const text of [
    `${">".repeat(1000)} deep`,
    `${"> ".repeat(1000)}deep`,
    `${"- ".repeat(1000)}deep`,
    Array.from({ length: 100 }, (_, i) => `${"  ".repeat(i)}- deep`).join("\n"),
    `${"*".repeat(5000)}deep${"*".repeat(5000)}`,
    `${"[".repeat(5000)}deep${"](https://example.com)".repeat(5000)}`,
  ]) {
    const box = render(text);
    assert.ok(depth(box) <= MAX_DEPTH + 1, `${text.slice(0, 12)}…: ${depth(box)} deep`); // +1: the container
    assert.match(textOf(box), /deep/);
    assertSafe(box);
  }
});

test("long hostile inputs, as long as a message may be, render and stay inert", () => {
  // How long they take is measured by `node bench/rich-text.mjs` (a table, never a timed test).
  const n = 16_000;
  for (const text of hostileLong(n)) assertSafe(render(text));
});

test("blank text renders to nothing", () => {
  assert.deepEqual(renderRichText("", fakeDocument), []);
  assert.deepEqual(renderRichText("  \n\n ", fakeDocument), []);
});

test("safeLinkHref: only absolute http(s) and mailto URLs, as the browser parses them", () => {
  assert.equal(safeLinkHref("https://example.com"), "https://example.com/");
  assert.equal(safeLinkHref("HTTP://EXAMPLE.com/A"), "http://example.com/A");
  assert.equal(safeLinkHref("mailto:a@example.com"), "mailto:a@example.com");
  assert.equal(safeLinkHref("https://ex\tample.com/"), "https://example.com/");
  for (const href of [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    " javascript:alert(1)",
    "\u0000javascript:alert(1)",
    "java&#x09;script:alert(1)",
    "vbscript:x",
    "data:text/html,x",
    "file:///etc/passwd",
    "ftp://example.com/",
    "//evil.example/",
    "/relative",
    "relative",
    "",
  ]) {
    assert.equal(safeLinkHref(href), null, JSON.stringify(href));
  }
});
