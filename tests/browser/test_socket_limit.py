"""One tab too many: the page says what is wrong and what to do, instead of spinning on "Connecting…"."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.chat import CHAT_TIMEOUT_MS, People, connection, expect_connected
from tests.servers import Server, daphne, server_env


@pytest.fixture
def one_socket_each(transactional_db: None, static_root: Path, server_logs: Path) -> Iterator[Server]:
    with daphne(server_env(static_root, SOCKETS_PER_USER="1"), server_logs, "one-socket") as server:
        yield server


def test_a_tab_over_the_socket_limit_tells_the_user_to_close_one(browser: Browser, one_socket_each: Server) -> None:
    with People(browser, one_socket_each.url) as people:
        alice = people.sign_up("tabs")
        expect_connected(alice.page)
        expect(alice.page.locator("#no-rooms")).to_have_text("No rooms yet.")
        second = alice.context.new_page()
        second.goto(f"{alice.base_url}/rooms/")
        expect(connection(second)).to_have_text("Too many open tabs — close one; retrying…", timeout=CHAT_TIMEOUT_MS)
        expect(second.locator("#problem")).to_contain_text("Close one")
        # Without a connection the page does not know the rooms: it does not claim there are none.
        expect(second.locator("#no-rooms")).to_be_hidden()
        # The first tab is not disturbed.
        expect_connected(alice.page)
