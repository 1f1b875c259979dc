// @ts-check
// A message's text as safe rich text: paragraphs and line breaks, emphasis, strong, strikethrough, code, quotes,
// lists and links, read from markdown-it's tokens and built with createElement and text nodes only. markdown-it's
// HTML output is never used, raw HTML in a message is text, and a link is made only for http:, https: and mailto:.

import MarkdownIt from "../../vendor/markdown-it/markdown-it.js";

/** No element in the result is nested deeper than this (a top-level one is at depth 1); deeper markup is text. */
export const MAX_DEPTH = 20;

const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);
// What a bare link must start with to become one (GFM's autolinks); "example.com" alone stays text.
const BARE_LINK_START = /^(?:https?:\/\/|mailto:|www\.)/i;

/**
 * The minimal DOM the renderer needs, so Node tests can pass a stand-in for `document`.
 * @typedef {{setAttribute(name: string, value: string): void, append(...nodes: any[]): void}} RichElement
 * @typedef {{createElement(tag: string): RichElement, createTextNode(text: string): any}} RichDocument
 * @typedef {{type: string, tag: string, nesting: number, content: string, markup: string, hidden: boolean,
 *   children: Token[] | null, attrGet(name: string): string | null}} Token
 * @typedef {{node: RichElement, link?: {href: string, text: string}}} Frame
 */

/**
 * The address a link may point to, or null: the URL as the browser parses it (so tabs, newlines and case in the
 * scheme are already resolved), absolute, and with an allowed scheme.
 * @param {string} href
 * @returns {string | null} the parsed URL's href
 */
export function safeLinkHref(href) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return null; // relative, protocol-relative, or not a URL
  }
  return LINK_SCHEMES.has(url.protocol) ? url.href : null;
}

// Blocks nested deeper than this are not parsed further, so their text and its line breaks still fit in MAX_DEPTH.
const BLOCK_DEPTH = MAX_DEPTH - 2;

/**
 * A block rule that runs before the others: past BLOCK_DEPTH, the rest of the block's lines become one
 * "capped_block" token, shown as text (markdown-it's own maxNesting would drop them).
 * @param {any} state markdown-it's block state
 * @param {number} startLine
 * @param {number} endLine
 * @param {boolean} silent
 */
function capNesting(state, startLine, endLine, silent) {
  if (silent || state.level < BLOCK_DEPTH) return false;
  const token = state.push("capped_block", "", 0);
  token.content = state.getLines(startLine, endLine, state.blkIndent, false);
  token.map = [startLine, endLine];
  state.line = endLine;
  return true;
}

const markdown = new MarkdownIt("default", {
  html: false, // markup in a message is its text
  linkify: true,
  breaks: true, // a single newline is a line break, as chat users expect
  typographer: false,
  // Inline markup nested this deep is left as text; blocks never get here (a list opens two levels at once, so
  // a block starts at most at BLOCK_DEPTH + 1, where capNesting takes it).
  maxNesting: MAX_DEPTH,
});
// Headings, tables and rules stay the text typed; "![alt](url)" is "!" and a link, never an image; a link
// definition stays visible instead of vanishing; "&amp;" shows as typed, as it did before messages had rich text.
markdown.disable(["table", "heading", "lheading", "hr", "reference", "image", "entity"]);
markdown.linkify.set({ fuzzyLink: true, fuzzyEmail: true }); // www.… links; the rest are filtered below
markdown.validateLink = (url) => safeLinkHref(url) !== null; // a refused link stays the text typed
markdown.normalizeLinkText = (text) => text; // an autolink shows exactly what was typed (no punycode decoding)
markdown.block.ruler.before("table", "cap_nesting", capNesting);

/**
 * Whether a link's text is its address, up to what URL parsing adds ("/" after a bare host, "mailto:").
 * @param {string} text
 * @param {string} href
 */
function names(text, href) {
  return href === text || href === `${text}/` || href === `mailto:${text}`;
}

/** Opening tokens and the element each makes; any other opening token adds no element. */
const CONTAINERS = new Map([
  ["paragraph_open", "p"],
  ["blockquote_open", "blockquote"],
  ["bullet_list_open", "ul"],
  ["ordered_list_open", "ol"],
  ["list_item_open", "li"],
  ["strong_open", "strong"],
  ["em_open", "em"],
  ["s_open", "del"],
]);

class Builder {
  /**
   * @param {RichDocument} doc
   * @param {RichElement} root
   */
  constructor(doc, root) {
    this.doc = doc;
    /** @type {Frame[]} */
    this.frames = [{ node: root }];
  }

  get top() {
    return this.frames[this.frames.length - 1];
  }

  /** @param {string} text */
  text(text) {
    if (!text) return;
    this.top.node.append(this.doc.createTextNode(text));
    for (const frame of this.frames) if (frame.link) frame.link.text += text;
  }

  /** A line break; past MAX_DEPTH, a newline. */
  lineBreak() {
    if (this.frames.length > MAX_DEPTH) this.text("\n");
    else this.top.node.append(this.doc.createElement("br"));
  }

  /** @param {string} text lines, shown with line breaks between them */
  lines(text) {
    text.split("\n").forEach((line, i) => {
      if (i > 0) this.lineBreak();
      this.text(line);
    });
  }

  /**
   * An element that holds what follows until its closing token; past MAX_DEPTH, the content goes to the parent.
   * @param {string | null} tag
   * @param {Frame["link"]} [link]
   * @returns {RichElement | null}
   */
  open(tag, link) {
    if (!tag || this.frames.length > MAX_DEPTH) {
      this.frames.push({ node: this.top.node });
      return null;
    }
    const node = this.doc.createElement(tag);
    this.top.node.append(node);
    this.frames.push({ node, link });
    return node;
  }

  close() {
    if (this.frames.length === 1) return;
    const frame = /** @type {Frame} */ (this.frames.pop());
    const link = frame.link;
    if (!link) return;
    if (!link.text.trim()) {
      frame.node.append(this.doc.createTextNode(link.href)); // never an invisible link
      link.text = link.href;
    }
    if (!names(link.text, link.href)) frame.node.setAttribute("title", link.href); // where it really goes
  }

  /**
   * @param {Token} token link_open
   * @param {Token | undefined} next the token after it
   */
  openLink(token, next) {
    const href = safeLinkHref(token.attrGet("href") ?? "");
    const bare = token.markup === "linkify";
    if (!href || (bare && !href.startsWith("mailto:") && !BARE_LINK_START.test(next?.content ?? ""))) {
      this.open(null); // its text, not a link
      return;
    }
    const a = this.open("a", { href, text: "" });
    if (!a) return;
    a.setAttribute("href", href);
    a.setAttribute("target", "_blank");
    a.setAttribute("rel", "noopener noreferrer");
  }

  /** @param {Token[]} tokens */
  build(tokens) {
    tokens.forEach((token, i) => {
      if (token.nesting === -1) {
        this.close();
      } else if (token.type === "link_open") {
        this.openLink(token, tokens[i + 1]);
      } else if (token.nesting === 1) {
        const node = this.open(token.hidden ? null : (CONTAINERS.get(token.type) ?? null));
        const start = String(token.type === "ordered_list_open" ? (token.attrGet("start") ?? "") : "");
        if (node && /^\d{1,9}$/.test(start)) node.setAttribute("start", start);
      } else if (token.type === "inline") {
        this.build(token.children ?? []);
      } else if (token.type === "softbreak" || token.type === "hardbreak") {
        this.lineBreak();
      } else if (token.type === "code_inline") {
        this.open("code");
        this.text(token.content);
        this.close();
      } else if (token.type === "code_block" || token.type === "fence") {
        this.open("pre");
        this.open("code");
        this.text(token.content.replace(/\n$/, ""));
        this.close();
        this.close();
      } else if (token.type === "capped_block") {
        this.open("p");
        this.lines(token.content.replace(/\n$/, ""));
        this.close();
      } else {
        this.text(token.content); // text, and anything unexpected, as text
      }
    });
  }
}

/**
 * Renders a message's text as rich text.
 * @param {string} text the decrypted message text
 * @param {RichDocument} [doc] the document to create nodes in (a stand-in in tests)
 * @returns {any[]} the top-level nodes (p, pre, blockquote, ul, ol), in order, not yet in any document; an empty
 *   array for blank text
 */
export function renderRichText(text, doc = globalThis.document) {
  /** @type {any[]} */
  const nodes = [];
  const root = { setAttribute() {}, append: (/** @type {any[]} */ ...added) => nodes.push(...added) };
  new Builder(doc, root).build(markdown.parse(text, {}));
  return nodes;
}
