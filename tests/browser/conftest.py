"""Browser tests: pytest-playwright on Debian's Chromium, against the live daphne server."""

import os

import pytest

from conftest import chromium_path

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
