"""Rich text in Chromium: the served module renders hostile messages into a real page, and none of the markup,
handlers, images or script links they carry becomes part of it.

The page's Content-Security-Policy is switched off here, so that markup reaching the DOM as HTML would really run
its handlers (the control test shows it does); the renderer must be safe on its own, not only behind the CSP.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.servers import Server

# Each payload sets window.__pwned if it ever runs.
HOSTILE = [
    "<img src=x onerror=window.__pwned='img'>",
    "<script>window.__pwned='script'</script>",
    "<svg onload=window.__pwned='svg'>",
    "<iframe src=\"javascript:parent.__pwned='iframe'\"></iframe>",
    "<iframe srcdoc=\"<script>parent.__pwned='srcdoc'</script>\"></iframe>",
    "<details open ontoggle=window.__pwned='details'>",
    "<div>\n\n<img src=x onerror=window.__pwned='block-img'>\n\n</div>",
    "**<img src=x onerror=window.__pwned='in-strong'>**",
    "`<img src=x onerror=window.__pwned='in-code'>`",
    "```\n<img src=x onerror=window.__pwned='in-fence'>\n```",
    "> <img src=x onerror=window.__pwned='in-quote'>",
    "[x](javascript:window.__pwned='link')",
    "[x](JaVaScRiPt:window.__pwned='case')",
    "[x](java\tscript:window.__pwned='tab')",
    "[x](<java\tscript:window.__pwned='tab-in-brackets'>)",
    "[x](java&#x09;script:window.__pwned='entity')",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox(1))",
    "[x](//evil.example/)",
    "<javascript:window.__pwned='autolink'>",
    "![a](https://evil.example/x.png)",
    '[<img src=x onerror=window.__pwned="in-link">](https://example.com/)',
]
# Links that must be made, so the checks on links are not vacuous.
BENIGN = ["[ok](https://example.com/a_b_c)", "see https://example.com.", "mail alice@example.com"]

RENDER = """async ({texts, asHtml}) => {
  const { renderRichText } = await import("/static/js/ui/rich-text.js");
  const transcript = document.createElement("section");
  document.body.append(transcript);
  for (const text of texts) {
    const message = document.createElement("div");
    message.className = "rich-text";
    if (asHtml) message.innerHTML = text;  // what a renderer must never do
    else message.append(...renderRichText(text));
    transcript.append(message);
  }
  // An image that fails after the payloads' ones started: once its error has fired (and two frames have passed),
  // any handler that was going to run has run.
  await new Promise((resolve) => {
    const probe = new Image();
    probe.addEventListener("error", resolve, { once: true });
    probe.src = "x";
  });
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const elements = [...transcript.querySelectorAll(".rich-text *")];
  return {
    pwned: window.__pwned ?? null,
    tags: [...new Set(elements.map((el) => el.localName))].sort(),
    handlers: elements.flatMap((el) => el.getAttributeNames().filter((name) => name.startsWith("on"))),
    links: [...transcript.querySelectorAll("a")].map((a) => ({
      href: a.getAttribute("href"), rel: a.getAttribute("rel"), target: a.getAttribute("target"), text: a.textContent,
    })),
    text: transcript.textContent,
  };
}"""


@pytest.fixture
def page_without_csp(browser: Browser, live_daphne: Server) -> Iterator[tuple[Page, list[str]]]:
    """A page of the app with its CSP off, and the URLs of every request it makes."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(live_daphne.url + "/")
    yield page, requests
    context.close()


def render(page: Page, texts: list[str], *, as_html: bool = False) -> dict[str, Any]:
    return page.evaluate(RENDER, {"texts": texts, "asHtml": as_html})


def test_hostile_messages_create_no_element_handler_or_script_link(page_without_csp: tuple[Page, list[str]]) -> None:
    page, requests = page_without_csp
    got = render(page, HOSTILE + BENIGN)

    assert got["pwned"] is None
    assert not {"img", "script", "iframe", "svg", "details", "div", "b"} & set(got["tags"]), got["tags"]
    assert set(got["tags"]) <= {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "a"}, got["tags"]
    assert got["handlers"] == []
    for link in got["links"]:
        assert link["rel"] == "noopener noreferrer", link
        assert link["target"] == "_blank", link
        assert link["href"].startswith(("https://", "http://", "mailto:")), link
    assert [(link["text"], link["href"]) for link in got["links"]] == [
        ("a", "https://evil.example/x.png"),  # the image's alt text, as a link: no image is loaded
        ('<img src=x onerror=window.__pwned="in-link">', "https://example.com/"),
        ("ok", "https://example.com/a_b_c"),
        ("https://example.com", "https://example.com/"),
        ("alice@example.com", "mailto:alice@example.com"),
    ]
    # The markup is still there to read, as text.
    for shown in ("<img src=x onerror=window.__pwned='img'>", "<script>", "[x](javascript:window.__pwned='link')"):
        assert shown in got["text"]
    assert not [url for url in requests if "evil.example" in url]


def test_control_the_same_messages_as_html_do_run(page_without_csp: tuple[Page, list[str]]) -> None:
    """The payloads and the probe work in this page: set as HTML, the messages make images and run handlers."""
    page, _ = page_without_csp
    got = render(page, HOSTILE, as_html=True)
    page.wait_for_function("window.__pwned !== undefined")
    assert {"img", "iframe", "svg"} <= set(got["tags"])
    assert "onerror" in got["handlers"]


def test_rich_text_css_styles_the_rendered_parts(page_without_csp: tuple[Page, list[str]]) -> None:
    page, _ = page_without_csp
    page.evaluate("""() => new Promise((resolve, reject) => {
      const link = document.createElement("link");
      Object.assign(link, {rel: "stylesheet", href: "/static/css/rich-text.css"});
      link.addEventListener("load", resolve);
      link.addEventListener("error", reject);
      document.head.append(link);
    })""")
    render(page, ["> quoted\n\n```\n" + "x" * 500 + "\n```\n\n- one\n- `two`"])
    styles = page.evaluate("""() => {
      const style = (selector) => getComputedStyle(document.querySelector(`.rich-text ${selector}`));
      return {
        quote: style("blockquote").borderLeftStyle,
        pre: [style("pre").overflowX, style("pre").whiteSpace],
        pageWidens: document.documentElement.scrollWidth > window.innerWidth,
        code: style("li code").fontFamily,
        list: style("ul").paddingLeft,
      };
    }""")
    assert styles["quote"] == "solid"
    assert styles["pre"] == ["auto", "pre"]
    assert styles["pageWidens"] is False  # a long code line scrolls inside its block
    assert "monospace" in styles["code"]
    assert styles["list"] != "0px"


# Schemes hidden by entities, whitespace, control characters or case; quotes that try to leave an attribute; and
# inputs deep or long enough to strain the parser.
OBFUSCATED = [
    "[x](&#106;avascript:window.__pwned='entity-j')",
    "[x](javascript&colon;window.__pwned='colon')",
    "[x]( javascript:window.__pwned='space')",
    "[x](\u0000javascript:window.__pwned='nul')",
    "[x](\u0001javascript:window.__pwned='control')",
    "[x](java\nscript:window.__pwned='newline')",
    "[x](DaTa:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xPC9zY3JpcHQ+)",
    "[x][1]\n\n[1]: javascript:window.__pwned='reference'",
    '[x](https://example.com/ "t\\" onmouseover=window.__pwned=\'title\' x=\\"")',
    "<https://example.com/\"onmouseover=\"window.__pwned='autolink-quote'>",
    "<svg/onload=window.__pwned='svg-autolink'>",
    "&lt;img src=x onerror=window.__pwned='entities'&gt;",
    "> " * 5000 + "deep",
    "\n".join(" " * (2 * i) + "- level" for i in range(400)),
    "[" * 50_000 + "](https://example.com/)",
    "*_~`[" * 10_000,
]


def test_obfuscated_schemes_broken_quotes_and_deep_or_huge_messages_stay_text(
    page_without_csp: tuple[Page, list[str]],
) -> None:
    page, _ = page_without_csp
    got = render(page, OBFUSCATED)
    assert got["pwned"] is None
    assert got["handlers"] == []
    assert set(got["tags"]) <= {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "li", "a"}
    # Only the two real addresses became links, each to exactly where it says, quotes escaped in the address.
    assert [link["href"] for link in got["links"]] == [
        "https://example.com/",
        "https://example.com/%22onmouseover=%22window.__pwned='autolink-quote'",
        "https://example.com/",
    ]
    depth = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll(".rich-text *")].map((node) => {
          let depth = 0;
          for (let n = node; !n.classList?.contains("rich-text"); n = n.parentNode) depth += 1;
          return depth;
        }))"""
    )
    assert depth <= 20
    assert "deep" in got["text"] and "level" in got["text"]
