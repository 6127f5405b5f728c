"""Single-use secrets stay single-use when the same one arrives many times at once.

Each test gives N browsers their own session, lines them up on a barrier and lets them
post the same secret at the same moment, as an attacker with a stolen code (or a
double-clicking person) would. Exactly one may win; the others are refused and nothing of
the winner's success (session upgrade, audit event) is repeated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.audit.models import AuditEvent
from app.auth import totp
from app.auth.models import RecoveryCode, User, UserSession
from app.auth.services import regenerate_recovery_codes
from app.core.outbox import OutboxMessage
from app.extensions import db
from tests.conftest import Browser, code_for, empty_all_tables

N = 6


@pytest.fixture
def app(settings):
    """The application without rate limits: the N simultaneous attempts test the database's
    guard, not the limiter that would otherwise also stand in the way."""
    app = create_app(replace(settings, ratelimit_enabled=False))
    yield app
    with app.app_context():
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


def at_once(
    attempts: list[Callable[[], Any]], answer: Callable[[Any], Any] = lambda r: r.status_code
) -> list[Any]:
    """Run every attempt in its own thread, released together; their status codes (or what
    `answer` takes from each response)."""
    barrier = threading.Barrier(len(attempts))
    statuses: list[Any] = [None] * len(attempts)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            statuses[index] = answer(attempts[index]())
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return [status for status in statuses if status is not None]


def half_logged_in(app: Flask, account: Any, page: str) -> Browser:
    """A browser whose password was accepted, showing `page` (so it holds its CSRF token)."""
    browser = Browser(app.test_client())
    response = browser.post("/login", {"username": account.username, "password": account.password})
    assert response.status_code == 302
    assert browser.get(page).status_code == 200
    return browser


def posting(browser: Browser, url: str, data: dict[str, str]) -> Callable[[], Any]:
    return lambda: browser.client.post(url, data={"csrf_token": browser.last_csrf, **data})


def events(app: Flask, action: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == action)) or 0


def full_sessions(app: Flask, account: Any) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                sa.select(sa.func.count()).where(
                    UserSession.user_id == account.id, UserSession.second_factor_at.is_not(None)
                )
            )
            or 0
        )


def test_one_totp_code_logs_in_exactly_one_of_many_simultaneous_sessions(app, make_account):
    """Given N sessions past the password, when all send the same valid code at the same
    moment, then exactly one is logged in."""
    account = make_account()
    browsers = [half_logged_in(app, account, "/login/code") for _ in range(N)]
    code = code_for(app, account)

    statuses = at_once([posting(b, "/login/code", {"code": code}) for b in browsers])

    assert sorted(statuses) == [302] + [401] * (N - 1)
    assert full_sessions(app, account) == 1
    assert events(app, "login.succeeded") == 1
    assert [b.get("/start/").status_code for b in browsers].count(200) == 1


def test_one_recovery_code_logs_in_exactly_one_of_many_simultaneous_sessions(app, make_account):
    account = make_account()
    with app.app_context():
        codes = regenerate_recovery_codes(db.session.get(User, account.id))
        db.session.commit()
    browsers = [half_logged_in(app, account, "/login/recovery") for _ in range(N)]

    statuses = at_once(
        [posting(b, "/login/recovery", {"recovery_code": codes[0]}) for b in browsers]
    )

    assert sorted(statuses) == [302] + [401] * (N - 1)
    assert full_sessions(app, account) == 1
    assert events(app, "recovery_code.used") == 1
    assert events(app, "login.succeeded") == 1
    with app.app_context():
        used = db.session.scalar(
            sa.select(sa.func.count()).where(
                RecoveryCode.user_id == account.id, RecoveryCode.used_at.is_not(None)
            )
        )
    assert used == 1


def test_one_code_steps_up_exactly_one_of_many_simultaneous_sessions(app, make_account):
    """Given N logged-in sessions (each with a recovery code of its own), when all re-prove
    the second factor with the same code at the same moment, then one is stepped up."""
    account = make_account()
    with app.app_context():
        codes = regenerate_recovery_codes(db.session.get(User, account.id))
        db.session.commit()
    browsers = []
    for recovery_code in codes[:N]:
        browser = half_logged_in(app, account, "/login/recovery")
        assert browser.post("/login/recovery", {"recovery_code": recovery_code}).status_code == 302
        assert browser.get("/step-up").status_code == 200
        browsers.append(browser)
    code = code_for(app, account)

    statuses = at_once([posting(b, "/step-up", {"code": code}) for b in browsers])

    assert sorted(statuses) == [302] + [401] * (N - 1)
    assert events(app, "session.stepped_up") == 1


def test_only_one_of_many_simultaneous_enrolments_is_saved(app, make_account):
    """Given a new account enrolling in N sessions, each with the secret it was offered,
    when all confirm at once, then one secret is saved and only its session gets in."""
    account = make_account(enrolled=False)
    browsers, secrets = [], []
    for _ in range(N):
        browser = half_logged_in(app, account, "/login/enrol")
        html = browser.get("/login/enrol").get_data(as_text=True)
        key = html.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1].split("<")[0]
        browsers.append(browser)
        secrets.append(key.replace(" ", ""))

    answers = at_once(
        [
            posting(b, "/login/enrol", {"code": pyotp.TOTP(secret).now()})
            for b, secret in zip(browsers, secrets, strict=True)
        ],
        answer=lambda r: (r.status_code, r.headers.get("Location")),
    )

    statuses = [status for status, _location in answers]
    assert statuses.count(200) == 1
    # The others are refused: their secret does not match the saved one (401), or, arriving
    # after the winner's commit, they find the account enrolled and are sent to enter a
    # code of the saved secret (302), which they do not have. None gets in.
    for status, location in answers:
        assert status == 200 or status == 401 or (status == 302 and location == "/login/code")
    winner = statuses.index(200)
    assert events(app, "totp.enrolled") == 1
    with app.app_context():
        assert db.session.get(User, account.id).totp_secret == secrets[winner]
    assert full_sessions(app, account) == 1


def test_simultaneous_wrong_codes_are_each_counted_and_lock_once(app, make_account):
    """Given an account two wrong codes short of the cap, when N sessions send wrong codes
    at the same moment, then every one is counted (no update lost to another's read), the
    codes lock, and the lock is audited and mailed exactly once."""
    account = make_account()
    cap = app.config["TOTP_FAILURE_CAP"]
    with app.app_context():
        user = db.session.get(User, account.id)
        user.totp_failures = cap - 2
        user.notify_email = "someone@example.org"
        db.session.commit()
    browsers = [half_logged_in(app, account, "/login/code") for _ in range(N)]
    now = totp.current_step()
    accepted = {pyotp.TOTP(account.secret).generate_otp(s) for s in range(now - 2, now + 3)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)

    statuses = at_once([posting(b, "/login/code", {"code": wrong}) for b in browsers])

    assert 302 not in statuses, statuses
    with app.app_context():
        user = db.session.get(User, account.id)
        assert user.totp_failures == cap - 2 + N, statuses
        assert user.totp_locked_at is not None
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1
    assert events(app, "totp.locked") == 1
