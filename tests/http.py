"""A small HTTP client that behaves like a browser towards the API: cookies, CSRF header, JSON."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from typing import Any


class BrowserSession:
    """One cookie jar; can talk to several servers on the same host (as behind one load balancer)."""

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def csrf_token(self) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == "csrftoken"), None)

    def get(self, url: str) -> tuple[int, bytes]:
        return self._send(urllib.request.Request(url))

    def post_json(self, url: str, body: Any) -> tuple[int, Any]:
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
