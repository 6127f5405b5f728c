"""Password + TOTP login, replay protection, recovery codes, enrolment, fixation."""

import time
from datetime import UTC, datetime

import pyotp
import pytest
import sqlalchemy as sa

from app.auth import totp
from app.auth.models import RecoveryCode, User
from app.extensions import db
from tests.conftest import code_for


def test_demo_style_login_reaches_the_start_page(browser, make_account, log_in):
    account = make_account()
    log_in(browser, account)
    page = browser.get("/start/")
    assert page.status_code == 200
    assert account.username in page.get_data(as_text=True)


def test_password_alone_does_not_open_the_portal(browser, make_account):
    account = make_account()
    browser.post("/login", {"username": account.username, "password": account.password})
    response = browser.get("/start/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/code")


def test_wrong_password_and_unknown_user_get_the_same_answer(browser, make_account):
    account = make_account()
    wrong = browser.post("/login", {"username": account.username, "password": "not-the-password"})
    unknown = browser.post("/login", {"username": "nobody-here", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 401
    message = "The username or password is wrong."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert browser.session_token() is None


def test_a_replayed_totp_code_is_refused(app, browser, new_browser, make_account, clock):
    """Given a code that just logged someone in, when it is used again, it is refused."""
    account = make_account()
    code = code_for(app, account)
    browser.post("/login", {"username": account.username, "password": account.password})
    assert browser.post("/login/code", {"code": code}).status_code == 302

    attacker = new_browser()
    attacker.post("/login", {"username": account.username, "password": account.password})
    replay = attacker.post("/login/code", {"code": code})
    assert replay.status_code == 401
    assert attacker.get("/start/").status_code == 302


def test_codes_from_one_step_either_side_are_accepted(app, browser, make_account, clock):
    account = make_account()
    # Early in a step, so the login cannot tick into the step after (the clock keeps running).
    clock.move_to(datetime.fromtimestamp((time.time() // 30 + 1) * 30 + 2, UTC))
    clock.shift(-30)
    earlier = pyotp.TOTP(account.secret).now()
    clock.shift(30)
    browser.post("/login", {"username": account.username, "password": account.password})
    assert browser.post("/login/code", {"code": earlier}).status_code == 302


def test_a_code_two_steps_old_is_refused(browser, make_account, clock):
    account = make_account()
    old = pyotp.TOTP(account.secret).now()
    clock.shift(90)
    browser.post("/login", {"username": account.username, "password": account.password})
    assert browser.post("/login/code", {"code": old}).status_code == 401


@pytest.mark.parametrize("steps", [-2, 2])
def test_only_one_step_either_side_is_forgiven(app, browser, make_account, clock, steps):
    """Given a code from exactly two steps before or after now (a phone clock a minute
    off), it is refused: the tolerance is one step, not more."""
    account = make_account()
    # Early in a step, so the login cannot tick into the next one meanwhile.
    clock.move_to(datetime.fromtimestamp((time.time() // 30 + 1) * 30 + 2, UTC))
    code = pyotp.TOTP(account.secret).generate_otp(totp.current_step() + steps)
    browser.post("/login", {"username": account.username, "password": account.password})
    assert browser.post("/login/code", {"code": code}).status_code == 401


def test_a_recovery_code_works_once(app, browser, new_browser, make_account, clock):
    account = make_account()
    with app.app_context():
        from app.auth.services import regenerate_recovery_codes

        codes = regenerate_recovery_codes(db.session.get(User, account.id))
        db.session.commit()
    browser.post("/login", {"username": account.username, "password": account.password})
    first = browser.post("/login/recovery", {"recovery_code": codes[0]})
    assert first.status_code == 302
    assert browser.get("/start/").status_code == 200

    again = new_browser()
    again.post("/login", {"username": account.username, "password": account.password})
    reuse = again.post("/login/recovery", {"recovery_code": codes[0]})
    assert reuse.status_code == 401
    assert "That recovery code did not work." in reuse.get_data(as_text=True)
    with app.app_context():
        unused = db.session.scalar(
            sa.select(sa.func.count()).where(
                RecoveryCode.user_id == account.id, RecoveryCode.used_at.is_(None)
            )
        )
    assert unused == 9


def test_session_identifier_changes_at_each_login_step(app, browser, make_account):
    """Given a planted session, the identifier after login is a fresh one (no fixation)."""
    account = make_account()
    browser.post("/login", {"username": account.username, "password": account.password})
    after_password = browser.session_token()
    browser.post("/login/code", {"code": code_for(app, account)})
    after_code = browser.session_token()
    assert after_password and after_code and after_password != after_code


def test_enrolment_saves_the_secret_only_after_a_valid_code(app, browser, make_account, clock):
    account = make_account(enrolled=False)
    browser.post("/login", {"username": account.username, "password": account.password})
    page = browser.get("/login/enrol")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html
    grouped_key = html.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1].split("<")[0]
    secret = grouped_key.replace(" ", "")

    wrong = browser.post("/login/enrol", {"code": "000000"})
    assert wrong.status_code in (400, 401)
    with app.app_context():
        assert db.session.get(User, account.id).totp_secret is None

    confirmed = browser.post("/login/enrol", {"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200
    assert confirmed.get_data(as_text=True).count("<li><code>") == 10
    with app.app_context():
        assert db.session.get(User, account.id).totp_secret == secret
    assert browser.get("/start/").status_code == 200


def test_logout_is_post_only_and_ends_the_session(app, browser, make_account, log_in):
    account = make_account()
    log_in(browser, account)
    assert browser.client.get("/logout").status_code == 405
    assert browser.post("/logout", form_page="/start/").status_code == 302
    assert browser.get("/start/").status_code == 302


def test_next_never_leads_off_site(app, browser, make_account, clock):
    account = make_account()
    for target in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]:
        clock.shift(30)
        browser.get("/login?next=" + target)
        browser.post(
            "/login",
            {"username": account.username, "password": account.password, "next": target},
        )
        response = browser.post("/login/code", {"code": code_for(app, account)})
        assert response.headers["Location"] == "/start/", target
        browser.post("/logout", form_page="/start/")


def test_next_keeps_a_local_page(app, browser, make_account):
    account = make_account()
    browser.post(
        "/login", {"username": account.username, "password": account.password, "next": "/account/"}
    )
    response = browser.post("/login/code", {"code": code_for(app, account)})
    assert response.headers["Location"] == "/account/"


def test_deactivated_account_cannot_log_in(app, browser, make_account):
    account = make_account()
    with app.app_context():
        db.session.get(User, account.id).active = False
        db.session.commit()
    response = browser.post("/login", {"username": account.username, "password": account.password})
    assert response.status_code == 401


def test_password_is_rehashed_when_parameters_change(app, browser, make_account, log_in):
    account = make_account()
    with app.app_context():
        from argon2 import PasswordHasher

        user = db.session.get(User, account.id)
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(
            account.password
        )
        db.session.commit()
        old_hash = user.password_hash
    log_in(browser, account)
    with app.app_context():
        new_hash = db.session.get(User, account.id).password_hash
    assert new_hash != old_hash
    assert "m=1024" in new_hash
