"""The audit chain: every login is recorded, and `flask audit verify` catches tampering."""

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.audit.services import record, verify_chain
from app.extensions import db


def actions(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()


def test_logins_failures_and_enrolment_are_audited(app, browser, make_account, log_in):
    account = make_account()
    browser.post("/login", {"username": account.username, "password": "wrong-one"})
    log_in(browser, account)
    recorded = actions(app)
    assert "login.failed" in recorded
    assert "login.password_accepted" in recorded
    assert "login.succeeded" in recorded


def test_audit_details_never_hold_the_attempted_username_or_password(app, browser):
    browser.post("/login", {"username": "secret-name", "password": "secret-password"})
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT * FROM audit_events")).all()
    dump = repr(rows)
    assert "secret-name" not in dump
    assert "secret-password" not in dump


def _seed_chain(app, count=5):
    with app.app_context():
        for n in range(count):
            record("test.event", subject_type="thing", subject_id=str(n))
        db.session.commit()


def _verify(app):
    runner = app.test_cli_runner()
    return runner.invoke(args=["audit", "verify"])


def test_an_intact_chain_verifies(app):
    _seed_chain(app)
    result = _verify(app)
    assert result.exit_code == 0
    assert "audit chain intact" in result.output


def test_verify_detects_a_row_edited_in_the_database(app):
    """Given an event altered with plain SQL, verify names it and exits non-zero."""
    _seed_chain(app)
    with app.app_context():
        db.session.execute(sa.text("UPDATE audit_events SET subject_id = 'x' WHERE seq = 3"))
        db.session.commit()
    result = _verify(app)
    assert result.exit_code != 0
    assert "event 3" in result.output


def test_verify_detects_a_deleted_row(app):
    _seed_chain(app)
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM audit_events WHERE seq = 2"))
        db.session.commit()
        problems = verify_chain()
    assert any(p.seq == 3 for p in problems)
    assert _verify(app).exit_code != 0


def test_verify_detects_the_last_rows_deleted(app):
    _seed_chain(app)
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM audit_events WHERE seq >= 4"))
        db.session.commit()
    assert _verify(app).exit_code != 0


def test_verify_detects_an_inserted_row(app):
    _seed_chain(app, 3)
    with app.app_context():
        last = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        db.session.execute(
            sa.insert(AuditEvent).values(
                seq=4,
                occurred_at=last.occurred_at,
                action="forged",
                details="{}",
                prev_hash=last.hash,
                hash="0" * 64,
            )
        )
        db.session.commit()
    result = _verify(app)
    assert result.exit_code != 0
    assert "event 4" in result.output


def test_audit_details_refuse_free_text(app):
    import pytest

    with app.app_context(), pytest.raises(ValueError):
        record("test.event", details={"note": "x" * 500})
