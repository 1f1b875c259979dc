"""Reading a rendered page as a visitor sees it: its title, its headings and its links (text and address)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    title: str = ""
    headings: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href)
    scripts: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()
        self._open: list[tuple[str, str, list[str]]] = []  # (tag, href, text) of the title, headings and links

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.page.scripts.append(dict(attrs).get("src") or "")
        if tag in {"title", "h1", "h2", "a"}:
            self._open.append((tag, dict(attrs).get("href") or "", []))

    def handle_data(self, data: str) -> None:
        for _, _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            return
        _, href, parts = self._open.pop()
        text = " ".join("".join(parts).split())
        if tag == "title":
            self.page.title = text
        elif tag == "a":
            self.page.links.append((text, href))
        else:
            self.page.headings.append(text)


def read_page(html: bytes | str) -> Page:
    reader = _Reader()
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    reader.close()
    return reader.page
