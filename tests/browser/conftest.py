"""Browser tests: pytest-playwright on Debian's Chromium, against the live daphne server."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from conftest import chromium_path
from tests.browser.accounts import NewPage
from tests.browser.chat import People
from tests.servers import Server

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# to arrange and inspect data are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "args": [
            "--disable-gpu",
            "--no-first-run",
            "--disable-quic",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


@pytest.fixture
def people(browser: Browser, live_daphne: Server) -> Iterator[People]:
    """Signed-up people, each in their own browser context, on the session's live server."""
    with People(browser, live_daphne.url) as made:
        yield made


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """A page in a fresh browser context: its own cookies and IndexedDB, like another device."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
