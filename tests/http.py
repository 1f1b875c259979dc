"""A small HTTP client that behaves like a browser towards the API: cookies, CSRF header, JSON."""

from __future__ import annotations

import functools
import http.client
import http.cookiejar
import json
import urllib.error
import urllib.request
from typing import Any


class _FromAddress(urllib.request.HTTPHandler):
    """Connects from ``address`` (another loopback address is another client to the server)."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, request: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.address, 0)), request)


class BrowserSession:
    """One cookie jar; can talk to several servers on the same host (as behind one load balancer); from
    ``source_address`` when given."""

    def __init__(self, source_address: str | None = None) -> None:
        self.cookies = http.cookiejar.CookieJar()
        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(self.cookies)]
        if source_address is not None:
            handlers.append(_FromAddress(source_address))
        self.opener = urllib.request.build_opener(*handlers)

    def csrf_token(self) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == "csrftoken"), None)

    def get(self, url: str) -> tuple[int, bytes]:
        return self._send(urllib.request.Request(url))

    def post_json(self, url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        if self.csrf_token() is None:
            self.get(url.split("/api/")[0] + "/")
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": self.csrf_token() or "",
                "Origin": url.split("/api/")[0],
                "Referer": url,
                **(headers or {}),
            },
        )
        status, raw = self._send(request)
        return status, json.loads(raw) if raw else None

    def _send(self, request: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
