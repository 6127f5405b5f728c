"""Quick exit in a real Chromium, as a frightened person on a borrowed phone uses it.

A client reads their request and writes to the team, then leaves with quick exit: with
JavaScript (pressing Escape twice) and without it (the button). Afterwards Back, pressed
again and again, shows nothing of what they read or wrote, and the cookie they had is
refused by the server. Escape in the middle of writing the story does not leave.

Chromium runs here with its back/forward cache ON, as people's browsers do (Playwright
turns it off by default), so a page kept in memory would be caught showing itself again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, expect

from app.auth.models import UserSession
from app.extensions import db
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path, local_context
from tests.browser.test_login_flow import log_in, path_of

pytestmark = pytest.mark.browser

NEUTRAL_PAGE = "<!doctype html><title>Weather</title><p>Sunny, 14 degrees</p>"
MESSAGE = "I will be at the bridge at eight"
STORY = "They wait outside school every day"
COOKIE = "s"


@pytest.fixture(scope="module")
def chromium_with_bfcache(playwright_instance: Playwright) -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed; install Debian's `chromium` package")
    browser = playwright_instance.chromium.launch(
        executable_path=executable,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
        headless=True,
    )
    yield browser
    browser.close()


@pytest.fixture
def person(chromium_with_bfcache: Browser, live_server: str) -> Iterator[object]:
    contexts: list[BrowserContext] = []

    def open_page(*, javascript: bool) -> Page:
        context = local_context(
            chromium_with_bfcache,
            live_server,
            java_script_enabled=javascript,
            viewport={"width": 360, "height": 740},
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def serve_neutral_site(page: Page, target: str) -> None:
    """Answer the quick-exit target here: nothing leaves the machine."""

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=NEUTRAL_PAGE)

    page.route(lambda url: url == target, fulfil)


def quick_exit_target(page: Page) -> str:
    target = page.locator("form.quick-exit-form").get_attribute("data-target")
    assert target and target.startswith("https://")
    return target


def read_and_write(page: Page, base: str) -> list[str]:
    """Log the demo client in, open their request and send a message; return what the
    pages showed that nobody else may see."""
    page.goto(f"{base}/?lang=en")  # something before the portal in the tab's history
    log_in(page, base, "klient")
    assert path_of(page.url) == "/my/"
    dashboard = page.locator("main h1").inner_text()
    with page.expect_navigation():
        page.locator("main .cards a").first.click()
    reference = page.locator("main h1 span[dir=ltr]").inner_text()
    page.fill('main textarea[name="body"]', MESSAGE)
    with page.expect_navigation():
        page.locator('main form[action$="/messages"] button[type="submit"]').click()
    expect(page.locator("main .thread")).to_contain_text(MESSAGE)
    return [dashboard, reference, MESSAGE]


def wait_for_quick_exit(app: Flask, timeout: float = 5.0) -> None:
    """The session ended on the server (with JavaScript the request goes in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            reasons = db.session.scalars(sa.select(UserSession.revoked_reason)).all()
            db.session.remove()
        if "quick_exit" in reasons:
            return
        time.sleep(0.05)
    pytest.fail(f"the session was not ended as a quick exit: {reasons}")


def assert_nothing_shown_going_back(page: Page, secrets: list[str], base: str) -> list[str]:
    """Back, as often as there is history, shows none of what the person read or wrote.
    Returns the addresses Back showed, in order."""
    shown: list[str] = []
    while page.url != f"{base}/?lang=en" and len(shown) < 10:
        # Not "load": a page the browser kept in memory comes back without one, and that
        # is exactly what must be caught here.
        if page.go_back(wait_until="commit") is None:
            break
        page.wait_for_load_state("domcontentloaded")
        shown.append(page.url)
        text = page.locator("body").inner_text()
        for secret in secrets:
            assert secret not in text, (page.url, secret)
    assert shown, "Back went nowhere"
    return shown


def test_this_chromium_keeps_even_no_store_pages_for_back(person) -> None:
    """The premise of the tests here: this Chromium restores a page from memory on Back
    even when it was sent with Cache-Control: no-store (as browsers now do unless
    something, such as a changed cookie, evicts it). So a portal page left in memory
    after quick exit would be caught."""
    page: Page = person(javascript=True)
    script = "addEventListener('pageshow', e => { document.title = String(e.persisted); });"
    body = f"<!doctype html><title>-</title><script>{script}</script><p>kept?</p>"

    def fulfil(route: Route) -> None:
        route.fulfill(body=body, content_type="text/html", headers={"Cache-Control": "no-store"})

    page.route("http://kept.test/**", fulfil)
    page.goto("http://kept.test/a")
    page.goto("http://kept.test/b")
    page.go_back(wait_until="commit")
    expect(page).to_have_title("true")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_after_quick_exit_back_shows_nothing_and_the_cookie_is_dead(
    person, live_server: str, live_app: Flask, javascript: bool
) -> None:
    page: Page = person(javascript=javascript)
    secrets = read_and_write(page, live_server)
    (old_cookie,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
    target = quick_exit_target(page)
    serve_neutral_site(page, target)

    if javascript:
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
    else:
        page.locator("#quick-exit").click()
    page.wait_for_url(target)
    expect(page.locator("body")).to_contain_text("Sunny")
    wait_for_quick_exit(live_app)
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []

    assert_nothing_shown_going_back(page, secrets, live_server)

    # Whoever copied the cookie before the exit gets the login page, not the client's pages.
    thief = person(javascript=False)
    thief.context.add_cookies([{"name": COOKIE, "value": old_cookie["value"], "url": live_server}])
    for path in ("/my/", "/my/notifications"):
        thief.goto(f"{live_server}{path}")
        assert path_of(thief.url) == "/login", thief.url
        assert secrets[0] not in thief.locator("body").inner_text()


def test_escape_while_writing_the_story_stays_and_keeps_the_text(
    person, live_server: str, live_app: Flask
) -> None:
    page: Page = person(javascript=True)
    log_in(page, live_server, "klient")
    # The demo client's request is open, so the text written is a message to the team.
    page.goto(f"{live_server}/my/")
    page.locator('main ul.cards a[href*="/my/requests/"]').first.click()
    written_on = path_of(page.url)
    story = page.locator('main textarea[name="body"]')
    story.fill(STORY)
    story.press("Escape")
    story.press("Escape")
    story.press("Escape")
    page.wait_for_timeout(1200)
    assert path_of(page.url) == written_on
    expect(story).to_have_value(STORY)
    with live_app.app_context():
        reasons = db.session.scalars(sa.select(UserSession.revoked_reason)).all()
        db.session.remove()
    assert reasons == [None]

    # Out of the field (the message's send button focused), Escape twice leaves.
    target = quick_exit_target(page)
    serve_neutral_site(page, target)
    page.locator('main button[type="submit"]').first.focus()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(target)
    wait_for_quick_exit(live_app)


def test_one_escape_alone_does_not_leave(person, live_server: str) -> None:
    """A single Escape (closing something, a slip of the finger) is not the shortcut."""
    page: Page = person(javascript=True)
    log_in(page, live_server, "klient")
    page.keyboard.press("Escape")
    page.wait_for_timeout(1200)
    page.keyboard.press("Escape")  # more than a second later: still one press each time
    page.wait_for_timeout(300)
    assert path_of(page.url) == "/my/"


def test_a_visitor_leaves_by_the_link_without_a_cookie(person, live_server: str) -> None:
    page: Page = person(javascript=False)
    page.goto(f"{live_server}/")
    link = page.locator("a#quick-exit")
    target = link.get_attribute("href")
    assert target
    serve_neutral_site(page, target)
    link.click()
    page.wait_for_url(target)
    assert page.context.cookies() == []


def test_submit_waits_for_nothing_without_javascript(person, live_server: str) -> None:
    """Without JavaScript the form itself is the whole exit: the request, then elsewhere."""
    page: Page = person(javascript=False)
    page.goto(f"{live_server}/login?lang=en")  # a login begun: the form, not the link
    target = quick_exit_target(page)
    serve_neutral_site(page, target)
    page.locator("#quick-exit").click()
    page.wait_for_url(target)
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []
