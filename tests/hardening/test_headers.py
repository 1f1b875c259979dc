"""Security headers on every answer, and cookies as a production deployment really sets them.

The in-process part asks every route of the access matrix; the production part starts daphne with the
production environment (DEBUG=0, HTTPS=1 behind a proxy that says X-Forwarded-Proto: https) and reads the
Set-Cookie headers of a real sign-up and log-in.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpResponse

from accounts.tests.factories import b64, signup_body
from tests.hardening.roles import (  # noqa: F401 (fixtures)
    Scene,
    auth_key,
    fast_hashing_fixture,
    isolated_cache_fixture,
    scene_fixture,
)
from tests.hardening.test_access_matrix import ADMIN_POLICY, HTTP_POLICY, Row, is_api, send
from tests.servers import Server, daphne, server_env

NONE, SELF = "'none'", "'self'"
# The sources a strict policy may name for code and styles: this origin's files only.
STRICT = {SELF}
REFERRER_POLICIES = {"same-origin", "no-referrer"}


def csp(value: str) -> dict[str, list[str]]:
    directives = {}
    for part in value.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def header_problems(headers: Any, allowed_connect: set[str]) -> list[str]:
    """What is wrong with one answer's security headers (empty when nothing is)."""
    problems = []
    policy = csp(headers.get("Content-Security-Policy", ""))
    for directive in ("default-src", "script-src", "style-src"):
        sources = set(policy.get(directive, ["(missing)"]))
        if not sources <= STRICT:
            problems.append(f"{directive} allows {sorted(sources - STRICT)}")
    connect = set(policy.get("connect-src", ["(missing)"]))
    if not connect <= allowed_connect:
        problems.append(f"connect-src allows {sorted(connect - allowed_connect)}")
    for directive, wanted in (("frame-ancestors", [NONE]), ("object-src", [NONE])):
        if policy.get(directive) != wanted:
            problems.append(f"{directive} is {policy.get(directive)}")
    if policy.get("base-uri") not in ([NONE], [SELF]):
        problems.append(f"base-uri is {policy.get('base-uri')}")
    if policy.get("form-action") != [SELF]:
        problems.append(f"form-action is {policy.get('form-action')}")
    if headers.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options is {headers.get('X-Frame-Options')}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"X-Content-Type-Options is {headers.get('X-Content-Type-Options')}")
    if headers.get("Referrer-Policy") not in REFERRER_POLICIES:
        problems.append(f"Referrer-Policy is {headers.get('Referrer-Policy')}")
    return problems


# --- every route, in process -------------------------------------------------------------------


def as_allowed(row: Row) -> str:
    """Someone the route answers in full (staff for the console, the owner elsewhere)."""
    return "staff" if row.path.startswith("/admin/") else "owner"


def test_every_answer_of_every_route_carries_the_security_headers(scene: Scene) -> None:
    """Pages, JSON, redirects and refusals alike: asked by a stranger and by someone the route serves."""
    problems = {}
    for row in HTTP_POLICY + ADMIN_POLICY:
        for role in ("anonymous", as_allowed(row)):
            response = send(scene, role, row)
            if found := header_problems(response.headers, {SELF}):
                problems[f"{row.id} as {role} ({response.status_code})"] = found
    assert not problems, problems


APP_PAGES = [row for row in HTTP_POLICY if row.method == "GET" and not is_api(row.path)]


def inline_code(response: HttpResponse) -> list[str]:
    """Inline scripts, styles and event handlers: what a strict policy blocks, so pages must not need them."""
    page = response.content.decode()
    found = re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page)
    found += re.findall(r"<style\b[^>]*>", page)
    found += re.findall(r"\s(?:on[a-z]+|style)=[\"']", page)
    return found


def test_the_app_pages_need_no_inline_code(scene: Scene) -> None:
    for row in APP_PAGES:
        response = send(scene, "owner", row)
        assert response.status_code == 200, row.path
        assert not inline_code(response), row.path


# --- production, against a real daphne ---------------------------------------------------------


@dataclass
class HttpsBehindProxy:
    """A browser reaching daphne through a TLS-terminating proxy: X-Forwarded-Proto says https."""

    server: Server
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    def request(
        self, method: str, path: str, body: Any = None, *, proxy: bool = True, headers: dict[str, str] | None = None
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.server.port}", **(headers or {})}
        if proxy:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent |= {
                "Content-Type": "application/json",
                "Origin": self.origin,
                "X-CSRFToken": self.cookies["csrftoken"],
            }
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        response.body = response.read()
        connection.close()
        for name, value, _ in set_cookies(response):
            self.cookies[name] = value
        return response


def set_cookies(response: http.client.HTTPResponse) -> list[tuple[str, str, dict[str, str]]]:
    """Each Set-Cookie as (name, value, {attribute: value}) with attribute names lower-cased."""
    cookies = []
    for header in response.msg.get_all("Set-Cookie") or []:
        first, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        parsed = {}
        for attribute in attributes:
            key, _, setting = attribute.partition("=")
            parsed[key.lower()] = setting
        cookies.append((name, value, parsed))
    return cookies


def cookie_attributes(response: http.client.HTTPResponse, name: str) -> dict[str, str]:
    found = [attributes for cookie, _, attributes in set_cookies(response) if cookie == name]
    assert found, f"no Set-Cookie for {name}: {response.msg.get_all('Set-Cookie')}"
    return found[-1]


@pytest.fixture
def production(transactional_db: None, static_root: Path, server_logs: Path) -> Any:
    """daphne with the production variables, on the test database (flushed after: it signs someone up)."""
    env = server_env(
        static_root,
        DEBUG="0",
        HTTPS="1",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS="",
        TRUSTED_PROXIES="127.0.0.1",  # the test plays the TLS-terminating proxy, from this address
    )
    with daphne(env, server_logs, name="production") as server:
        yield server


def test_production_cookies_headers_and_static_files_as_a_browser_receives_them(production: Server) -> None:
    browser = HttpsBehindProxy(production)

    # Plain HTTP is sent to HTTPS; over HTTPS, HSTS.
    plain = browser.request("GET", "/accounts/login/", proxy=False)
    assert plain.status == 301 and plain.getheader("Location") == f"{browser.origin}/accounts/login/"
    page = browser.request("GET", "/accounts/login/")
    assert page.status == 200
    assert "max-age=31536000" in page.getheader("Strict-Transport-Security", "")
    assert not header_problems(page.msg, {SELF}), header_problems(page.msg, {SELF})
    csrf = cookie_attributes(page, "csrftoken")
    assert "secure" in csrf and csrf.get("samesite") in ("Lax", "Strict"), csrf

    signed_up = browser.request("POST", "/api/accounts/signup", signup_body("prod-user", with_auth_key=auth_key("p")))
    assert signed_up.status == 201, signed_up.body
    assert browser.request("POST", "/api/accounts/logout", {}).status == 204

    logged_in = browser.request(
        "POST", "/api/accounts/login", {"username": "prod-user", "auth_key": b64(auth_key("p"))}
    )
    assert logged_in.status == 200, logged_in.body
    assert not header_problems(logged_in.msg, {SELF}), header_problems(logged_in.msg, {SELF})
    session = cookie_attributes(logged_in, "sessionid")
    assert {"secure", "httponly"} <= set(session) and session.get("samesite") in ("Lax", "Strict"), session
    rotated = cookie_attributes(logged_in, "csrftoken")  # a new token with the new session
    assert "secure" in rotated and rotated.get("samesite") in ("Lax", "Strict"), rotated
    assert browser.request("GET", "/api/accounts/me").status == 200

    # The page's own module and stylesheet: right types, never sniffed.
    html = page.body.decode()
    script = re.search(r'<script type="module" src="([^"]+)"', html).group(1)
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    for path, content_type in ((script, "text/javascript"), (stylesheet, "text/css")):
        served = browser.request("GET", path)
        assert served.status == 200, path
        assert served.getheader("Content-Type", "").startswith(content_type), (path, served.getheader("Content-Type"))
        assert served.getheader("X-Content-Type-Options") == "nosniff", path
