"""The audit chain: every login is recorded, and `flask audit verify` catches tampering."""

import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import g

from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead, SecurityTally
from app.audit.services import delete_events_before, record, verify_chain
from app.core.clock import as_utc, utcnow
from app.extensions import db
from app.retention.services import delete, due_for_deletion
from app.rules import rule


def actions(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()


def test_logins_are_audited_and_password_failures_counted(app, browser, make_account, log_in):
    account = make_account()
    browser.post("/login", {"username": account.username, "password": "wrong-one"})
    log_in(browser, account)
    recorded = actions(app)
    # A wrong password is counted, not chained (see SecurityTally): anyone can cause one.
    assert "login.failed" not in recorded
    with app.app_context():
        tally = db.session.scalars(sa.select(SecurityTally)).one()
        assert (tally.kind, tally.account_id, tally.count) == ("login.failed", account.id, 1)
    assert "login.password_accepted" in recorded
    assert "login.succeeded" in recorded


def test_audit_details_never_hold_the_attempted_username_or_password(app, browser):
    browser.post("/login", {"username": "secret-name", "password": "secret-password"})
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT * FROM audit_events")).all()
        rows += db.session.execute(sa.text("SELECT * FROM security_tallies")).all()
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
    with app.app_context(), pytest.raises(ValueError):
        record("test.event", details={"note": "x" * 500})


def _events_at(app, count, action):
    with app.app_context():
        for _ in range(count):
            record(action)
        db.session.commit()


def test_retention_deletes_old_events_and_the_rest_still_verifies(app, clock):
    _events_at(app, 3, "old.event")
    years = rule("audit_events").value
    clock.shift(timedelta(days=round(365.25 * years) - 30))
    _events_at(app, 2, "recent.event")
    clock.shift(timedelta(days=40))
    with app.app_context():
        due = due_for_deletion()
        assert due.audit_events == 3  # the recent ones are not yet old enough
        delete(due)
        db.session.commit()
        assert db.session.scalars(sa.select(AuditEvent.action)).all() == ["recent.event"] * 2
        checkpoint = db.session.scalars(sa.select(AuditCheckpoint)).one()
        assert (checkpoint.seq, checkpoint.deleted) == (3, 3)
        assert verify_chain() == []
    assert _verify(app).exit_code == 0


def test_a_forged_checkpoint_or_a_deletion_past_it_is_caught(app, clock):
    _events_at(app, 3, "old.event")
    clock.shift(timedelta(days=10))
    _events_at(app, 3, "recent.event")
    with app.app_context():
        assert delete_events_before(utcnow() - timedelta(days=5)) == 3
        db.session.commit()
        # Someone hides event 4 by deleting it and moving the checkpoint over it.
        db.session.execute(sa.text("DELETE FROM audit_events WHERE seq = 4"))
        db.session.execute(sa.text("UPDATE audit_checkpoints SET seq = 4"))
        db.session.commit()
        problems = verify_chain()
    assert any("checkpoint" in p.problem for p in problems)
    with app.app_context():
        db.session.execute(sa.text("UPDATE audit_checkpoints SET seq = 3"))
        db.session.commit()
        problems = verify_chain()
    assert [p.seq for p in problems] == [5, 5]  # missing event 4: gap and broken link


def test_events_written_while_the_chain_is_walked_are_not_reported_missing(app, monkeypatch):
    """Given the portal writing while `audit verify` walks, the walk ends where the head was
    when it started: an event appended meanwhile is for the next check, not an alarm."""
    import threading

    from app.audit import services

    with app.app_context():
        for n in range(5):
            record("test.event", details={"n": n})
        db.session.commit()

    walked = services._events_in_order

    def walk_then_someone_writes(*args, **kwargs):
        yield from walked(*args, **kwargs)

        def write() -> None:
            with app.app_context():
                record("test.event", details={"n": "meanwhile"})
                db.session.commit()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join()

    monkeypatch.setattr(services, "_events_in_order", walk_then_someone_writes)
    with app.app_context():
        assert verify_chain() == []
        db.session.rollback()
        monkeypatch.setattr(services, "_events_in_order", walked)
        assert verify_chain() == []  # and the next check walks the event written meanwhile
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 6


def test_two_first_events_at_once_both_join_the_chain(app):
    """Given an empty chain (a new installation), when two requests record their first
    events at the same moment, both are chained, one after the other, and neither fails on
    the head the other created."""
    import threading

    first_written = threading.Event()
    failures: list[BaseException] = []

    def first() -> None:
        with app.app_context():
            record("test.event", details={"n": "first"})
            first_written.set()
            time.sleep(0.5)  # the second writer finds no head, and waits on this one's
            db.session.commit()

    def second() -> None:
        first_written.wait(10)
        with app.app_context():
            try:
                record("test.event", details={"n": "second"})
                db.session.commit()
            except BaseException as error:  # reported in the test's thread
                failures.append(error)

    writers = [threading.Thread(target=first), threading.Thread(target=second)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(30)
    assert failures == []
    with app.app_context():
        assert db.session.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)).all() == [
            1,
            2,
        ]
        assert verify_chain() == []


ACTOR = uuid.UUID("11111111-1111-4111-8111-111111111111")
ORGANISATION = uuid.UUID("22222222-2222-4222-8222-222222222222")
SOMEONE_ELSE = uuid.UUID("33333333-3333-4333-8333-333333333333")


def _seed_full_events(app):
    """Events with every column filled, so each one can be tampered with."""
    with app.app_context():
        for n in range(5):
            record(
                "case.viewed",
                subject_type="cases",
                subject_id=f"case-{n}",
                actor_id=ACTOR,
                organisation_id=ORGANISATION,
                details={"outcome": "granted", "n": n},
            )
        db.session.commit()


# Every column the hash covers, each changed as someone hiding their tracks would change it.
TAMPERING = {
    "seq": 30,
    "occurred_at": "later",
    "actor_id": SOMEONE_ELSE,
    "actor_id to nobody": None,
    "action": "case.listed",
    "subject_type": "users",
    "subject_id": "case-9",
    "organisation_id": SOMEONE_ELSE,
    "organisation_id to none": None,
    "details": '{"n":2,"outcome":"denied"}',
    "prev_hash": "0" * 64,
    "hash": "f" * 64,
}


@pytest.mark.parametrize("change", list(TAMPERING))
def test_verify_detects_any_column_of_an_event_edited_in_the_database(app, change):
    """Given an event whose column (any one the hash covers) is altered with plain SQL,
    when `flask audit verify` runs, it exits non-zero and names the event."""
    _seed_full_events(app)
    column = change.split(" ")[0]
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == 3)).one()
        value = TAMPERING[change]
        if value == "later":
            value = event.occurred_at + timedelta(microseconds=1)
        assert getattr(event, column) != value
        db.session.rollback()
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 3).values({column: value}))
        db.session.commit()
    result = _verify(app)
    assert result.exit_code != 0
    assert "event 3" in result.output or "event 30" in result.output


CHECKPOINT_TAMPERING = {
    "seq": 4,
    "hash": "e" * 64,
    "deleted": 2,
    "created_at": "later",
    "signature": "d" * 64,
}


@pytest.mark.parametrize("column", list(CHECKPOINT_TAMPERING))
def test_verify_detects_any_column_of_a_checkpoint_edited_in_the_database(app, clock, column):
    """Given the checkpoint left by a retention run, when any column of it is altered with
    plain SQL, `flask audit verify` exits non-zero and names the checkpoint as forged."""
    _events_at(app, 3, "old.event")
    clock.shift(timedelta(days=10))
    _events_at(app, 2, "recent.event")
    with app.app_context():
        assert delete_events_before(utcnow() - timedelta(days=5)) == 3
        db.session.commit()
        checkpoint = db.session.scalars(sa.select(AuditCheckpoint)).one()
        value = CHECKPOINT_TAMPERING[column]
        if value == "later":
            value = checkpoint.created_at + timedelta(microseconds=1)
        db.session.rollback()
        db.session.execute(sa.update(AuditCheckpoint).values({column: value}))
        db.session.commit()
    result = _verify(app)
    assert result.exit_code != 0
    assert "checkpoint is forged or altered" in result.output


def _hmac(app, fields):
    """The published form of a chain hash: HMAC-SHA256 under AUDIT_KEY of the JSON list."""
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return hmac.new(app.config["AUDIT_KEY"].encode(), payload, hashlib.sha256).hexdigest()


def test_the_hashes_keep_their_published_form(app, clock):
    """Given an event and a checkpoint, their hashes are exactly the documented HMACs, so a
    chain written by an earlier release still verifies (and every field is in them)."""
    _events_at(app, 2, "old.event")
    clock.shift(timedelta(days=10))
    with app.app_context():
        event = record(
            "case.viewed",
            subject_type="cases",
            subject_id="case-å",
            actor_id=ACTOR,
            organisation_id=ORGANISATION,
            details={"ö": "å", "a": 1},
        )
        db.session.commit()
        assert event.details == '{"a":1,"ö":"å"}'  # sorted keys, not escaped
        assert event.hash == _hmac(
            app,
            [
                event.seq,
                as_utc(event.occurred_at).isoformat(timespec="microseconds"),
                str(ACTOR),
                "case.viewed",
                "cases",
                "case-å",
                str(ORGANISATION),
                '{"a":1,"ö":"å"}',
                event.prev_hash,
            ],
        )
        delete_events_before(utcnow() - timedelta(days=5))
        db.session.commit()
        checkpoint = db.session.scalars(sa.select(AuditCheckpoint)).one()
        assert checkpoint.signature == _hmac(
            app,
            [
                "checkpoint",
                checkpoint.seq,
                checkpoint.hash,
                checkpoint.deleted,
                as_utc(checkpoint.created_at).isoformat(timespec="microseconds"),
            ],
        )


class Thing:
    __tablename__ = "things"

    def __init__(self, id):
        self.id = id


def test_an_event_takes_its_actor_and_subject_from_the_request_unless_given(app):
    with app.test_request_context():
        g.actor_id, g.actor_organisation_id = ACTOR, ORGANISATION
        from_request = record("a.thing")
        given = record("a.thing", actor_id=SOMEONE_ELSE, organisation_id=SOMEONE_ELSE)
        assert (from_request.actor_id, from_request.organisation_id) == (ACTOR, ORGANISATION)
        assert (given.actor_id, given.organisation_id) == (SOMEONE_ELSE, SOMEONE_ELSE)
        db.session.rollback()
    with app.app_context():
        outside = record("a.thing", subject=Thing(ACTOR))
        assert (outside.actor_id, outside.organisation_id) == (None, None)
        assert (outside.subject_type, outside.subject_id) == ("things", str(ACTOR))
        with pytest.raises(TypeError):
            record("a.thing", details={"list": [1, 2]})
        db.session.rollback()


def test_an_empty_trail_verifies_and_a_missing_or_moved_head_does_not(app):
    assert _verify(app).exit_code == 0
    _seed_chain(app)
    with app.app_context():
        db.session.execute(sa.update(AuditHead).values(hash="0" * 64))
        db.session.commit()
    assert _verify(app).exit_code != 0
    with app.app_context():
        db.session.execute(sa.delete(AuditHead))
        db.session.commit()
    result = _verify(app)
    assert result.exit_code != 0
    assert "the chain head is missing" in result.output


# Every field of the signed record of the last whole-chain check, edited as someone hiding
# a later alteration would edit it.
RECORD_TAMPERING = {
    "seq": "UPDATE audit_verifications SET seq = seq - 1",
    "hash": "UPDATE audit_verifications SET hash = :zeros",
    "problems": "UPDATE audit_verifications SET problems = problems + 1",
    "verified_at": "UPDATE audit_verifications SET verified_at = :earlier",
}


@pytest.mark.parametrize("field", list(RECORD_TAMPERING))
def test_an_edited_record_of_the_last_check_is_called_forged(app, field):
    """Given the signed record that the access log continues from, any of its fields edited
    in SQL makes the quick check say the record is forged."""
    from app.audit.services import verify_recent

    _seed_chain(app, 3)
    assert _verify(app).exit_code == 0
    with app.app_context():
        assert verify_recent().problems == []
        earlier = utcnow() - timedelta(days=1)
        db.session.execute(
            sa.text(RECORD_TAMPERING[field]), {"zeros": "0" * 64, "earlier": earlier}
        )
        db.session.commit()
        found = [problem.problem for problem in verify_recent().problems]
    assert "the record of the last check is forged" in found


def test_a_check_that_found_problems_is_not_a_clean_start(app):
    """Given a whole-chain check that found problems, the quick check says so instead of
    continuing from it as if all before it were sound."""
    from app.audit.models import AuditVerification
    from app.audit.services import verification_signature, verify_recent

    _seed_chain(app, 3)
    assert _verify(app).exit_code == 0
    with app.app_context():
        last = db.session.scalars(sa.select(AuditVerification)).one()
        last.problems = 2
        last.signature = verification_signature(last)
        db.session.commit()
        found = [problem.problem for problem in verify_recent().problems]
    assert found == ["the last whole-chain check found problems"]


def test_an_event_written_past_the_head_is_reported_even_with_a_valid_hash(app):
    """Given an event appended behind the chain's back (its hash right, as only someone with
    the key could make it, but the head not moved), verify reports events after the head."""
    from app.audit.services import event_hash

    _seed_chain(app, 3)
    with app.app_context():
        last = db.session.scalars(
            sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)
        ).one()
        forged = AuditEvent(
            seq=last.seq + 1,
            occurred_at=last.occurred_at,
            action="forged",
            details="{}",
            prev_hash=last.hash,
        )
        forged.hash = event_hash(forged)
        db.session.add(forged)
        db.session.commit()
    result = _verify(app)
    assert result.exit_code != 0
    assert "after the head" in result.output


def test_a_quick_check_that_stops_at_its_limit_does_not_claim_the_whole_chain(app):
    """Given more events since the last whole check than the page's limit, the quick check
    says it did not reach the head (the page then asks for the daily check)."""
    from app.audit.services import verify_recent

    _seed_chain(app, 2)
    assert _verify(app).exit_code == 0
    _seed_chain(app, 5)
    with app.app_context():
        partial = verify_recent(limit=3)
        whole = verify_recent()
    assert (partial.checked, partial.complete) == (3, False)
    assert (whole.checked, whole.complete) == (5, True)
