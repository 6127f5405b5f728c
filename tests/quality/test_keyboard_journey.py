"""A client's whole journey with the keyboard alone: Tab, Shift+Tab, Enter and Space.

From the public start page through registration, setting up the second factor, writing and
sending a request, to seeing it on the overview, without a mouse click and without filling
a field that has no focus: text is typed into whatever has the focus. Every element that
takes the focus on the way must show it (an outline or a shadow that is not nothing), and
the skip link must be the first stop and move the focus to the main content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.test_client_journey import path_of
from tests.conftest import PASSWORD
from tests.quality.conftest import PHONE, TIMEOUT_MS
from tests.quality.scene import Scene

pytestmark = pytest.mark.browser

MAX_TABS = 80
STORY = "Jag vill prata med någon om att lämna gänget."

# What has the focus, and whether a sighted keyboard user can see where it is.
FOCUS_JS = """
(selector) => {
  const el = document.activeElement;
  if (!el || el === document.body) return {matches: false, tag: "body", visible: false};
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  return {
    matches: el.matches(selector),
    tag: el.tagName.toLowerCase(),
    id: el.id,
    name: el.getAttribute("name") || el.getAttribute("href") || "",
    visible: (outline || shadow) && box.width > 0 && box.height > 0,
  };
}
"""


class Keyboard:
    """Moves the focus with Tab (or Shift+Tab) and checks it can be seen at every stop."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.stops = 0

    def focus(self, selector: str, *, backwards: bool = False) -> None:
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(MAX_TABS):
            self.page.keyboard.press(key)
            self.stops += 1
            state = self.page.evaluate(FOCUS_JS, selector)
            assert state["tag"] == "body" or state["visible"], (
                "the focus cannot be seen",
                self.page.url,
                state,
            )
            if state["matches"]:
                return
        raise AssertionError(f"{selector} never got the focus on {self.page.url}")

    def type_into(self, selector: str, text: str) -> None:
        self.focus(selector)
        self.page.keyboard.type(text)

    def press(self, selector: str, key: str) -> None:
        self.focus(selector)
        self.page.keyboard.press(key)

    def follow(self, selector: str) -> None:
        """Focus a link or a submit button and press Enter; wait for the next page."""
        self.focus(selector)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")


@pytest.fixture
def keyboard_page(
    checker_browser: Browser, quality_server: str, quality_app: tuple[Flask, Scene]
) -> Iterator[Page]:
    context: BrowserContext = checker_browser.new_context(locale="en", viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def continue_button(step: str) -> str:
    return f'main form[action$="/my/request/{step}"] button[type="submit"]:not([name="back"])'


def test_client_journey_by_keyboard(keyboard_page: Page, quality_server: str) -> None:
    page = keyboard_page
    keys = Keyboard(page)
    page.goto(f"{quality_server}/?lang=en")

    # The skip link is the first stop, and Enter takes the focus to the main content.
    keys.focus("a.skip-link")
    assert keys.stops == 1
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab continues inside the content, not back at the top of the page.
    keys.focus('main a[href$="/my/register"]')
    assert keys.stops == 2, "the first Tab after the skip link should land in <main>"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # Register: the username the portal made is shown (read-only); type the password twice.
    assert path_of(page.url) == "/my/register"
    keys.type_into('main input[name="password"]', PASSWORD)
    keys.type_into('main input[name="confirm_password"]', PASSWORD)
    keys.follow('main form button[type="submit"]')

    # Set up the second factor with the key shown on the page (as typed into an app).
    assert path_of(page.url) == "/login/enrol"
    secret = re.sub(r"\s+", "", page.locator("main .secret-key code").inner_text())
    keys.type_into('main input[name="code"]', pyotp.TOTP(secret).now())
    keys.follow('main form[action$="/login/enrol"] button[type="submit"]')
    assert page.locator("main ul.recovery-codes li").count() == 10
    # Codes saved: straight on to the request the person came for.
    keys.follow('main a[href$="/my/request/kind"]')

    # Each question: Tab into a group of options and take the first with Space.
    assert path_of(page.url) == "/my/request/kind"
    keys.press('main input[name="kind"]', "Space")
    assert page.locator('main input[name="kind"]:checked').count() == 1
    keys.follow(continue_button("kind"))

    assert path_of(page.url) == "/my/request/help", page.url
    keys.press('main input[name="help_wanted"]', "Space")
    keys.press('main input[name="urgency"]', "Space")
    keys.follow(continue_button("help"))

    assert path_of(page.url) == "/my/request/contact", page.url
    for name in ("voicemail_ok", "sms_ok", "interpreter"):
        keys.press(f'main input[name="{name}"]', "Space")
        assert page.locator(f'main input[name="{name}"]:checked').count() == 1, name
    keys.follow(continue_button("contact"))

    assert path_of(page.url) == "/my/request/identity", page.url
    keys.follow(continue_button("identity"))

    assert path_of(page.url) == "/my/request/story", page.url
    keys.type_into('main textarea[name="account_text"]', STORY)
    assert page.locator('main textarea[name="account_text"]').input_value() == STORY
    keys.follow(continue_button("story"))

    # Review, then send with Enter.
    assert path_of(page.url) == "/my/request/review", page.url
    keys.follow('main form[action$="/my/request/review"] button[type="submit"]:not([name="back"])')

    # Back to the overview through the menu: the request is listed there.
    keys.follow('a[href$="/start/"]')
    assert path_of(page.url) == "/my/", page.url
    assert page.locator('main ul.cards a[href*="/my/requests/"]').count() == 1
    # It is open, so the overview leads to it rather than to a second request.
    assert page.locator('main a[href$="/my/request/kind"]').count() == 0
