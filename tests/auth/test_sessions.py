"""Server-side sessions: idle and absolute timeouts, revocation, password change."""

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import g, template_rendered

from app.audit.models import AuditEvent
from app.auth.models import User, UserSession
from app.extensions import db
from tests.conftest import PASSWORD


def assert_logged_out(browser, url="/start/"):
    """The browser's session is over: it is sent to the login page itself (not to finish a
    login with a code), and its cookie no longer names a session."""
    response = browser.get(url)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login", response.headers["Location"]
    assert browser.session_token() is None


def test_an_idle_staff_session_expires_after_15_minutes(browser, make_account, log_in, clock):
    account = make_account()
    log_in(browser, account)
    clock.shift(14 * 60)
    assert browser.get("/start/").status_code == 200
    clock.shift(14 * 60)  # activity above reset the idle clock
    assert browser.get("/start/").status_code == 200
    clock.shift(15 * 60 + 1)
    assert_logged_out(browser)


def test_an_expired_session_stays_dead_when_the_clock_goes_back(
    app, browser, make_account, log_in, clock
):
    account = make_account()
    log_in(browser, account)
    clock.shift(16 * 60)
    token = browser.session_token()
    assert browser.get("/start/").status_code == 302
    clock.shift(-16 * 60)
    with browser.client.session_transaction() as session:
        session["sid"] = token
    assert browser.get("/start/").status_code == 302
    with app.app_context():
        reasons = db.session.scalars(sa.select(UserSession.revoked_reason)).all()
    assert "idle_timeout" in reasons


def test_clients_have_30_minutes_of_idle_time(browser, make_account, log_in, clock):
    from app.auth.models import Role

    account = make_account(Role.CLIENT)
    log_in(browser, account)
    clock.shift(25 * 60)
    assert browser.get("/my/").status_code == 200
    clock.shift(31 * 60)
    assert_logged_out(browser, "/my/")


def test_absolute_timeout_ends_even_an_active_session(browser, make_account, log_in, clock):
    account = make_account()
    log_in(browser, account)
    for _ in range(10 * 6):  # ten hours of activity every ten minutes
        clock.shift(10 * 60)
        response = browser.get("/start/")
    assert response.status_code == 302


def test_a_revoked_session_stops_working_at_once(app, browser, new_browser, make_account, log_in):
    account = make_account()
    phone, laptop = browser, new_browser()
    log_in(phone, account)
    log_in(laptop, account)
    page = laptop.get("/account/")
    html = page.get_data(as_text=True)
    with app.app_context():
        phone_session = db.session.scalar(
            sa.select(UserSession).order_by(UserSession.created_at).limit(1)
        )
        phone_id = str(phone_session.id)
    assert f"/account/sessions/{phone_id}/end" in html
    token = phone.session_token()
    laptop.post(f"/account/sessions/{phone_id}/end", form_page="/account/")
    assert_logged_out(phone)
    assert laptop.get("/start/").status_code == 200
    # The ended session's cookie, kept and presented again, cannot even finish a login.
    with phone.client.session_transaction() as session:
        session["sid"] = token
    assert phone.get("/login/code").status_code == 302
    assert_logged_out(phone)


def test_log_out_everywhere_ends_every_session(browser, new_browser, make_account, log_in):
    account = make_account()
    other = new_browser()
    log_in(browser, account)
    log_in(other, account)
    response = browser.post("/account/sessions/end-all", form_page="/account/")
    assert response.status_code == 302
    assert_logged_out(browser)
    assert_logged_out(other)


def test_someone_elses_session_cannot_be_ended(app, browser, new_browser, make_account, log_in):
    mine, theirs = make_account(), make_account()
    their_browser = new_browser()
    log_in(browser, mine)
    log_in(their_browser, theirs)
    with app.app_context():
        their_session = db.session.scalar(
            sa.select(UserSession).where(UserSession.user_id == theirs.id)
        )
    response = browser.post(f"/account/sessions/{their_session.id}/end", form_page="/account/")
    assert response.status_code == 404
    assert their_browser.get("/start/").status_code == 200
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "access.denied")
            )
            == 1
        )


def test_a_password_change_ends_other_sessions(app, browser, new_browser, make_account, log_in):
    account = make_account()
    other = new_browser()
    log_in(browser, account)
    log_in(other, account)
    response = browser.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "fyra-nya-ord-i-rad",
            "confirm_password": "fyra-nya-ord-i-rad",
        },
    )
    assert response.status_code == 302
    assert browser.get("/start/").status_code == 200
    assert_logged_out(other)


def test_a_weak_new_password_is_refused_with_help(browser, make_account, log_in):
    account = make_account()
    log_in(browser, account)
    response = browser.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "password123",
            "confirm_password": "password123",
        },
    )
    assert response.status_code == 400
    assert "This is a very common password." in response.get_data(as_text=True)


def test_a_wrong_current_password_changes_nothing(app, browser, make_account, log_in):
    account = make_account()
    log_in(browser, account)
    response = browser.post(
        "/account/password",
        {
            "current_password": "not-my-password",
            "new_password": "fyra-nya-ord-i-rad",
            "confirm_password": "fyra-nya-ord-i-rad",
        },
    )
    assert response.status_code == 400
    browser.post("/logout", form_page="/start/")
    relogin = browser.post("/login", {"username": account.username, "password": PASSWORD})
    assert relogin.status_code == 302


def test_the_user_every_request_looks_up_carries_no_decrypted_secret(
    app, browser, make_account, log_in
):
    account = make_account()
    log_in(browser, account)
    seen: dict[str, set[str]] = {}

    def look(_sender, **_extra):
        seen["user"] = set(sa.inspect(g.user_session.user).dict)
        seen["session"] = set(sa.inspect(g.user_session).dict)
        # Still there, loaded when something needs it.
        seen["secret"] = {g.user_session.user.totp_secret}

    with template_rendered.connected_to(look, app):
        assert browser.get("/start/").status_code == 200
    assert "username" in seen["user"]
    assert not {"totp_secret", "notify_email"} & seen["user"]
    assert "pending_totp_secret" not in seen["session"]
    assert seen["secret"] == {account.secret}


def test_the_session_cookie_is_sent_again_only_when_the_session_changes(
    browser, make_account, log_in
):
    """The server decides expiry; re-signing an unchanged cookie on every page is work for
    nothing. A change (here the language) still reaches the browser."""
    log_in(browser, make_account())
    assert browser.get("/start/").status_code == 200
    unchanged = browser.get("/start/")
    assert unchanged.status_code == 200
    assert "Set-Cookie" not in unchanged.headers
    assert "Set-Cookie" in browser.get("/start/?lang=en").headers


def test_login_drops_what_was_planted_in_the_cookie_and_keeps_the_language(
    browser, make_account, log_in
):
    """Given a browser whose cookie session holds a chosen language and something planted
    before the login, when the person logs in, the language stays and the rest is gone;
    the cookie lives as long as the absolute timeout, not just until the browser closes."""
    browser.get("/login?lang=sv")
    with browser.client.session_transaction() as session:
        session["planted"] = "by someone else"
    response = log_in(browser, make_account())
    assert "Expires=" in response.headers["Set-Cookie"]
    with browser.client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("lang") == "sv"


def test_revocations_are_audited_with_who_and_why(app, browser, make_account, log_in, clock):
    """Given a session ended by idle time (no one acting), the audit trail records the
    revocation, its reason and the account it belonged to as the actor."""
    account = make_account()
    log_in(browser, account)
    clock.shift(16 * 60)
    assert_logged_out(browser)
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "session.revoked")
        ).one()
        assert event.actor_id == account.id
        assert '"reason":"idle_timeout"' in event.details


def test_a_deactivated_account_loses_its_open_session_at_once(app, browser, make_account, log_in):
    account = make_account()
    log_in(browser, account)
    with app.app_context():
        db.session.get(User, account.id).active = False
        db.session.commit()
    assert_logged_out(browser)
    with app.app_context():
        reasons = db.session.scalars(sa.select(UserSession.revoked_reason)).all()
    assert "account_inactive" in reasons
