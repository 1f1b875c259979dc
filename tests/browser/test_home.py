"""The first thing a user sees: the page loads in a secure context and the socket opens."""

from playwright.sync_api import Page, expect

from tests.servers import Server


def test_home_page_has_webcrypto_in_a_secure_context(page: Page, live_daphne: Server) -> None:
    page.goto(live_daphne.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("server cannot read")
    assert page.evaluate("() => window.isSecureContext && typeof crypto.subtle?.generateKey === 'function'")


def test_websocket_to_the_app_opens(page: Page, live_daphne: Server) -> None:
    page.goto(live_daphne.url + "/")
    first_frame = page.evaluate(
        """(url) => new Promise((resolve, reject) => {
            const socket = new WebSocket(url);
            socket.onmessage = (event) => resolve(JSON.parse(event.data));
            socket.onerror = () => reject(new Error("websocket failed"));
        })""",
        live_daphne.ws_url + "/ws/healthz/",
    )
    assert first_frame == {"status": "ok"}


def test_page_forbids_inline_script(page: Page, live_daphne: Server) -> None:
    response = page.goto(live_daphne.url + "/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
