"""Every text reads at WCAG AA (4.5:1, 3:1 when large) in the light and the dark theme, as axe-core measures it.

Each page is checked four ways: the system's light and dark with no choice made (prefers-color-scheme, emulated),
and light and dark chosen explicitly against the opposite system preference, so a choice is seen to win. axe-core
is vendored in tests/vendor/axe-core (scripts/vendor-axe.sh) and runs only its color-contrast rule; placeholders,
which axe leaves out, are measured here. Set CHAT_SCREENSHOTS to a directory to keep a 1280x800 screenshot of each
state checked, in the light and the dark theme.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accounts import log_in_fails
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    People,
    create_room,
    invitation,
    member_item,
    members,
    message,
    rooms_nav,
    send_message,
    snapshot,
    title,
)
from tests.browser.test_trust import swap_keys_in_database
from tests.servers import Server

pytestmark = pytest.mark.usefixtures("transactional_db")

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"

# (what is checked, the system's scheme, the choice stored in this browser, the theme that must show)
THEMES = [
    ("system light", "light", "system", "light"),
    ("system dark", "dark", "system", "dark"),
    ("light chosen on a dark system", "dark", "light", "light"),
    ("dark chosen on a light system", "light", "dark", "dark"),
]
THEME_MODULE = "/static/js/theme.js"
AA_NORMAL = 4.5
SCREEN = {"width": 1280, "height": 800}


def choose_theme(page: Page, choice: str) -> None:
    """What the settings panel does: theme.js's applyTheme, imported by the page itself."""
    page.evaluate("async ([url, choice]) => (await import(url)).applyTheme(choice)", [THEME_MODULE, choice])


def show_theme(page: Page, system: str, choice: str, expected: str) -> None:
    page.emulate_media(color_scheme=system)
    choose_theme(page, choice)
    # The palette really switched (form controls and scrollbars follow color-scheme): not the same page checked twice.
    scheme = page.evaluate("() => getComputedStyle(document.documentElement).colorScheme")
    assert scheme == expected, f"{system} system, {choice} chosen: color-scheme is {scheme!r}"


def contrast_violations(page: Page) -> list[str]:
    """axe-core's color-contrast violations on the page as shown, one line each: selector, ratio, colours, text; and
    any text whose contrast axe could not decide (over an image, say), which a person would have to check."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # The page's Content-Security-Policy refuses inline scripts, which add_script_tag would insert; evaluating
        # the library through the DevTools protocol keeps the policy, and the page, exactly as served.
        page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: { type: "rule", values: ["color-contrast"] },
                resultTypes: ["violations", "incomplete"],
            });
            const lines = (kind, rules) => rules.flatMap((rule) => rule.nodes.map((node) => {
                const data = node.any.find((check) => check.data)?.data ?? {};
                const why = data.messageKey ? ` [${data.messageKey}]` : "";
                return `${kind}${node.target.join(" ")}: ${data.contrastRatio}:1, needs ${data.expectedContrastRatio}`
                    + ` (${data.fgColor} on ${data.bgColor})${why} ${node.html.slice(0, 120)}`;
            }));
            return [...lines("", result.violations), ...lines("undecided: ", result.incomplete)];
        }"""
    )


def luminance(css_colour: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", css_colour)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(foreground: str, background: str) -> float:
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def placeholder_problems(page: Page) -> list[str]:
    """axe does not measure placeholders: each visible field's placeholder colour against the field's background."""
    fields: list[list[str]] = page.evaluate(
        """() => [...document.querySelectorAll("input[placeholder], textarea[placeholder]")]
            .filter((field) => field.checkVisibility())
            .map((field) => [field.id, getComputedStyle(field, "::placeholder").color,
                             getComputedStyle(field).backgroundColor])"""
    )
    return [
        f"#{field_id} placeholder: {ratio(colour, background):.2f}:1 ({colour} on {background})"
        for field_id, colour, background in fields
        if ratio(colour, background) < AA_NORMAL
    ]


def check_every_theme(page: Page, where: str, found: dict[str, list[str]], *, shot: str = "") -> None:
    """Adds to ``found`` what falls short in each theme; with ``shot``, keeps a screenshot of each chosen theme (when
    CHAT_SCREENSHOTS names a directory)."""
    for name, system, choice, expected in THEMES:
        show_theme(page, system, choice, expected)
        problems = contrast_violations(page) + placeholder_problems(page)
        if problems:
            found[f"{where}, {name}"] = problems
        if shot and choice != "system":
            snapshot(page, f"{shot}-{expected}")


def assert_none(found: dict[str, list[str]]) -> None:
    report = "\n".join(f"{where}:\n  " + "\n  ".join(problems) for where, problems in found.items())
    assert not found, "text below WCAG AA contrast:\n" + report


# --- the account pages ----------------------------------------------------------------------------------


def test_the_home_sign_up_and_log_in_pages_read_at_aa_in_every_theme(page: Page, live_daphne: Server) -> None:
    found: dict[str, list[str]] = {}
    page.set_viewport_size(SCREEN)
    page.goto(live_daphne.url + "/")
    expect(page.get_by_role("link", name="Create account")).to_be_visible()
    check_every_theme(page, "home", found, shot="home")

    page.goto(live_daphne.url + "/accounts/signup/")
    page.get_by_label("Password", exact=True).fill("short")  # the strength hint turns to a warning
    expect(page.locator("#password-strength")).to_have_attribute("data-strength", re.compile(r"."))
    check_every_theme(page, "sign-up", found, shot="sign-up")

    log_in_fails(page, live_daphne.url, "nobody_here", "not the password at all")  # the error box
    check_every_theme(page, "log-in with an error", found, shot="log-in-error")
    assert_none(found)


# --- the chat page --------------------------------------------------------------------------------------


def test_the_chat_page_reads_at_aa_in_every_theme(people: People) -> None:
    """A direct room open, verified, with messages from both sides, roster lines, an invitation waiting, the members
    pane, an error; then a key change: its dialog, the room's warning, the key-changed tag."""
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    page = alice.page
    page.set_viewport_size(SCREEN)

    # Bob asks alice to talk privately; she accepts: the room opens, and both write.
    bob.page.get_by_label("Talk privately with").fill(alice.username)
    bob.page.get_by_role("button", name="Start conversation").click()
    expect(title(bob.page)).to_have_text(alice.username)
    invitation(page, bob.username).get_by_role("button", name="Accept invitation").click(timeout=CHAT_TIMEOUT_MS)
    expect(title(page)).to_have_text(bob.username)
    send_message(alice, "Shall we compare safety numbers?")
    send_message(bob, "Yes, read me yours.")
    expect(message(page, "Yes, read me yours.")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(page.locator(".roster-line").first).to_be_visible()

    # The safety-number dialog, then bob verified: the badge on the open room's link, in its title, on his message
    # and in the members pane.
    member_item(page, bob.username).get_by_role("button", name="Verify").click()
    expect(page.get_by_label("Safety number")).to_be_visible()
    found: dict[str, list[str]] = {}
    check_every_theme(page, "safety-number dialog", found, shot="safety-number-dialog")
    page.get_by_role("button", name="Mark as verified").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    open_link = rooms_nav(page).locator('a[aria-current="page"]')
    expect(open_link.locator(".badge-verified")).to_be_visible()
    expect(message(page, "Yes, read me yours.").locator(".badge-verified")).to_be_visible()
    expect(members(page)).to_be_visible()

    # An invitation waiting, and an error under the direct-conversation form.
    create_room(bob, "Weekend plans")
    bob.page.get_by_label("Add member", exact=True).fill(alice.username)
    members(bob.page).get_by_role("button", name="Add", exact=True).click()
    expect(invitation(page, "Weekend plans")).to_contain_text(f"invited by {bob.username}", timeout=CHAT_TIMEOUT_MS)
    page.get_by_label("Talk privately with").fill("nobody_by_this_name")
    page.get_by_role("button", name="Start conversation").click()
    expect(page.locator("#direct-error")).to_have_text(re.compile(r"\S"), timeout=CHAT_TIMEOUT_MS)
    expect(page.locator("#connection")).to_have_text("Connected")

    check_every_theme(page, "chat page", found, shot="chat")

    # Unread in another room: bold, its badges (a mention apart), its preview; then the settings dialog.
    invitation(page, "Weekend plans").get_by_role("button", name="Accept invitation").click(timeout=CHAT_TIMEOUT_MS)
    expect(title(page)).to_have_text("Weekend plans")
    rooms_nav(page).locator(".room-item.direct a.room-link").click()
    expect(title(page)).to_contain_text(bob.username)
    send_message(bob, f"Hiking on Saturday, @{alice.username}?")
    expect(rooms_nav(page).locator(".badge.mention")).to_have_text("@1", timeout=CHAT_TIMEOUT_MS)
    check_every_theme(page, "rooms list with unread messages", found, shot="chat-unread")
    page.get_by_role("button", name="Settings").click()
    expect(page.get_by_role("dialog", name="Settings")).to_be_visible()
    check_every_theme(page, "settings", found, shot="settings")
    page.get_by_role("button", name="Close settings").click()

    # Bob's key changes under alice (the server swaps it): the alert dialog, then the room's warning, the
    # "key changed" tag and the composer's refusal.
    swap_keys_in_database(bob.username)
    page.reload()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    check_every_theme(page, "key-change dialog", found, shot="key-change-dialog")
    dialog.get_by_role("button", name="Not now").click()
    expect(page.locator(".key-warning")).to_be_visible()
    expect(member_item(page, bob.username).locator(".tag.warning")).to_have_text("key changed")
    page.get_by_label("Message", exact=True).fill("still there?")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator("#composer-error")).to_contain_text("key changed", timeout=CHAT_TIMEOUT_MS)
    check_every_theme(page, "chat page after a key change", found, shot="chat-key-changed")

    # The signed-in home page: the fingerprint.
    page.goto(alice.base_url + "/")
    expect(page.locator("#own-fingerprint")).to_have_text(re.compile(r"^([0-9a-f]{4} ){7}[0-9a-f]{4}$"))
    check_every_theme(page, "home, signed in", found, shot="home-signed-in")
    assert_none(found)


# --- the choice itself ----------------------------------------------------------------------------------


def test_a_chosen_theme_is_there_before_the_first_paint_of_every_later_page(page: Page, live_daphne: Server) -> None:
    page.emulate_media(color_scheme="light")
    page.goto(live_daphne.url + "/")
    assert page.evaluate(f"async () => (await import('{THEME_MODULE}')).currentTheme()") == "system"
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile(r"."))

    choose_theme(page, "dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    # Each later page has it from the start: set while <head> is parsed, before <body> exists, so before anything
    # is painted (a deferred or module script would run only once the whole body is parsed).
    page.add_init_script(
        """new MutationObserver(() => {
            window.themeBeforeBody ??= document.documentElement.dataset.theme !== undefined && document.body === null;
        }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-theme"] })"""
    )
    for path in ("/accounts/login/", "/accounts/signup/", "/"):
        page.goto(live_daphne.url + path)
        assert page.evaluate("() => window.themeBeforeBody") is True, path
        assert page.evaluate("() => getComputedStyle(document.documentElement).colorScheme") == "dark", path

    # Another tab of the same browser follows a new choice at once; "system" gives the system's theme back.
    other = page.context.new_page()
    other.emulate_media(color_scheme="light")
    other.goto(live_daphne.url + "/accounts/login/")
    expect(other.locator("html")).to_have_attribute("data-theme", "dark")
    choose_theme(page, "system")
    expect(other.locator("html")).not_to_have_attribute("data-theme", re.compile(r"."))
    assert other.evaluate("() => getComputedStyle(document.documentElement).colorScheme") == "light"
    other.emulate_media(color_scheme="dark")
    assert other.evaluate("() => getComputedStyle(document.documentElement).colorScheme") == "dark"

    # Only the three themes exist; anything else stored counts as "system".
    with pytest.raises(Exception, match="Unknown theme"):
        choose_theme(page, "sepia")
    page.evaluate("() => localStorage.setItem('securechat.theme', 'sepia')")
    page.reload()
    assert page.evaluate(f"async () => (await import('{THEME_MODULE}')).currentTheme()") == "system"
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile(r"."))
