"""AUDIT_KEY can be rotated: `flask keys rotate-audit` seals the chain with a record signed
with the old key and the new one, later events chain under the new key, and `flask audit
verify` proves the whole history with each epoch's key, catching any tampering before,
at or after the change, and saying in one line which epoch it cannot check without its key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.audit.models import AuditEvent, AuditKeyChange
from app.audit.services import (
    AuditKeyError,
    delete_events_before,
    event_hash,
    record,
    verify_recent,
)
from app.core.clock import utcnow
from app.core.keycheck import KeyMismatch, configured_keys, verify_keys
from app.extensions import db
from tests.conftest import FIELD_KEY

OLD = "test-audit-key"  # the suite's key (tests/conftest.py)
NEW = "the-new-audit-key-after-the-rotation"


@contextmanager
def instance(settings, **keys) -> Iterator[Flask]:
    """Another instance of the portal on the same database, with keys of its own."""
    other = create_app(replace(settings, **keys))
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def seed(app: Flask, count: int) -> None:
    with app.app_context():
        for n in range(count):
            record("test.event", subject_type="thing", subject_id=str(n))
        db.session.commit()


def rotate(app: Flask, new_key: str = NEW):
    return app.test_cli_runner().invoke(args=["keys", "rotate-audit"], input=new_key + "\n")


def verify(app: Flask):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def sql(app: Flask, statement: str) -> None:
    with app.app_context():
        db.session.execute(sa.text(statement))
        db.session.commit()


@pytest.fixture
def rotated(app, settings) -> Iterator[Flask]:
    """Five events under the old key, the change (event 6 records it), and three more
    events under the new key, written by an instance restarted with the new key."""
    seed(app, 5)
    result = rotate(app)
    assert result.exit_code == 0, result.output
    assert "audit trail sealed after event 5" in result.output
    with instance(settings, audit_key=NEW, audit_previous_keys=(OLD,)) as restarted:
        seed(restarted, 3)
        yield restarted


def test_after_a_rotation_verify_proves_the_whole_history(rotated):
    result = verify(rotated)
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output
    with rotated.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        change = db.session.scalars(sa.select(AuditKeyChange)).one()
    assert len(actions) == 9 and actions[5] == "audit.key_changed"
    assert change.seq == 5


def test_an_instance_left_on_the_old_key_refuses_to_write(app, rotated):
    """Given the chain moved to the new key, an instance still running with the old one
    cannot append an event (one would break the chain for good): its request fails."""
    with app.app_context(), pytest.raises(AuditKeyError, match="restart this instance"):
        record("test.event", subject_type="thing", subject_id="late")
    assert verify(rotated).exit_code == 0


def test_the_fingerprint_accepts_the_new_key_and_refuses_the_old(app, settings):
    def keys(audit: str):
        return configured_keys((FIELD_KEY,), "test-blind-index-key", audit)

    with app.app_context():
        verify_keys(keys(OLD))
        db.session.commit()
        # The new key configured before the trail moved to it: refused, saying what to do.
        with pytest.raises(KeyMismatch, match="run `flask keys rotate-audit`"):
            verify_keys(keys(NEW), {"AUDIT_KEY": [OLD]})
    assert rotate(app).exit_code == 0
    with app.app_context():
        verify_keys(keys(NEW), {"AUDIT_KEY": [OLD]})
        verify_keys(keys(NEW))
        with pytest.raises(KeyMismatch, match=r"^AUDIT_KEY is not the key"):
            verify_keys(keys(OLD))


def test_an_event_edited_before_the_change_is_caught(rotated):
    sql(rotated, "UPDATE audit_events SET subject_id = 'x' WHERE seq = 3")
    result = verify(rotated)
    assert result.exit_code != 0
    assert "event 3: content does not match its hash" in result.output


def test_a_leaked_old_key_cannot_rewrite_the_epoch_it_signed(rotated):
    """Given someone who holds the old key rewrites event 3 and re-hashes 3 to 5 under it,
    the change record (signed with the new key too) no longer names the last event, and
    the first event under the new key no longer follows it."""
    with rotated.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.seq.between(3, 5)).order_by(AuditEvent.seq)
        ).all()
        prev_hash = events[0].prev_hash
        for event in events:
            if event.seq == 3:
                event.details = json.dumps({"forged": True})
            event.prev_hash = prev_hash
            event.hash = event_hash(event, OLD)
            prev_hash = event.hash
        db.session.commit()
    result = verify(rotated)
    assert result.exit_code != 0
    assert "event 3: content does not match" not in result.output  # a perfect forgery…
    assert "event 5: is not the event the key change record names" in result.output
    assert "event 6: does not follow the event before it" in result.output


@pytest.mark.parametrize(
    "change",
    [
        "seq = 4",
        "hash = '" + "1" * 64 + "'",
        "old_key = '" + "2" * 64 + "'",
        "new_key = '" + "3" * 64 + "'",
        "changed_at = changed_at - interval '1 day'",
        "old_signature = '" + "4" * 64 + "'",
        "new_signature = '" + "5" * 64 + "'",
    ],
)
def test_an_edited_change_record_is_caught(rotated, change):
    with rotated.app_context():
        if db.engine.dialect.name == "sqlite" and "interval" in change:
            change = "changed_at = '2020-01-01 00:00:00.000000'"
        db.session.execute(sa.text(f"UPDATE audit_key_changes SET {change}"))
        db.session.commit()
    result = verify(rotated)
    assert result.exit_code != 0
    assert "audit chain broken" in result.output


@pytest.mark.parametrize(
    ("statement", "said"),
    [
        ("DELETE FROM audit_events WHERE seq = 5", "event 6: expected event 5 here"),
        ("DELETE FROM audit_events WHERE seq = 6", "event 7: expected event 6 here"),
        ("DELETE FROM audit_events WHERE seq IN (5, 6)", "events are missing"),
        ("DELETE FROM audit_key_changes", "the head names a key no key change record leads"),
    ],
)
def test_deletions_around_the_change_are_caught(rotated, statement, said):
    sql(rotated, statement)
    result = verify(rotated)
    assert result.exit_code != 0
    assert said in result.output


def test_verify_without_the_old_key_names_the_epoch_it_cannot_check(rotated, settings):
    with instance(settings, audit_key=NEW) as forgetful:
        result = verify(forgetful)
    assert result.exit_code != 0
    assert "events 1 to 5 were written under the AUDIT_KEY used until" in result.output
    assert "neither AUDIT_KEY nor in AUDIT_PREVIOUS_KEYS" in result.output
    assert "audit chain not fully checked: 1 key epoch(s) need" in result.output
    assert "Traceback" not in result.output


def test_records_about_the_chain_signed_before_the_change_still_hold(app, settings):
    """A retention checkpoint and a whole-chain check made under the old key are signed
    again with the new key, so the access log and verify still trust them."""
    seed(app, 3)
    with app.app_context():
        assert delete_events_before(utcnow()) == 3
        db.session.commit()
    seed(app, 2)
    assert verify(app).exit_code == 0
    assert rotate(app).exit_code == 0
    with instance(settings, audit_key=NEW, audit_previous_keys=(OLD,)) as restarted:
        seed(restarted, 2)
        with restarted.app_context():
            state = verify_recent()
        assert state.problems == [] and state.complete
        assert verify(restarted).exit_code == 0


def test_an_epoch_that_retention_deleted_needs_no_key(app, settings):
    seed(app, 3)
    assert rotate(app).exit_code == 0
    with instance(settings, audit_key=NEW) as restarted:
        with restarted.app_context():
            delete_events_before(utcnow())
            db.session.commit()
        seed(restarted, 2)
        result = verify(restarted)
    assert result.exit_code == 0, result.output


def test_a_second_rotation_chains_three_epochs(app, settings):
    seed(app, 2)
    assert rotate(app).exit_code == 0
    third = "a-third-audit-key-for-the-second-change"
    with instance(settings, audit_key=NEW, audit_previous_keys=(OLD,)) as second:
        seed(second, 2)
        assert rotate(second, third).exit_code == 0
    with instance(settings, audit_key=third, audit_previous_keys=(NEW, OLD)) as latest:
        seed(latest, 2)
        result = verify(latest)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("", "no new key given"),
        (OLD, "has been an AUDIT_KEY of this audit trail already"),
        ("with,comma-in-the-new-audit-key", "holds a comma"),
    ],
)
def test_a_rotation_refuses_a_bad_new_key_in_one_line(app, given, said):
    seed(app, 1)
    result = rotate(app, given)
    assert result.exit_code == 1
    assert said in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditKeyChange)) == 0


def test_a_rotation_run_with_the_old_key_after_the_change_is_refused(app, rotated):
    result = rotate(app, "yet-another-audit-key-for-a-second-try")
    assert result.exit_code == 1
    assert "AUDIT_KEY is not the key the audit trail is written under now" in result.output


def test_writers_racing_a_rotation_never_chain_under_the_old_key_after_it(app, settings):
    """Given instances on the old key writing while the key changes, every event either
    lands before the change or is refused; none chains under the old key after it, and
    the whole history verifies."""
    seed(app, 2)
    writers, results = 6, []
    barrier = threading.Barrier(writers + 1)

    def write(n: int) -> None:
        barrier.wait(timeout=30)
        with app.app_context():
            try:
                for _ in range(3):
                    record("test.event", subject_type="thing", subject_id=str(n))
                    db.session.commit()
                results.append("written")
            except AuditKeyError:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    def change() -> None:
        barrier.wait(timeout=30)
        results.append("rotated" if rotate(app).exit_code == 0 else "rotation failed")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    threads.append(threading.Thread(target=change))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert "rotated" in results and len(results) == writers + 1
    with instance(settings, audit_key=NEW, audit_previous_keys=(OLD,)) as restarted:
        seed(restarted, 1)
        result = verify(restarted)
        with restarted.app_context():
            sealed = db.session.scalars(sa.select(AuditKeyChange.seq)).one()
            after = db.session.scalars(
                sa.select(AuditEvent.action).where(AuditEvent.seq > sealed)
            ).all()
    assert result.exit_code == 0, result.output
    assert after == ["audit.key_changed", "test.event"]
