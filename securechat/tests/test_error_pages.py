"""Error pages as a visitor meets them (DEBUG off, as in production): in the site's frame, with a way home, and
saying nothing about what the address might have held."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.http import Http404
from django.test import Client, RequestFactory
from django.views.defaults import server_error

from accounts.models import User
from tests.pages import Page, read_page
from toolkit.api import not_found

pytestmark = pytest.mark.django_db

HOME = ("Go to the home page", "/")


def site_page(response, status: int) -> Page:
    assert not settings.DEBUG
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = read_page(response.content)
    assert page.title.endswith("SecureChat")
    assert ("SecureChat", "/") in page.links  # the site's header
    assert HOME in page.links
    return page


@pytest.mark.parametrize("path", ["/nope", "/no/such/page/", "/rooms/not-a-room-id/", "/accounts/nothing/"])
def test_an_unknown_address_gets_the_sites_not_found_page(client: Client, path: str) -> None:
    page = site_page(client.get(path), 404)
    assert page.title == "Page not found · SecureChat"
    assert page.headings == ["Page not found"]


def test_the_not_found_page_is_the_same_whatever_was_asked_and_whatever_the_view_said(client: Client) -> None:
    bodies = {client.get(path).content for path in ("/nope", "/rooms/x/y/", "/join/a/b/", "/static-nothing")}
    # A view's own Http404 message (which could name what it looked for) is not shown either.
    request = RequestFactory().get("/somewhere/")
    request.user = client.get("/nope").wsgi_request.user
    told = not_found(request, Http404("No room 3f2a… for user carol"))
    bodies.add(told.content)
    assert len(bodies) == 1
    assert b"carol" not in told.content and b"somewhere" not in told.content


def test_the_api_still_answers_not_found_in_json(client: Client) -> None:
    response = client.get("/api/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_signed_in_visitor_keeps_the_signed_in_header_on_the_not_found_page(client: Client) -> None:
    client.force_login(User.objects.create_user("dora", password=None))
    response = client.get("/nope")
    site_page(response, 404)
    assert b"Signed in as" in response.content


def test_a_server_error_gets_the_sites_page() -> None:
    # What Django calls when a view raises: a bare template context, no request.
    page = site_page(server_error(RequestFactory().get("/rooms/")), 500)
    assert page.headings == ["Something went wrong"]


def test_a_refused_console_page_gets_the_sites_forbidden_page(client: Client) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x" * 20))
    page = site_page(client.get("/admin/chat/envelope/add/"), 403)  # the audit log is read-only
    assert page.headings == ["Not allowed"]


def test_a_form_posted_without_its_csrf_token_gets_the_sites_page_saying_to_reload() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/logout/")
    page = site_page(response, 403)
    assert page.headings == ["This form has expired"]
    assert b"Reload" in response.content


def test_a_request_for_another_host_gets_the_sites_bad_request_page(client: Client) -> None:
    page = site_page(client.get("/", headers={"host": "evil.example"}), 400)
    assert page.headings == ["Bad request"]
