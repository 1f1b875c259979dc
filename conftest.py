"""Project-wide pytest set-up: where the tests run, and the browser gate."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent
BROWSER_TESTS = ROOT / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT_FIXTURES = {"playwright", "browser", "context", "page"}

pytest_plugins = ["tests.fixtures", "chat.tests.sockets"]


def chromium_path() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    # An explicit CHROMIUM that is missing means "no browser", not "look elsewhere".
    return None if "CHROMIUM" in os.environ else shutil.which("chromium")


def pytest_configure(config: pytest.Config) -> None:
    # In-process tests render templates without a collected manifest; the live test
    # server (tests/servers.py) serves the real collected, hashed files.
    # Connections opened by async code's worker threads close after each use, so the test
    # database can be dropped at the end.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    settings.STATIC_ROOT = None
    settings.WHITENOISE_USE_FINDERS = True
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = settings.DATABASES["default"]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    lines = [f"securechat: database {db['ENGINE'].rsplit('.', 1)[-1]} ({db['NAME']}), channel layer {layer}"]
    if chromium_path() is None:
        lines.append(
            f"securechat: browser tests SKIPPED: no Chromium at {CHROMIUM} (run `make test` as root to install it)"
        )
    else:
        lines.append(f"securechat: browser tests on {chromium_path()}")
    return lines


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running in the main thread from its first test to the end of the
    # session, where asyncio.run() and async_to_sync() refuse to work: the tests that drive Chromium go last.
    items.sort(key=lambda item: not PLAYWRIGHT_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())))
    browser_items = [item for item in items if BROWSER_TESTS in Path(item.path).parents]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    if browser_items and chromium_path() is None:
        if os.environ.get("CI") == "true":
            raise pytest.UsageError(f"CI=true but Chromium is missing at {CHROMIUM}: browser tests cannot run")
        skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}")
        for item in browser_items:
            item.add_marker(skip)
