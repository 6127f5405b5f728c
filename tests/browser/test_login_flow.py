"""The login flow in a real Chromium: password, code, logout, quick exit, language, enrolment.

Assertions lean on structure (URLs, element ids, field names) rather than wording, so a
changed sentence or translation does not break them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, Route, expect

from app.auth import services, totp
from app.auth.models import Role
from app.demo import DEMO_PASSWORD, demo_secret
from app.extensions import db
from app.orgs.services import get_organisation_by_slug

pytestmark = pytest.mark.browser

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
LOGOUT_BUTTON = 'header form[action$="/logout"] button[type="submit"]'


def path_of(url: str) -> str:
    return urlsplit(url).path


def submit(page: Page, form_action: str) -> None:
    """Press the submit button of the form posting to `form_action` and wait for the answer."""
    with page.expect_navigation():
        page.locator(f'main form[action$="{form_action}"] button[type="submit"]').click()


def log_in(page: Page, base: str, username: str, *, step_offset: int = 0) -> None:
    """Log a demo account in through the real pages: password first, then the TOTP code."""
    page.goto(f"{base}/login?lang=en")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', DEMO_PASSWORD)
    submit(page, "/login")
    assert path_of(page.url) == "/login/code"
    # Each account is used once per test (the database is fresh), so the current step's
    # code has not been spent; a second login would need step_offset=1 (replay protection).
    code = pyotp.TOTP(demo_secret(username)).generate_otp(totp.current_step() + step_offset)
    page.fill('input[name="code"]', code)
    submit(page, "/login/code")


def test_staff_logs_in_with_password_and_code_then_out(page: Page, live_server: str) -> None:
    log_in(page, live_server, "handlaggare")

    assert page.url.endswith("/start/")
    expect(page.locator("main h1")).to_contain_text("handlaggare")
    # Staff work at their desks: no quick exit once logged in.
    expect(page.locator("#quick-exit")).to_have_count(0)

    with page.expect_navigation():
        page.locator(LOGOUT_BUTTON).click()
    assert path_of(page.url) == "/login"
    expect(page.locator('input[name="username"]')).to_be_visible()

    page.goto(f"{live_server}/start/")
    assert path_of(page.url) == "/login"
    expect(page.locator('input[name="password"]')).to_be_visible()


def test_login_works_without_javascript(no_js_page: Page, live_server: str) -> None:
    page = no_js_page
    # Proof that the page's own scripts are off: Escape twice (quick-exit.js's shortcut)
    # does nothing.
    page.goto(f"{live_server}/login?lang=en")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url.startswith(live_server) and path_of(page.url) == "/login"

    log_in(page, live_server, "teamledare")

    assert page.url.endswith("/start/")
    expect(page.locator("main h1")).to_contain_text("teamledare")

    with page.expect_navigation():
        page.locator(LOGOUT_BUTTON).click()
    assert path_of(page.url) == "/login"


def _serve_exit_page(page: Page, target: str) -> None:
    """Answer the quick-exit target locally, so nothing leaves the machine."""

    def fulfil(route: Route) -> None:
        route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            body="<!doctype html><title>elsewhere</title><p>elsewhere</p>",
        )

    page.route(lambda url: url == target, fulfil)


def quick_exit_target(page: Page) -> str:
    """Where quick exit leads: the link's address, or the form's (once there is a cookie)."""
    control = page.locator("#quick-exit")
    expect(control).to_be_visible()
    target = control.get_attribute("href") or page.locator("form.quick-exit-form").get_attribute(
        "data-target"
    )
    assert target
    return target


def test_escape_on_login_page_leaves_without_a_way_back(page: Page, live_server: str) -> None:
    # Something before the portal in the tab's history, so Back has somewhere to go.
    page.goto(f"{live_server}/?lang=en")
    page.goto(f"{live_server}/login?lang=en")
    login_url = page.url

    target = quick_exit_target(page)
    assert target.startswith("https://")
    _serve_exit_page(page, target)
    entries_before = page.evaluate("history.length")

    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(target)
    assert page.url == target

    # location.replace() swaps the login page's history entry for the exit target instead
    # of adding one: the count of entries stays the same (a plain navigation would add one),
    # and Back skips the login page entirely, landing on what came before it. Both checks
    # hold whether or not Chromium kept the initial about:blank entry, so they are robust.
    assert page.evaluate("history.length") == entries_before
    page.go_back()
    assert page.url != login_url
    assert path_of(page.url) != "/login"


def test_client_keeps_quick_exit_after_login(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/login?lang=en")
    expect(page.locator("#quick-exit")).to_be_visible()

    log_in(page, live_server, "klient")
    assert page.url.endswith("/my/")  # clients land on their own pages
    target = quick_exit_target(page)
    _serve_exit_page(page, target)
    entries_before = page.evaluate("history.length")

    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(target)
    assert page.evaluate("history.length") == entries_before  # replaced, not added


def test_language_choice_sets_direction_and_is_remembered(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/login?lang=ar")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")

    # The browser asks for English; the remembered choice still wins without ?lang=.
    page.goto(f"{live_server}/")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")

    page.goto(f"{live_server}/login?lang=en")
    expect(html).to_have_attribute("lang", "en")
    expect(html).to_have_attribute("dir", "ltr")


def test_enrolment_page_fits_a_small_phone(page: Page, live_server: str, live_app: Flask) -> None:
    username = "ny-handlaggare"
    with live_app.app_context():
        organisation = get_organisation_by_slug("malmo-team")
        assert organisation is not None
        services.create_user(
            username, DEMO_PASSWORD, Role.CASEWORKER, organisation, totp_secret=None
        )
        db.session.commit()
        db.session.remove()

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server}/login?lang=en")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', DEMO_PASSWORD)
    submit(page, "/login")
    # No TOTP yet: the code page sends the account on to enrolment.
    assert path_of(page.url) == "/login/enrol"

    qr = page.locator(".qr svg")
    expect(qr).to_be_visible()
    expect(page.locator('input[name="code"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "enrol-360.png"), full_page=True)
    assert (SCREENSHOTS / "enrol-360.png").stat().st_size > 0
