"""Passkeys in a real Chromium, with a virtual authenticator standing in for the phone.

The authenticator is Chromium's own (DevTools' WebAuthn domain: CTAP2, built into the
device, with a resident key and user verification), so the page's script, the browser's
WebAuthn API and the server meet exactly as on a phone. WebAuthn needs a secure context and
an rp id that is the page's host: the portal is served at http://localhost:<port>, with
BASE_URL saying so, as an operator would configure it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from werkzeug.serving import make_server

from app.auth import services, totp
from app.auth.models import Passkey, User
from app.core.clock import utcnow
from app.demo import DEMO_PASSWORD, demo_secret
from app.extensions import db
from tests.browser.conftest import TIMEOUT_MS, _keep_local

pytestmark = pytest.mark.browser

CLIENT = "klient"
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def localhost_server(live_app: Flask) -> Iterator[str]:
    """The app on a free port, reached (and configured) as http://localhost:<port>."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="localhost", daemon=True)
    thread.start()
    base = f"http://localhost:{server.server_port}"
    live_app.config["BASE_URL"] = base
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def contexts(chromium: Browser, localhost_server: str) -> Iterator[Any]:
    opened: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = chromium.new_context(locale="en", **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.route("**/*", _keep_local(localhost_server))
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


class Phone:
    """A page with a virtual authenticator that can be added and taken away."""

    def __init__(self, context: BrowserContext) -> None:
        self.page = context.new_page()
        self.cdp = context.new_cdp_session(self.page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.authenticator: str | None = None

    def add_authenticator(self) -> None:
        reply = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        self.authenticator = reply["authenticatorId"]

    def lose_authenticator(self) -> None:
        self.cdp.send(
            "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.authenticator}
        )
        self.authenticator = None

    def credentials(self) -> list[dict[str, Any]]:
        reply = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator})
        return list(reply["credentials"])


def path_of(url: str) -> str:
    return urlsplit(url).path


def click_and_wait(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).click()


def password(page: Page, base: str) -> None:
    page.goto(f"{base}/login?lang=en")
    page.fill('input[name="username"]', CLIENT)
    page.fill('input[name="password"]', DEMO_PASSWORD)
    click_and_wait(page, 'main form[action$="/login"] button[type="submit"]')
    assert path_of(page.url) == "/login/code"


def code(app: Flask) -> str:
    with app.app_context():
        last = db.session.scalar(sa.select(User.totp_last_step).where(User.username == CLIENT))
    step = totp.current_step()
    if last is not None and step <= last:
        step = last + 1
    return pyotp.TOTP(demo_secret(CLIENT)).generate_otp(step)


def with_code(page: Page, app: Flask) -> None:
    page.fill('input[name="code"]', code(app))
    click_and_wait(page, 'main form[action$="/login/code"] button[type="submit"]')


def log_out(page: Page) -> None:
    click_and_wait(page, 'header form[action$="/logout"] button[type="submit"]')


def add_passkey(page: Page, base: str) -> None:
    page.goto(f"{base}/account/")
    click_and_wait(page, 'main a[href$="/account/passkeys/new"]')
    assert path_of(page.url) == "/account/passkeys/new"
    expect(page.locator("[data-passkey-needs-script]")).to_be_hidden()
    click_and_wait(page, 'main form[data-passkey="create"] button[type="submit"]')
    assert path_of(page.url) == "/account/", page.content()[-2000:]


def passkey_rows(page: Page) -> Any:
    return page.locator("main table.passkeys tbody tr")


def stored_passkeys(app: Flask) -> int:
    with app.app_context():
        user = services.find_user(CLIENT)
        assert user is not None
        return int(
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Passkey).where(Passkey.user_id == user.id)
            )
        )


def test_a_passkey_is_enrolled_used_lost_and_never_the_last_factor_removed(
    live_app: Flask, localhost_server: str, contexts: Any
) -> None:
    base = localhost_server
    phone = Phone(contexts())
    page = phone.page
    phone.add_authenticator()

    # Enrolment: logged in with a code, the client adds a passkey on the account page
    password(page, base)
    with_code(page, live_app)
    add_passkey(page, base)
    expect(passkey_rows(page)).to_have_count(1)
    assert len(phone.credentials()) == 1
    assert stored_passkeys(live_app) == 1
    # The phone saved it under the neutral name, never the portal's
    assert "Utväg" not in page.content()

    # Login: after the password, the passkey finishes the login instead of a code
    log_out(page)
    password(page, base)
    click_and_wait(page, 'main form[data-passkey="get"] button[type="submit"]')
    assert path_of(page.url) == "/my/", page.content()[-2000:]
    page.goto(f"{base}/account/")
    expect(passkey_rows(page).first).not_to_contain_text("Never")

    # Without JavaScript the passkey is not offered at all; the code still works
    no_js = contexts(java_script_enabled=False).new_page()
    password(no_js, base)
    expect(no_js.locator('main form[data-passkey="get"]')).to_be_hidden()
    expect(no_js.locator('input[name="code"]')).to_be_visible()

    # Loss: the phone's authenticator is gone; a code from the app still gets in ...
    phone.lose_authenticator()
    log_out(page)
    password(page, base)
    with_code(page, live_app)
    assert path_of(page.url) == "/my/"
    # ... and so does a recovery code, on another device
    with live_app.app_context():
        user = services.find_user(CLIENT)
        assert user is not None
        recovery = services.regenerate_recovery_codes(user)[0]
        db.session.commit()
    other = contexts().new_page()
    password(other, base)
    click_and_wait(other, 'main a[href$="/login/recovery"]')
    other.fill('input[name="recovery_code"]', recovery)
    click_and_wait(other, 'main form[action$="/login/recovery"] button[type="submit"]')
    assert path_of(other.url) == "/my/"

    # A new phone brings a new passkey; then the codes are locked by wrong guesses
    phone.add_authenticator()
    add_passkey(page, base)
    expect(passkey_rows(page)).to_have_count(2)
    with live_app.app_context():
        db.session.execute(
            sa.update(User).where(User.username == CLIENT).values(totp_locked_at=utcnow())
        )
        db.session.commit()

    # The lost phone's passkey can go: the new one still finishes a login
    remove = 'main table.passkeys form button[type="submit"] >> nth=0'
    page.goto(f"{base}/account/")
    click_and_wait(page, remove)
    assert path_of(page.url) == "/account/"
    expect(passkey_rows(page)).to_have_count(1)
    # The last one cannot: it is the only working second factor left
    click_and_wait(page, remove)
    expect(page.locator("main [role=alert]")).to_contain_text("cannot be removed")
    expect(passkey_rows(page)).to_have_count(1)
    assert stored_passkeys(live_app) == 1

    # And it does still get in, codes locked or not
    log_out(page)
    password(page, base)
    click_and_wait(page, 'main form[data-passkey="get"] button[type="submit"]')
    assert path_of(page.url) == "/my/"
