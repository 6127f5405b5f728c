"""Proof that the configured keys are the ones the data was written with.

A well-formed but wrong key is the worst kind of mistake: with a wrong AUDIT_KEY every
event written breaks the chain for good; with a wrong field key clients' requests are
stored so that nobody can read them. So the first start records a fingerprint of each key
(an HMAC of a fixed label under the key: it reveals nothing of the key), and every later
start, and the health check, compares: an instance whose keys do not match refuses to
start, naming the key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base, insert_unless_present
from app.extensions import db
from config import Settings

logger = logging.getLogger(__name__)

FIELD_KEYS = "FIELD_ENCRYPTION_KEYS"
BLIND_INDEX_KEY = "BLIND_INDEX_KEY"
AUDIT_KEY = "AUDIT_KEY"
# Keys of which the data knows exactly one; field keys may be several (rotation).
SINGLE_KEYS = (BLIND_INDEX_KEY, AUDIT_KEY)
# The blind-index key a re-index moves to, recorded by the first instance that starts
# with it: every instance must then move to that same key, or indexes would be written
# under two new keys and each instance would miss the other's.
BLIND_INDEX_NEXT = "BLIND_INDEX_KEY (re-index)"


class KeyFingerprint(Base):
    """One key the data was written with, known by its fingerprint."""

    __tablename__ = "key_fingerprints"

    variable: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyMismatch(RuntimeError):
    """A configured key is not one the data was written with."""

    def __init__(self, variable: str, reason: str | None = None) -> None:
        super().__init__(
            reason
            or (
                f"{variable} is not the key this database was written with; "
                "start with the key it was written with (see the README on keys)."
            )
        )
        self.variable = variable


def fingerprint(variable: str, key: str) -> str:
    label = f"utvag key fingerprint:{variable}".encode()
    return hmac.new(key.encode(), label, hashlib.sha256).hexdigest()


def verify_keys(
    keys: Mapping[str, Sequence[str]], previous: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Raise KeyMismatch unless every configured key matches what the data knows; record
    the keys of a database that knows none yet, field keys added for a rotation, and the
    new blind-index key of a re-index. `previous` holds the earlier keys configured for a
    rotation (BLIND_INDEX_PREVIOUS_KEYS, AUDIT_PREVIOUS_KEYS)."""
    recorded = _recorded()
    earlier = previous or {}
    new: list[dict[str, str]] = []
    for variable, configured in keys.items():
        prints = {fingerprint(variable, key) for key in configured}
        known_prints = recorded.get(variable)
        earlier_prints = {fingerprint(variable, key) for key in earlier.get(variable, ())}
        if known_prints is None:
            new += [{"variable": variable, "fingerprint": p} for p in prints]
        elif variable == FIELD_KEYS:
            # A rotation puts a new key first and keeps the old ones: at least one key the
            # data was written with must be among them.
            if not prints & known_prints:
                raise KeyMismatch(variable)
            new += [{"variable": variable, "fingerprint": p} for p in prints - known_prints]
        elif variable == BLIND_INDEX_KEY:
            new += _blind_index_key_state(prints, known_prints, earlier_prints, recorded)
        elif not prints <= known_prints:
            if variable == AUDIT_KEY and earlier_prints & known_prints:
                raise KeyMismatch(
                    variable,
                    "AUDIT_KEY is a new key the audit trail has not moved to yet: run"
                    " `flask keys rotate-audit` with the current key first (see the README"
                    " on keys).",
                )
            raise KeyMismatch(variable)
    if new:
        _insert_ignoring_duplicates(new)


def _recorded() -> dict[str, set[str]]:
    recorded: dict[str, set[str]] = {}
    for variable, known in db.session.execute(
        sa.select(KeyFingerprint.variable, KeyFingerprint.fingerprint)
    ):
        recorded.setdefault(variable, set()).add(known)
    return recorded


def _blind_index_key_state(
    prints: set[str], known: set[str], earlier: set[str], recorded: Mapping[str, set[str]]
) -> list[dict[str, str]]:
    """Accept the recorded key, or a new one with the recorded key among the earlier ones
    (a re-index under way); return the new key to record as the one the re-index moves to."""
    moving_to = recorded.get(BLIND_INDEX_NEXT)
    if moving_to and not moving_to & (prints | earlier):
        raise KeyMismatch(
            BLIND_INDEX_KEY,
            "a re-index to another BLIND_INDEX_KEY is under way: configure that key (as"
            " BLIND_INDEX_KEY, or in BLIND_INDEX_PREVIOUS_KEYS) and run `flask keys"
            " reindex` to finish (see the README on keys).",
        )
    if prints <= known:
        return []
    if not earlier & known:
        raise KeyMismatch(BLIND_INDEX_KEY)
    if moving_to is None:
        return [{"variable": BLIND_INDEX_NEXT, "fingerprint": p} for p in prints]
    if not prints <= moving_to:
        raise KeyMismatch(
            BLIND_INDEX_KEY,
            "BLIND_INDEX_KEY is not the key the re-index under way moves to: every"
            " instance must have the same new key (see the README on keys).",
        )
    return []


def complete_reindex(blind_index_key: str) -> None:
    """After every index is under `blind_index_key`: it is the one key the data knows."""
    db.session.execute(
        sa.delete(KeyFingerprint).where(
            KeyFingerprint.variable.in_((BLIND_INDEX_KEY, BLIND_INDEX_NEXT))
        )
    )
    db.session.add(
        KeyFingerprint(
            variable=BLIND_INDEX_KEY, fingerprint=fingerprint(BLIND_INDEX_KEY, blind_index_key)
        )
    )
    db.session.flush()


def replace_audit_key(audit_key: str) -> None:
    """The audit trail has moved to `audit_key` (a sealed key change): only it may start."""
    db.session.execute(sa.delete(KeyFingerprint).where(KeyFingerprint.variable == AUDIT_KEY))
    db.session.add(
        KeyFingerprint(variable=AUDIT_KEY, fingerprint=fingerprint(AUDIT_KEY, audit_key))
    )
    db.session.flush()


def _insert_ignoring_duplicates(rows: list[dict[str, str]]) -> None:
    """Two instances starting together record the same fingerprints once."""
    now = utcnow()
    values = [{**row, "recorded_at": now} for row in rows]
    db.session.execute(insert_unless_present(KeyFingerprint, db.engine.dialect.name, values))


def configured_keys(
    field_keys: Sequence[str], blind_index_key: str, audit_key: str
) -> dict[str, Sequence[str]]:
    return {FIELD_KEYS: field_keys, BLIND_INDEX_KEY: [blind_index_key], AUDIT_KEY: [audit_key]}


def previous_keys(settings: Settings) -> dict[str, Sequence[str]]:
    return {
        BLIND_INDEX_KEY: settings.blind_index_previous_keys,
        AUDIT_KEY: settings.audit_previous_keys,
    }


VERIFIED = "utvag.keys_verified"


def check_at_start(app: Flask, settings: Settings) -> None:
    """Compare the keys with the database's record before serving anything.

    Tests build many applications on one database with keys of their own, so only real
    instances check; an instance whose database is not reachable (or not migrated yet)
    starts, and its health check compares as soon as it can.
    """
    app.extensions[VERIFIED] = settings.mode == "testing"
    if app.extensions[VERIFIED]:
        return
    with app.app_context():
        try:
            app.extensions[VERIFIED] = _verify(settings)
            db.session.commit()  # at start there is no request to commit the first record
            if app.extensions[VERIFIED]:
                logger.info("keys match the database")
        except SQLAlchemyError:
            db.session.rollback()
            logger.warning("keys not compared with the database yet: it does not answer")
        finally:
            db.session.remove()


def keys_verified() -> bool:
    """For the health check: True once the keys are known to match (KeyMismatch if not).
    A first record made here is committed with the request, like any other write."""
    if current_app.extensions.get(VERIFIED):
        return True
    settings: Settings = current_app.extensions["utvag.settings"]
    current_app.extensions[VERIFIED] = _verify(settings)
    return bool(current_app.extensions[VERIFIED])


def _verify(settings: Settings) -> bool:
    if not sa.inspect(db.engine).has_table(KeyFingerprint.__tablename__):
        return False  # before the first `flask db upgrade`
    verify_keys(
        configured_keys(
            settings.field_encryption_keys, settings.blind_index_key, settings.audit_key
        ),
        previous_keys(settings),
    )
    return True
