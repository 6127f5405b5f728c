"""Passkeys as a second factor: enrolled on the account page, used at login and step-up
instead of a code, removed, and never the account's last working factor removed.

The phone is a software passkey (tests/auth/softkey.py) answering the same JSON the page's
script exchanges with the server; the real browser's ceremony is in
tests/browser/test_passkeys.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth import services
from app.auth.models import Passkey, PasskeyChallenge, Role, User
from app.core.clock import utcnow
from app.extensions import db
from tests.auth.softkey import SoftPasskey
from tests.security.test_once import race, same_browser


def options(browser, url: str, form_page: str) -> str:
    response = browser.post(url, {}, form_page=form_page)
    assert response.status_code == 200, response.get_data(as_text=True)[-500:]
    assert response.mimetype == "application/json"
    return response.get_data(as_text=True)


def enrol(app, browser) -> SoftPasskey:
    """Add a software passkey to the logged-in browser's account, as the page would."""
    phone = SoftPasskey(app.config["BASE_URL"])
    offered = options(browser, "/account/passkeys/options", "/account/passkeys/new")
    response = browser.post(
        "/account/passkeys",
        {"credential": phone.create(offered)},
        form_page="/account/passkeys/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    return phone


def password_step(browser, account) -> None:
    response = browser.post("/login", {"username": account.username, "password": account.password})
    assert response.status_code == 302


def passkey_login(browser, phone: SoftPasskey, **answer) -> object:
    offered = options(browser, "/login/passkey/options", "/login/code")
    return browser.post(
        "/login/passkey", {"credential": phone.get(offered, **answer)}, form_page="/login/code"
    )


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def passkeys_of(app, account) -> list[Passkey]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Passkey).where(Passkey.user_id == account.id)))


def lock_codes(app, account) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(User).where(User.id == account.id).values(totp_locked_at=utcnow())
        )
        db.session.commit()


def test_a_client_enrols_a_passkey_and_logs_in_with_it_instead_of_a_code(
    app, browser, new_browser, make_account, log_in
):
    # Given a client logged in with a code
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    # When they add a passkey from the account page
    phone = enrol(app, browser)
    [stored] = passkeys_of(app, account)
    assert stored.credential_id == phone.credential_id
    assert "passkey.enrolled" in actions(app)
    # Then on another device, after the password, the passkey finishes the login
    other = new_browser()
    password_step(other, account)
    page = other.get("/login/code").get_data(as_text=True)
    assert 'data-passkey="get"' in page and "Log in with a passkey" in page
    response = passkey_login(other, phone)
    assert response.status_code == 302
    assert other.get("/account/").status_code == 200
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "login.succeeded")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert json.loads(event.details)["method"] == "passkey"
    [used] = passkeys_of(app, account)
    assert used.sign_count == 1 and used.last_used_at is not None


def test_staff_log_in_with_a_passkey_too(app, browser, new_browser, make_account, log_in):
    account = make_account(Role.CASEWORKER)
    log_in(browser, account)
    phone = enrol(app, browser)
    other = new_browser()
    password_step(other, account)
    assert passkey_login(other, phone).status_code == 302


def test_without_a_passkey_the_code_page_offers_none(app, browser, make_account):
    account = make_account(Role.CLIENT)
    password_step(browser, account)
    assert "data-passkey" not in browser.get("/login/code").get_data(as_text=True)
    # and no options are handed out for an account that has nothing to answer them with
    assert browser.post("/login/passkey/options", {}, form_page="/login/code").status_code == 400


def test_an_answer_works_once(app, browser, new_browser, make_account, log_in):
    # Given a passkey and an answer the server accepted
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    phone = enrol(app, browser)
    other = new_browser()
    password_step(other, account)
    offered = options(other, "/login/passkey/options", "/login/code")
    answer = phone.get(offered)
    # When someone replays the same answer in a new half-finished login
    third = new_browser()
    password_step(third, account)
    options(third, "/login/passkey/options", "/login/code")
    replayed = third.post("/login/passkey", {"credential": answer}, form_page="/login/code")
    # Then it is refused there (the challenge is another session's) ...
    assert replayed.status_code == 401
    assert "The passkey did not work" in replayed.get_data(as_text=True)
    assert (
        other.post("/login/passkey", {"credential": answer}, form_page="/login/code").status_code
        == 302
    )
    # ... and in its own session, where it was accepted, its challenge is spent for good
    with app.app_context():
        open_challenges = db.session.scalars(
            sa.select(PasskeyChallenge).where(PasskeyChallenge.used_at.is_(None))
        ).all()
        assert len(open_challenges) == 1  # only `third`'s own, never answered


def test_a_refused_answer_still_spends_its_challenge(
    app, browser, new_browser, make_account, log_in
):
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    phone = enrol(app, browser)
    other = new_browser()
    password_step(other, account)
    offered = options(other, "/login/passkey/options", "/login/code")
    # A wrong origin (a look-alike site relaying the ceremony) is refused ...
    look_alike = SoftPasskey(app.config["BASE_URL"], origin="https://kontakt-login.example")
    look_alike.key, look_alike.credential_id = phone.key, phone.credential_id
    refused = other.post(
        "/login/passkey", {"credential": look_alike.get(offered)}, form_page="/login/code"
    )
    assert refused.status_code == 401
    # ... and the right answer to the same challenge no longer gets in
    late = other.post("/login/passkey", {"credential": phone.get(offered)}, form_page="/login/code")
    assert late.status_code == 401
    assert "passkey" in json.dumps(actions(app))


def test_a_counter_that_does_not_move_is_refused(app, browser, new_browser, make_account, log_in):
    # Given a passkey used once (its counter now 1)
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    phone = enrol(app, browser)
    first = new_browser()
    password_step(first, account)
    assert passkey_login(first, phone).status_code == 302
    # When a copy of the key signs with a count that is not higher
    second = new_browser()
    password_step(second, account)
    assert passkey_login(second, phone, count=1).status_code == 401
    assert passkeys_of(app, account)[0].sign_count == 1


def test_a_challenge_expires(app, browser, new_browser, make_account, log_in, clock):
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    phone = enrol(app, browser)
    other = new_browser()
    password_step(other, account)
    offered = options(other, "/login/passkey/options", "/login/code")
    clock.shift(timedelta(minutes=6))
    late = other.post("/login/passkey", {"credential": phone.get(offered)}, form_page="/login/code")
    assert late.status_code == 401


def test_a_passkey_of_another_account_does_not_finish_this_login(
    app, browser, new_browser, make_account, log_in
):
    owner, stranger = make_account(Role.CLIENT), make_account(Role.CLIENT)
    log_in(browser, owner)
    phone = enrol(app, browser)
    other = new_browser()
    log_in(other, stranger)
    enrol(app, other)
    attempt = new_browser()
    password_step(attempt, stranger)
    assert passkey_login(attempt, phone).status_code == 401


def test_locked_codes_do_not_lock_a_passkey(app, browser, new_browser, make_account, log_in):
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    phone = enrol(app, browser)
    lock_codes(app, account)
    other = new_browser()
    password_step(other, account)
    page = other.get("/login/code").get_data(as_text=True)
    assert "no longer work" in page and 'data-passkey="get"' in page
    assert passkey_login(other, phone).status_code == 302


def test_parallel_answers_log_in_once(app, browser, new_browser, make_account, log_in):
    # Given one answer sent from six tabs of the same half-finished login at once
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    phone = enrol(app, browser)
    other = new_browser()
    password_step(other, account)
    offered = options(other, "/login/passkey/options", "/login/code")
    other.get("/login/code")
    payload = {"credential": phone.get(offered), "csrf_token": other.last_csrf}
    clients = [same_browser(app, other) for _ in range(6)]
    results = race([lambda c=c: c.post("/login/passkey", data=payload) for c in clients])
    # Then exactly one finishes the login
    assert sorted(r.status_code for r in results).count(302) == 1


def test_a_step_up_with_a_passkey(app, browser, make_account, log_in, clock):
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    phone = enrol(app, browser)
    clock.shift(timedelta(minutes=12))
    assert browser.get("/account/recovery-codes").status_code == 302  # sent to the step-up
    page = browser.get("/step-up?next=/account/recovery-codes").get_data(as_text=True)
    assert "Confirm with a passkey" in page
    offered = options(browser, "/step-up/passkey/options", "/step-up?next=/account/recovery-codes")
    response = browser.post(
        "/step-up/passkey?next=/account/recovery-codes",
        {"credential": phone.get(offered)},
        form_page="/step-up?next=/account/recovery-codes",
    )
    assert response.status_code == 302 and response.location.endswith("/account/recovery-codes")
    assert browser.get("/account/recovery-codes").status_code == 200


def test_adding_a_passkey_needs_a_fresh_step_up(app, browser, make_account, log_in, clock):
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    clock.shift(timedelta(minutes=12))
    assert browser.get("/account/passkeys/new").status_code == 302
    response = browser.post("/account/passkeys/options", {}, form_page="/account/")
    assert response.status_code == 302 and "/step-up" in response.location


def test_a_passkey_is_removed_while_the_codes_work(app, browser, make_account, log_in):
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    enrol(app, browser)
    [passkey] = passkeys_of(app, account)
    response = browser.post(f"/account/passkeys/{passkey.id}/remove", {}, form_page="/account/")
    assert response.status_code == 302
    assert passkeys_of(app, account) == []
    assert "passkey.removed" in actions(app)


def test_the_last_working_factor_cannot_be_removed(app, browser, make_account, log_in):
    # Given an account whose codes are locked and which has two passkeys
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    enrol(app, browser)
    enrol(app, browser)
    lock_codes(app, account)
    first, second = passkeys_of(app, account)
    # When one is removed, that is fine: the other still finishes a login
    assert (
        browser.post(f"/account/passkeys/{first.id}/remove", {}, form_page="/account/").status_code
        == 302
    )
    # But the last one is refused, with a reason, and stays
    refused = browser.post(f"/account/passkeys/{second.id}/remove", {}, form_page="/account/")
    assert refused.status_code == 409
    assert "cannot be removed" in refused.get_data(as_text=True)
    assert [p.id for p in passkeys_of(app, account)] == [second.id]
    assert "passkey.removal_refused" in actions(app)


def test_two_removals_at_once_leave_one_passkey(app, browser, make_account, log_in):
    # Given locked codes and two passkeys, each removed from its own tab at the same moment
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    enrol(app, browser)
    enrol(app, browser)
    lock_codes(app, account)
    keys = passkeys_of(app, account)
    browser.get("/account/")
    payload = {"csrf_token": browser.last_csrf, "back": "/account/"}
    clients = [same_browser(app, browser) for _ in keys]
    results = race(
        [
            lambda c=c, k=k: c.post(f"/account/passkeys/{k.id}/remove", data=payload)
            for c, k in zip(clients, keys, strict=True)
        ]
    )
    # Then one is removed and one refused: the account keeps a working factor
    assert sorted(r.status_code for r in results) == [302, 409]
    assert len(passkeys_of(app, account)) == 1


def test_someone_elses_passkey_is_not_found(app, browser, new_browser, make_account, log_in):
    owner, other_account = make_account(Role.CLIENT), make_account(Role.CLIENT)
    log_in(browser, owner)
    enrol(app, browser)
    [passkey] = passkeys_of(app, owner)
    other = new_browser()
    log_in(other, other_account)
    assert (
        other.post(f"/account/passkeys/{passkey.id}/remove", {}, form_page="/account/").status_code
        == 404
    )
    assert len(passkeys_of(app, owner)) == 1


def test_a_reset_of_the_second_factor_removes_the_passkeys(app, browser, make_account, log_in):
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    enrol(app, browser)
    with app.app_context():
        services.reset_second_factor(db.session.get(User, account.id))
        db.session.commit()
    assert passkeys_of(app, account) == []


def test_malformed_answers_are_a_plain_refusal(app, browser, new_browser, make_account, log_in):
    account = make_account(Role.CLIENT)
    log_in(browser, account)
    enrol(app, browser)
    other = new_browser()
    password_step(other, account)
    options(other, "/login/passkey/options", "/login/code")
    for junk in ("{}", "not json", json.dumps({"id": "x", "rawId": "x", "response": {}}), "[1]"):
        response = other.post("/login/passkey", {"credential": junk}, form_page="/login/code")
        assert response.status_code == 401
    too_long = other.post("/login/passkey", {"credential": "a" * 20_000}, form_page="/login/code")
    assert too_long.status_code == 400
