"""BLIND_INDEX_KEY can be rotated: `flask keys reindex` recomputes every blind index in
batches while look-ups try the new key and then the old, so the duplicate check of personal
identity numbers and recovery-code logins keep working before, during and after; then the
new key is the one the database knows, and the old one is refused at start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.auth.models import RecoveryCode, Role, User
from app.auth.services import consume_recovery_code, regenerate_recovery_codes
from app.cases import services
from app.cases.models import Case, CaseSource
from app.core.crypto import blind_index, reindex_all
from app.core.db import Base
from app.core.keycheck import (
    BLIND_INDEX_NEXT,
    KeyFingerprint,
    KeyMismatch,
    complete_reindex,
    configured_keys,
    verify_keys,
)
from app.extensions import db
from app.orgs.models import Organisation
from tests.conftest import FIELD_KEY

OLD = "test-blind-index-key"  # the suite's key (tests/conftest.py)
NEW = "a-new-blind-index-key-for-the-rotation"


def personal_number(birth: str, serial: str) -> str:
    """A valid personal identity number (Luhn check digit) for YYYYMMDD and three digits."""
    digits = birth[2:] + serial
    total = 0
    for position, char in enumerate(digits):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value // 10 + value % 10
    return f"{birth}-{serial}{(10 - total % 10) % 10}"


SHARED = personal_number("19811218", "987")
OTHERS = [personal_number("19900101", f"{n:03d}") for n in range(1, 6)]


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


def save_case(app: Flask, owner_id, number: str):
    """A case with `number`; returns its reference and what the duplicate check named."""
    with app.test_request_context():
        owner = db.session.get(User, owner_id)
        org = db.session.get(Organisation, owner.organisation_id)
        case = services.create_case(org.id, CaseSource.POLICE, "Namn Namnsson", owner)
        check = services.update_identity(
            case, services.IdentityChange(None, number, None, None, None, 1, []), owner
        )
        db.session.commit()
        return case.reference, sorted(check.visible)


def stored_indexes(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Case.personal_number_index)))


def recovery_codes(app: Flask, account_id) -> list[str]:
    with app.app_context():
        codes = regenerate_recovery_codes(db.session.get(User, account_id))
        db.session.commit()
        return codes


def use_code(app: Flask, account_id, code: str) -> bool:
    with app.app_context():
        used = consume_recovery_code(db.session.get(User, account_id), code)
        db.session.commit()
        return used


@pytest.fixture
def lead(make_account):
    return make_account(Role.TEAM_LEAD)


def test_lookups_work_before_during_and_after_a_reindex(app, settings, lead):
    """Given cases and recovery codes indexed under the old key, when the instances move to
    a new key and the re-index stops half-way, the duplicate check still finds every case
    with the number and the codes still log in; after it, every index is the new key's."""
    first, _ = save_case(app, lead.id, SHARED)
    for number in OTHERS:
        save_case(app, lead.id, number)
    codes = recovery_codes(app, lead.id)
    rotated = {"blind_index_key": NEW, "blind_index_previous_keys": (OLD,)}

    with instance(settings, **rotated) as moved:
        # Before: nothing recomputed yet, the new instance finds the old key's indexes.
        second, named = save_case(moved, lead.id, SHARED)
        assert named == [first]
        assert use_code(moved, lead.id, codes[0])

        # During: the re-index is interrupted after its first batch of two rows.
        class Interrupted(Exception):
            pass

        def commit_then_stop() -> None:
            db.session.commit()
            raise Interrupted

        with moved.app_context(), pytest.raises(Interrupted):
            reindex_all(db.session, Base, end_batch=commit_then_stop, batch_size=2)
        with moved.app_context():
            under_new = {blind_index(number, "personal-number") for number in [SHARED, *OTHERS]}
        half = stored_indexes(moved)
        assert half & under_new and half - under_new  # really half-done

        third, named = save_case(moved, lead.id, SHARED)
        assert named == sorted([first, second])
        assert use_code(moved, lead.id, codes[1])

        # After: the command finishes the work and names the new key.
        result = moved.test_cli_runner().invoke(args=["keys", "reindex", "--batch-size", "3"])
        assert result.exit_code == 0, result.output
        assert "BLIND_INDEX_KEY is now the key this database knows" in result.output
        assert "recovery_codes.code_hash: 10 values are kept only as their index" in result.output
        assert stored_indexes(moved) == under_new

        _, named = save_case(moved, lead.id, SHARED)
        assert named == sorted([first, second, third])
        # A recovery code is only a keyed hash: it is found under the earlier key while
        # BLIND_INDEX_PREVIOUS_KEYS holds it.
        assert use_code(moved, lead.id, codes[2])

    with instance(settings, blind_index_key=NEW) as finished:
        _, named = save_case(finished, lead.id, SHARED)
        assert len(named) == 4
        # Without the earlier key, codes made under it no longer work; new ones do.
        assert not use_code(finished, lead.id, codes[3])
        fresh = recovery_codes(finished, lead.id)
        assert use_code(finished, lead.id, fresh[0])


def test_a_reindex_run_again_changes_nothing(app, settings, lead):
    save_case(app, lead.id, SHARED)
    with instance(settings, blind_index_key=NEW, blind_index_previous_keys=(OLD,)) as moved:
        runner = moved.test_cli_runner()
        assert "recomputed 1 blind indexes" in runner.invoke(args=["keys", "reindex"]).output
        again = runner.invoke(args=["keys", "reindex"])
        assert again.exit_code == 0
        assert "recomputed 0 blind indexes" in again.output


def test_an_index_whose_value_no_key_opens_is_named_and_the_key_not_switched(app, settings, lead):
    """Given a personal number written with a field key no longer configured, the re-index
    names the row in one line, exits non-zero, and the database keeps the old key."""
    save_case(app, lead.id, SHARED)
    with app.app_context():
        verify_keys(configured_keys((FIELD_KEY,), OLD, "test-audit-key"))
        db.session.commit()
    original_field_keys = settings.field_encryption_keys
    from config import new_fernet_key

    with instance(
        settings,
        field_encryption_keys=(new_fernet_key(),),
        blind_index_key=NEW,
        blind_index_previous_keys=(OLD,),
    ) as moved:
        result = moved.test_cli_runner().invoke(args=["keys", "reindex"])
    assert result.exit_code == 1
    assert "no configured key opens cases.personal_number_index row" in result.output
    assert "1 indexes could not be recomputed" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        verify_keys(configured_keys(original_field_keys, OLD, "test-audit-key"))  # still the old


def test_the_fingerprint_accepts_the_new_key_after_a_reindex_and_refuses_the_old(app):
    def keys(blind: str):
        return configured_keys((FIELD_KEY,), blind, "test-audit-key")

    with app.app_context():
        verify_keys(keys(OLD))
        # A re-index under way: the first instance with the new key records it as the
        # key the re-index moves to; every other instance must have that same key.
        verify_keys(keys(NEW), {"BLIND_INDEX_KEY": [OLD]})
        moving_to = db.session.scalars(
            sa.select(KeyFingerprint.variable).where(KeyFingerprint.variable == BLIND_INDEX_NEXT)
        ).all()
        assert moving_to == [BLIND_INDEX_NEXT]
        verify_keys(keys(NEW), {"BLIND_INDEX_KEY": [OLD]})
        with pytest.raises(KeyMismatch, match="a re-index to another BLIND_INDEX_KEY"):
            verify_keys(keys("yet-another-blind-index-key"), {"BLIND_INDEX_KEY": [OLD]})
        with pytest.raises(KeyMismatch, match="a re-index to another BLIND_INDEX_KEY"):
            verify_keys(keys(OLD))  # an instance left on the old key alone
        with pytest.raises(KeyMismatch, match=r"^BLIND_INDEX_KEY is not the key"):
            verify_keys(keys(NEW))  # the new key without the old, before the re-index

        complete_reindex(NEW)
        verify_keys(keys(NEW))
        verify_keys(keys(NEW), {"BLIND_INDEX_KEY": [OLD]})
        with pytest.raises(KeyMismatch, match=r"^BLIND_INDEX_KEY is not the key"):
            verify_keys(keys(OLD))


def test_recovery_codes_are_counted_not_recomputed(app, settings, lead):
    recovery_codes(app, lead.id)
    rotated = {"blind_index_key": NEW, "blind_index_previous_keys": (OLD,)}
    with instance(settings, **rotated) as moved, moved.app_context():
        before = set(db.session.scalars(sa.select(RecoveryCode.code_hash)))
        result = reindex_all(db.session, Base, end_batch=db.session.commit)
        after = set(db.session.scalars(sa.select(RecoveryCode.code_hash)))
    assert before == after
    assert result.kept == {"recovery_codes.code_hash": 10}
