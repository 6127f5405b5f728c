"""Attacks on sessions, the second factor and throttling, as an attacker would try them.

tests/auth covers the ordinary cases (a replayed code at login, one recovery code used
twice, per-account throttling of passwords, `next` with four classic tricks); these are the
variations an attacker tries next.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from app.auth.models import Role, User, UserSession
from app.auth.services import create_user, regenerate_recovery_codes
from app.auth.totp import new_secret
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation
from tests.conftest import LIMIT_STORAGES, PASSWORD, Browser, code_for, limited_app

COOKIE = "s"
ADDRESSES = ("198.51.100.10", "203.0.113.20")


def cookie_value(browser: Browser) -> str:
    cookie = browser.client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


# Session fixation and replay ---------------------------------------------------------------------


def test_a_session_planted_before_login_is_not_the_one_after(
    app, browser, new_browser, make_account, log_in
):
    """Given an attacker who put their own half-logged-in session into the victim's browser,
    when the victim logs in, the victim gets a new session and the attacker's stays theirs."""
    attacker_account, victim_account = make_account(), make_account()
    attacker = new_browser()
    attacker.post("/login", {"username": attacker_account.username, "password": PASSWORD})
    planted_token = attacker.session_token()
    assert planted_token
    browser.client.set_cookie(COOKIE, cookie_value(attacker))
    assert browser.session_token() == planted_token

    log_in(browser, victim_account)

    assert browser.session_token() not in (None, planted_token)
    assert victim_account.username in browser.get("/start/").get_data(as_text=True)
    # The planted cookie still opens nothing but the attacker's own unfinished login.
    response = attacker.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/code")


def test_a_made_up_session_identifier_is_replaced_at_login(app, browser, make_account, log_in):
    account = make_account()
    with browser.client.session_transaction() as session:
        session["sid"] = "chosen-by-the-attacker"
    log_in(browser, account)
    assert browser.session_token() not in (None, "chosen-by-the-attacker")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 1


@pytest.mark.parametrize("ending", ["logout", "logout everywhere"])
def test_a_cookie_copied_before_logout_is_refused_after_it(
    app, browser, new_browser, make_account, log_in, ending
):
    """Given a session cookie copied while logged in, when its owner logs out, the copy is dead."""
    account = make_account()
    log_in(browser, account)
    copied = cookie_value(browser)
    if ending == "logout":
        assert browser.post("/logout", form_page="/start/").status_code == 302
    else:
        assert browser.post("/account/sessions/end-all", form_page="/account/").status_code == 302

    thief = new_browser()
    thief.client.set_cookie(COOKIE, copied)
    for page in ("/start/", "/account/", "/team/cases"):
        response = thief.client.get(page)
        assert response.status_code == 302, page
        assert urlsplit(response.headers["Location"]).path == "/login", page
    assert thief.client.post("/account/sessions/end-all").status_code in (400, 401)


def test_a_totp_code_used_for_login_cannot_confirm_a_step_up(app, browser, make_account, clock):
    """Given a code that just finished a login, when it is offered again for step-up, it is
    refused: every accepted code moves the account's last used step."""
    account = make_account()
    code = code_for(app, account)
    browser.post("/login", {"username": account.username, "password": PASSWORD})
    assert browser.post("/login/code", {"code": code}).status_code == 302
    replay = browser.post("/step-up", {"code": code})
    assert replay.status_code == 401
    assert "That code did not work" in replay.get_data(as_text=True)


def test_an_earlier_code_is_refused_once_a_later_one_was_used(app, browser, make_account, clock):
    account = make_account()
    earlier = pyotp.TOTP(account.secret).now()
    clock.shift(30)
    later = pyotp.TOTP(account.secret).now()
    browser.post("/login", {"username": account.username, "password": PASSWORD})
    assert browser.post("/login/code", {"code": later}).status_code == 302
    # Still inside the one-step tolerance, but older than the code already accepted.
    assert browser.post("/step-up", {"code": earlier}).status_code == 401


def test_old_recovery_codes_stop_working_when_new_ones_are_made(
    app, browser, new_browser, make_account
):
    account = make_account()
    with app.app_context():
        old = regenerate_recovery_codes(db.session.get(User, account.id))
        new = regenerate_recovery_codes(db.session.get(User, account.id))
        db.session.commit()
    browser.post("/login", {"username": account.username, "password": PASSWORD})
    refused = browser.post("/login/recovery", {"recovery_code": old[0]})
    assert refused.status_code == 401
    assert browser.get("/start/").status_code == 302
    assert browser.post("/login/recovery", {"recovery_code": new[0]}).status_code == 302
    assert browser.get("/start/").status_code == 200


def test_a_recovery_code_of_another_account_does_not_work(app, browser, make_account):
    mine, theirs = make_account(), make_account()
    with app.app_context():
        their_codes = regenerate_recovery_codes(db.session.get(User, theirs.id))
        db.session.commit()
    browser.post("/login", {"username": mine.username, "password": PASSWORD})
    assert browser.post("/login/recovery", {"recovery_code": their_codes[0]}).status_code == 401
    assert browser.get("/start/").status_code == 302


# Throttling per account, whatever the address ----------------------------------------------------

@pytest.fixture(params=LIMIT_STORAGES)
def strict_app(request, settings):
    """Small limits, counted in memory and in Redis (shared by app instances) when available."""
    with limited_app(
        settings,
        request.param,
        login_limit_per_account="3 per 15 minutes",
        login_limit_per_address="20 per 15 minutes",
        code_limit_per_user="4 per 5 minutes",
    ) as app:
        with app.app_context():
            org = create_organisation("team-z", "Team Z", OrgKind.EXIT_TEAM)
            create_user("target", PASSWORD, Role.CASEWORKER, org, totp_secret=new_secret())
            db.session.commit()
        yield app


def secret_of(app) -> str:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "target"))
        return user.totp_secret


def wrong_codes(secret: str, count: int) -> list[str]:
    """Codes that are certainly wrong now: none of the steps the server would accept."""
    totp = pyotp.TOTP(secret)
    step = totp.timecode(datetime.now(UTC))
    valid = {totp.generate_otp(step + offset) for offset in (-1, 0, 1)}
    codes: list[str] = []
    candidate = 123456
    while len(codes) < count:
        code = f"{candidate % 1_000_000:06d}"
        if code not in valid:
            codes.append(code)
        candidate += 111_111
    return codes


def half_logged_in(app, address: str) -> Browser:
    browser = Browser(app.test_client())
    response = browser.post(
        "/login",
        {"username": "target", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 302
    return browser


def test_password_guessing_from_two_addresses_is_throttled_per_account(strict_app):
    """Given wrong passwords for one account from two addresses in turn, the account's limit
    holds, and then even the right password is refused without saying it was right."""
    statuses = []
    for n in range(3):
        browser = Browser(strict_app.test_client())
        statuses.append(
            browser.post(
                "/login",
                {"username": "target", "password": f"wrong-{n}"},
                environ_base={"REMOTE_ADDR": ADDRESSES[n % 2]},
            ).status_code
        )
    assert statuses == [401, 401, 401]
    for address in ADDRESSES:
        browser = Browser(strict_app.test_client())
        right = browser.post(
            "/login",
            {"username": "target", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": address},
        )
        assert right.status_code == 429
        assert browser.session_token() is None
    # The same name in other letter case is the same account.
    shouting = Browser(strict_app.test_client()).post(
        "/login",
        {"username": " TARGET ", "password": "x"},
        environ_base={"REMOTE_ADDR": "192.0.2.1"},
    )
    assert shouting.status_code == 429


def test_code_guessing_across_addresses_sessions_and_pages_is_throttled(strict_app):
    """Given an attacker who knows the password, when they guess codes from two addresses,
    starting a new login for each guess and switching between the code and recovery pages,
    then the person's one code budget runs out, and then even the right code is refused."""
    secret = secret_of(strict_app)
    statuses = []
    for n, guess in enumerate(wrong_codes(secret, 5)):
        address = ADDRESSES[n % 2]
        browser = half_logged_in(strict_app, address)
        if n % 2:
            page, data = "/login/recovery", {"recovery_code": f"abcde-{guess[:5]}"}
        else:
            page, data = "/login/code", {"code": guess}
        statuses.append(browser.post(page, data, environ_base={"REMOTE_ADDR": address}).status_code)
    assert statuses == [401, 401, 401, 401, 429]

    browser = half_logged_in(strict_app, ADDRESSES[0])
    right = browser.post("/login/code", {"code": pyotp.TOTP(secret).now()})
    assert right.status_code == 429
    assert browser.get("/start/").status_code == 302


def test_a_throttled_account_does_not_slow_down_another(strict_app):
    for n in range(3):
        Browser(strict_app.test_client()).post(
            "/login",
            {"username": "target", "password": f"wrong-{n}"},
            environ_base={"REMOTE_ADDR": ADDRESSES[0]},
        )
    other = Browser(strict_app.test_client()).post(
        "/login",
        {"username": "someone-else", "password": "wrong"},
        environ_base={"REMOTE_ADDR": ADDRESSES[0]},
    )
    assert other.status_code == 401


# Open redirects --------------------------------------------------------------------------------

SITE = "https://utvag.example"
OFF_SITE = [
    "https://evil.example/",
    "HTTPS://evil.example",
    "http:evil.example",
    "https:/evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "\x00//evil.example",
    "//evil.example@utvag.example",
    "%2F%2Fevil.example",
    "%5C%5Cevil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\r\nLocation: https://evil.example",
    "/" + "a" * 600,
]


def stays_on_site(location: str) -> bool:
    if not location.startswith("/") or location.startswith("//"):
        return False
    if any(ch in location for ch in "\\") or any(ord(ch) < 32 for ch in location):
        return False
    resolved = urlsplit(urljoin(SITE + "/login/code", location))
    return resolved.scheme == "https" and resolved.netloc == "utvag.example"


def test_the_check_itself_tells_off_site_from_on_site():
    assert not any(stays_on_site(target) for target in OFF_SITE[:-1])
    assert stays_on_site("/account/") and stays_on_site("/team/cases?status=new")


def test_next_at_login_never_leaves_the_site(app, browser, make_account, clock):
    """Given a login link whose `next` points elsewhere, in any spelling, after the second
    factor the person lands on their start page."""
    account = make_account()
    for target in OFF_SITE:
        clock.shift(30)
        browser.get("/login?next=" + quote(target, safe=""))
        browser.post("/login", {"username": account.username, "password": PASSWORD, "next": target})
        response = browser.post("/login/code", {"code": code_for(app, account)})
        assert response.status_code == 302, repr(target)
        assert response.headers["Location"] == "/start/", repr(target)
        browser.post("/logout", form_page="/start/")


def test_next_after_step_up_never_leaves_the_site(app, browser, make_account, log_in, clock):
    account = make_account()
    log_in(browser, account)
    for target in OFF_SITE:
        clock.shift(30)
        url = "/step-up?next=" + quote(target, safe="")
        response = browser.post(url, {"code": code_for(app, account)})
        assert response.status_code == 302, repr(target)
        assert response.headers["Location"] == "/account/", repr(target)
    clock.shift(30)
    kept = browser.post("/step-up?next=%2Fteam%2Fcases", {"code": code_for(app, account)})
    assert kept.headers["Location"] == "/team/cases"


def test_the_page_to_return_to_after_step_up_stays_on_the_site(
    app, browser, make_account, log_in, clock
):
    """Given a step-up-protected form whose `back` field was altered, the step-up page it is
    sent to will only ever return to a page of this site."""
    account = make_account()
    log_in(browser, account)
    clock.shift(6 * 60)  # past the step-up validity, within the idle timeout
    browser.get("/account/")
    for target in OFF_SITE:
        response = browser.client.post(
            "/account/recovery-codes", data={"csrf_token": browser.last_csrf, "back": target}
        )
        assert response.status_code == 302, repr(target)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/step-up", repr(target)
        assert parse_qs(location.query)["next"] == ["/start/"], repr(target)
