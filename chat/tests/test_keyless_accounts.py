"""An account with no keys (staff made with ``createsuperuser``) is sent to the staff console, not into a chat page
that could only fail in the browser; accounts with keys, staff or not, get the chat as before."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from accounts.models import User
from chat.tests.factories import make_user
from tests.pages import read_page

pytestmark = pytest.mark.django_db

CHAT_SCRIPT = "js/ui/chat.js"
JOIN_SCRIPT = "js/ui/join.js"
CONSOLE = ("Open the staff console", "/admin/")


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("operator", "operator@example.com", "x" * 20))
    return client


@pytest.mark.parametrize("path", ["/rooms/", f"/rooms/{uuid.uuid4()}/", "/join/", "/join/sometoken/"])
def test_a_staff_account_without_keys_is_sent_to_the_console_instead_of_the_chat(
    staff_client: Client, path: str
) -> None:
    response = staff_client.get(path)
    assert response.status_code == 403
    page = read_page(response.content)
    assert page.headings == ["Staff accounts are for the staff console"]
    assert CONSOLE in page.links
    assert not any(src.endswith((CHAT_SCRIPT, JOIN_SCRIPT)) for src in page.scripts)


def test_the_home_page_offers_a_staff_account_without_keys_the_console_not_the_chat(staff_client: Client) -> None:
    page = read_page(staff_client.get("/").content)
    assert CONSOLE in page.links
    assert not any(text in {"Open chat", "Change password"} for text, _ in page.links)


def test_an_account_without_keys_that_is_not_staff_is_told_it_cannot_chat(client: Client) -> None:
    client.force_login(User.objects.create_user("former-operator", password=None))
    response = client.get("/rooms/")
    assert response.status_code == 403
    page = read_page(response.content)
    assert page.headings == ["This account cannot chat"]
    assert CONSOLE not in page.links
    assert "Open chat" not in [text for text, _ in read_page(client.get("/").content).links]


@pytest.mark.parametrize("staff", [False, True])
def test_an_account_with_keys_gets_the_chat_staff_or_not(client: Client, staff: bool) -> None:
    user = make_user("alice")
    user.is_staff = user.is_superuser = staff
    user.save()
    client.force_login(user)
    response = client.get("/rooms/")
    assert response.status_code == 200
    assert any(src.endswith(CHAT_SCRIPT) for src in read_page(response.content).scripts)
    assert ("Open chat", "/rooms/") in read_page(client.get("/").content).links
