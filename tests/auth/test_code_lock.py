"""Wrong second-factor codes have a cumulative cap: reaching it locks the account's
authenticator codes until a recovery code or a reset, and the owner is told."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pyotp
import pytest
import sqlalchemy as sa

from app import create_app
from app.audit.models import AuditEvent
from app.auth import totp
from app.auth.models import Role, User
from app.auth.services import regenerate_recovery_codes
from app.cases.models import Case
from app.consent.models import Consent, ConsentMethod, Purpose
from app.consent.services import record_consent
from app.core.clock import utcnow
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.orgs.models import Organisation
from config import Settings
from tests.conftest import code_for, empty_all_tables

CAP = 3
LOCKED = "Codes from your authenticator app no longer work for this account"


@pytest.fixture
def app(settings):
    """A small cap, and no rate limit: the cap is what is under test, not the limiter."""
    app = create_app(replace(settings, totp_failure_cap=CAP, ratelimit_enabled=False))
    yield app
    with app.app_context():
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


def wrong_code(secret: str) -> str:
    """A well-formed code that matches none of the steps the server would accept now."""
    now = totp.current_step()
    accepted = {pyotp.TOTP(secret).generate_otp(step) for step in range(now - 2, now + 3)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in accepted)


def past_password(browser, account):
    response = browser.post("/login", {"username": account.username, "password": account.password})
    assert response.status_code == 302


def user_row(app, account) -> User:
    with app.app_context():
        user = db.session.get(User, account.id)
        db.session.expunge(user)
        return user


def events(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == action))


def mails(app) -> list[OutboxMessage]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(OutboxMessage)))
        for message in found:
            db.session.expunge(message)
        return found


def lock(browser, account):
    """Type wrong codes up to the cap; the last answer is returned."""
    past_password(browser, account)
    for _attempt in range(CAP - 1):
        assert browser.post("/login/code", {"code": wrong_code(account.secret)}).status_code == 401
    return browser.post("/login/code", {"code": wrong_code(account.secret)})


def with_address(app, account, address="someone@example.org", locale="sv"):
    with app.app_context():
        user = db.session.get(User, account.id)
        user.notify_email = address
        user.locale = locale
        db.session.commit()


def test_the_default_cap_is_twenty_wrong_codes():
    assert Settings.__dataclass_fields__["totp_failure_cap"].default == 20


def test_reaching_the_cap_locks_the_codes_even_a_right_one(app, browser, make_account):
    """Given someone with the password guessing codes, when the wrong ones reach the cap,
    then even the right code no longer logs in, and the page says how to get in."""
    account = make_account()
    locked = lock(browser, account)
    assert locked.status_code == 403
    assert LOCKED in locked.get_data(as_text=True)

    right = browser.post("/login/code", {"code": code_for(app, account)})
    assert right.status_code == 403
    assert LOCKED in right.get_data(as_text=True)
    assert browser.get("/start/").status_code == 302
    shown = browser.get("/login/code")
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert LOCKED in page and 'href="/login/recovery"' in page
    assert 'name="code"' not in page

    row = user_row(app, account)
    assert row.totp_locked_at is not None and row.totp_failures == CAP
    assert events(app, "totp.locked") == 1


def test_the_owner_gets_one_mail_that_says_nothing_about_the_portal(app, browser, make_account):
    account = make_account(Role.CLIENT, username="stilla-flod-42")
    with_address(app, account, locale="en")
    lock(browser, account)
    browser.post("/login/code", {"code": wrong_code(account.secret)})  # after the lock

    [mail] = mails(app)
    assert mail.recipient == "someone@example.org"
    assert mail.subject == "A security notice about your account"
    assert "recovery codes" in mail.body and "contact the team" in mail.body
    for revealing in (account.username, "Utväg", "case", "http"):
        assert revealing not in mail.subject + mail.body


def test_without_an_address_the_lock_is_only_audited(app, browser, make_account):
    account = make_account()
    assert lock(browser, account).status_code == 403
    assert mails(app) == []
    assert events(app, "totp.locked") == 1


def test_a_working_code_starts_the_count_again(app, browser, new_browser, make_account, clock):
    account = make_account()
    for _round in range(2):
        past_password(browser, account)
        for _attempt in range(CAP - 1):
            browser.post("/login/code", {"code": wrong_code(account.secret)})
        clock.shift(30)
        assert browser.post("/login/code", {"code": code_for(app, account)}).status_code == 302
        browser.post("/logout", form_page="/start/")
    row = user_row(app, account)
    assert row.totp_locked_at is None and row.totp_failures == 0


def test_a_recovery_code_logs_in_and_opens_the_locked_codes(
    app, browser, new_browser, make_account, clock
):
    account = make_account()
    with app.app_context():
        codes = regenerate_recovery_codes(db.session.get(User, account.id))
        db.session.commit()
    lock(browser, account)

    assert browser.post("/login/recovery", {"recovery_code": codes[0]}).status_code == 302
    assert browser.get("/start/").status_code == 200
    row = user_row(app, account)
    assert row.totp_locked_at is None and row.totp_failures == 0
    assert events(app, "totp.unlocked") == 1

    later = new_browser()
    past_password(later, account)
    clock.shift(30)
    assert later.post("/login/code", {"code": code_for(app, account)}).status_code == 302


def test_an_administrators_reset_opens_the_locked_codes(
    app, browser, new_browser, make_account, log_in
):
    admin, worker = make_account(Role.ADMIN), make_account(Role.CASEWORKER)
    lock(new_browser(), worker)
    log_in(browser, admin)
    page = browser.get("/admin/users").get_data(as_text=True)
    assert "codes locked after too many wrong ones" in page

    response = browser.post(
        f"/admin/users/{worker.id}/reset-second-factor",
        {"back": "/admin/users"},
        form_page="/admin/users",
    )
    assert response.status_code == 302
    row = user_row(app, worker)
    assert row.totp_locked_at is None and row.totp_failures == 0

    fresh = new_browser()
    past_password(fresh, worker)
    assert fresh.get("/login/code").headers["Location"].endswith("/login/enrol")


def test_wrong_step_up_codes_count_towards_the_same_cap(app, browser, make_account, log_in):
    """Given a logged-in session guessing at the step-up page, the cap holds there too."""
    account = make_account()
    log_in(browser, account)
    for _attempt in range(CAP - 1):
        assert browser.post("/step-up", {"code": wrong_code(account.secret)}).status_code == 401
    locked = browser.post("/step-up", {"code": wrong_code(account.secret)})
    assert locked.status_code == 403
    assert LOCKED in locked.get_data(as_text=True)
    right = browser.post("/step-up", {"code": code_for(app, account)})
    assert right.status_code == 403
    assert events(app, "session.stepped_up") == 0


def test_a_client_whose_codes_are_locked_cannot_confirm_a_consent(
    app, scene, other_orgs, client_browser, clock
):
    """Given a client whose codes locked, when they answer a consent with a right code, then
    the answer is refused with the way in, and nothing is recorded as their answer."""
    with app.app_context():
        agency = db.session.scalar(sa.select(Organisation).where(Organisation.slug == "polisen"))
        consent = record_consent(
            db.session.get(Case, scene.case_id),
            db.session.get(User, scene.owner.id),
            agencies=[agency],
            purposes={Purpose.CONSULTATION},
            method=ConsentMethod.DIGITAL,
            given=True,
            valid_from=date(2020, 1, 1),
            valid_until=None,
        )
        consent_id = consent.id
        client = db.session.scalar(sa.select(User).where(User.role == Role.CLIENT))
        client.totp_locked_at = utcnow()
        db.session.commit()
    clock.shift(30)
    code = pyotp.TOTP(client_browser.secret).now()

    refused = client_browser.post(f"/my/consents/{consent_id}", {"answer": "yes", "code": code})

    assert refused.status_code == 401
    assert LOCKED in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Consent, consent_id).given is None
