"""What strangers can cause is counted, not chained; the access-log page checks only the
events after the last whole-chain check; `flask audit verify` still checks everything."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

import app.audit.services as audit_services
from app.audit.models import AuditEvent, SecurityTally
from app.audit.services import record
from app.auth.models import Role
from app.extensions import db
from app.retention.services import delete, due_for_deletion
from app.rules import rule


def _events(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def _lead(make_account, new_browser, log_in):
    browser = new_browser()
    log_in(browser, make_account(Role.TEAM_LEAD))
    return browser


def test_failed_logins_by_strangers_add_no_chained_events_and_a_bounded_count(
    app, browser, make_account
):
    """Given 40 wrong passwords for a known account and 40 for made-up names (most of them
    throttled), the chain has not grown by one event, and all 80 attempts are counted in
    three rows: per kind, account and hour, not per attempt."""
    account = make_account()
    before = _events(app)
    for n in range(40):
        browser.post("/login", {"username": account.username, "password": f"wrong-{n}"})
        browser.post("/login", {"username": f"nobody{n}", "password": "wrong"})
    assert _events(app) == before
    with app.app_context():
        tallies = db.session.scalars(sa.select(SecurityTally).order_by(SecurityTally.id)).all()
        counted = sorted((t.kind, t.account_id == account.id, t.count) for t in tallies)
    assert len(counted) == 3
    assert sum(count for _kind, _known, count in counted) == 80
    assert ("login.failed", True) in {(kind, known) for kind, known, _count in counted}
    assert "throttled" in {kind for kind, _known, _count in counted}


def test_the_team_lead_sees_failed_logins_against_the_teams_accounts(
    app, browser, make_account, new_browser, log_in
):
    make_account(username="malte")
    for _ in range(7):
        browser.post("/login", {"username": "malte", "password": "wrong-one"})
    browser.post("/login", {"username": "nobody-at-all", "password": "wrong-one"})
    page = _lead(make_account, new_browser, log_in).get("/team/access-log").get_data(as_text=True)
    section = page.split('id="attempts"')[1].split('id="review"')[0]
    assert "malte" in section and "<td>7</td>" in section
    assert "Failed logins (wrong password)" in section
    # The made-up name, counted portal-wide.
    assert "failed logins 1, refused for too many attempts 0" in section
    assert "<td>Login failed</td>" not in page  # no event row per attempt


def test_counts_outlive_their_retention_period_by_nothing(app, browser, make_account, clock):
    make_account(username="gammal")
    browser.post("/login", {"username": "gammal", "password": "wrong-one"})
    clock.shift(timedelta(days=round(30.44 * rule("security_tallies").value) + 2))
    browser.post("/login", {"username": "gammal", "password": "wrong-one"})
    with app.app_context():
        due = due_for_deletion()
        assert due.security_tallies == 1
        delete(due)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecurityTally)) == 1


def _seed(app, count):
    with app.app_context():
        for n in range(count):
            record("test.event", subject_type="thing", subject_id=str(n))
        db.session.commit()


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_the_access_log_checks_only_events_after_the_last_whole_check(
    app, make_account, new_browser, log_in, monkeypatch
):
    """Given 300 events checked by `flask audit verify` and a few after it, a view of the
    access log hashes only those few, not the whole chain."""
    _seed(app, 300)
    assert _verify(app).exit_code == 0
    lead = _lead(make_account, new_browser, log_in)  # a few events of its own
    hashed = []
    real = audit_services.event_hash
    monkeypatch.setattr(
        audit_services, "event_hash", lambda e, key=None: hashed.append(e.seq) or real(e, key)
    )
    page = lead.get("/team/access-log").get_data(as_text=True)
    assert "Audit chain verified: intact. The whole chain was checked" in page
    checked_now = [seq for seq in hashed if seq > 300]
    assert hashed and all(seq > 300 for seq in hashed), sorted(hashed)[:5]
    assert len(checked_now) < 20


def test_a_change_after_the_last_whole_check_shows_on_the_page(
    app, make_account, new_browser, log_in
):
    _seed(app, 5)
    assert _verify(app).exit_code == 0
    _seed(app, 5)
    with app.app_context():
        newest = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
        db.session.execute(
            sa.text("UPDATE audit_events SET subject_id = 'x' WHERE seq = :s"), {"s": newest - 1}
        )
        db.session.commit()
    page = _lead(make_account, new_browser, log_in).get("/team/access-log").get_data(as_text=True)
    assert "The audit chain is broken" in page


def test_a_change_before_the_last_check_is_caught_by_the_whole_check_and_then_shown(
    app, make_account, new_browser, log_in
):
    """Given a change to an old event, `flask audit verify` (the whole chain) finds it and
    the page reports the broken chain from then on."""
    _seed(app, 5)
    assert _verify(app).exit_code == 0
    with app.app_context():
        db.session.execute(sa.text("UPDATE audit_events SET subject_id = 'x' WHERE seq = 2"))
        db.session.commit()
    result = _verify(app)
    assert result.exit_code != 0 and "event 2" in result.output
    page = _lead(make_account, new_browser, log_in).get("/team/access-log").get_data(as_text=True)
    assert "The audit chain is broken" in page


def test_a_forged_record_of_the_last_check_is_noticed(app, make_account, new_browser, log_in):
    """Given someone with the database moves the checked point past an altered event, the
    signature no longer matches and the page says the chain is broken."""
    _seed(app, 5)
    assert _verify(app).exit_code == 0
    _seed(app, 3)
    with app.app_context():
        db.session.execute(sa.text("UPDATE audit_events SET subject_id = 'x' WHERE seq = 7"))
        head = db.session.execute(sa.text("SELECT seq, hash FROM audit_head")).one()
        db.session.execute(
            sa.text("UPDATE audit_verifications SET seq = :s, hash = :h"),
            {"s": head.seq, "h": head.hash},
        )
        db.session.commit()
    page = _lead(make_account, new_browser, log_in).get("/team/access-log").get_data(as_text=True)
    assert "The audit chain is broken" in page


def test_simultaneous_failures_are_all_counted_in_one_row(app, database_url, make_account):
    """Given six failed logins for one account at the same instant (PostgreSQL), the hour's
    row counts six: the first to create it wins, the others add to it."""
    import threading

    import pytest

    from app.audit.services import tally

    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them)")
    account = make_account()
    barrier = threading.Barrier(6)
    errors: list[Exception] = []

    def fail_once() -> None:
        with app.test_request_context():
            try:
                barrier.wait()
                tally("login.failed", account_id=account.id, scope="password")
                db.session.commit()
            except Exception as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=fail_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with app.app_context():
        rows = db.session.scalars(sa.select(SecurityTally)).all()
        assert [(row.account_id, row.count) for row in rows] == [(account.id, 6)]
