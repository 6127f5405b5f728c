"""Writing and verifying the audit chain.

Each event commits to its predecessor with an HMAC under AUDIT_KEY, a key that lives in
configuration and never in the database: someone who can edit the database can change a
row, but cannot forge the hashes that would hide it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from sqlalchemy.exc import IntegrityError

from app.audit.models import (
    GENESIS_HASH,
    NO_ACCOUNT,
    AuditCheckpoint,
    AuditEvent,
    AuditHead,
    AuditVerification,
    SecurityTally,
)
from app.core.clock import as_utc, utcnow
from app.core.db import insert_unless_present
from app.core.errors import keep_on_refusal
from app.extensions import db

HEAD_ID = 1
MAX_DETAIL_LENGTH = 200

DetailValue = str | int | bool | None


class Identified(Protocol):
    id: uuid.UUID


def record(
    action: str,
    *,
    subject: Identified | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    details: Mapping[str, DetailValue] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    Details are short identifiers and outcomes, never content: values are limited to
    scalars of at most 200 characters so free text cannot slip into the trail.
    """
    if subject is not None:
        subject_type = subject_type or getattr(subject, "__tablename__", type(subject).__name__)
        subject_id = str(subject.id)
    if actor_id is None and has_request_context():
        actor_id = g.get("actor_id")
    if organisation_id is None and has_request_context():
        organisation_id = g.get("actor_organisation_id")
    details_json = _canonical_details(details or {})
    occurred_at = utcnow()
    event = _append(
        action, subject_type, subject_id, actor_id, organisation_id, details_json, occurred_at
    )

    # A refusal rolls the request back and writes its audit events again (at the chain's
    # head as it is then, with the moment they happened).
    def write_again() -> None:
        _append(
            action, subject_type, subject_id, actor_id, organisation_id, details_json, occurred_at
        )

    keep_on_refusal(write_again)
    return event


def _append(
    action: str,
    subject_type: str | None,
    subject_id: str | None,
    actor_id: uuid.UUID | None,
    organisation_id: uuid.UUID | None,
    details_json: str,
    occurred_at: datetime,
) -> AuditEvent:
    # Taking the head first serialises writers (see AuditHead); the row is created lazily
    # the first time so an empty database needs no seeding.
    move = (
        sa.update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(seq=AuditHead.seq + 1)
        .execution_options(synchronize_session=False)
    )
    moved: sa.CursorResult[Any] = db.session.execute(move)  # type: ignore[assignment]
    if moved.rowcount == 0:
        # Two first events at once (a new installation's first logins) both find no head:
        # one creates it, the other waits for that and then moves it like any writer,
        # instead of failing on the duplicate row.
        head = {"id": HEAD_ID, "seq": 1, "hash": GENESIS_HASH}
        created = db.session.scalar(
            insert_unless_present(AuditHead, db.engine.dialect.name, head).returning(AuditHead.id)
        )
        if created is None:
            db.session.execute(move)
    seq, prev_hash = db.session.execute(
        sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).one()

    event = AuditEvent(
        seq=seq,
        occurred_at=occurred_at,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        organisation_id=organisation_id,
        details=details_json,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    db.session.add(event)
    db.session.execute(
        sa.update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(hash=event.hash)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return event


def _canonical_details(details: Mapping[str, DetailValue]) -> str:
    for key, value in details.items():
        if not isinstance(value, str | int | bool | type(None)):
            raise TypeError(f"audit detail {key!r} must be a scalar")
        if isinstance(value, str) and len(value) > MAX_DETAIL_LENGTH:
            raise ValueError(f"audit detail {key!r} is too long to be an identifier")
    return json.dumps(dict(details), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event: AuditEvent) -> str:
    payload = json.dumps(
        [
            event.seq,
            as_utc(event.occurred_at).isoformat(timespec="microseconds"),
            str(event.actor_id) if event.actor_id else None,
            event.action,
            event.subject_type,
            event.subject_id,
            str(event.organisation_id) if event.organisation_id else None,
            event.details,
            event.prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return _mac(payload)


def _mac(payload: bytes) -> str:
    key = current_app.config["AUDIT_KEY"].encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _signed_record(kind: str, seq: int, hash_: str, count: int, moment: datetime) -> str:
    """The signature of a record about the chain (a checkpoint, a whole-chain check).

    The kind leads the signed payload, so a signature of one kind of record can never pass
    for the other's.
    """
    moment_text = as_utc(moment).isoformat(timespec="microseconds")
    payload = json.dumps([kind, seq, hash_, count, moment_text], separators=(",", ":"))
    return _mac(payload.encode())


def checkpoint_signature(checkpoint: AuditCheckpoint) -> str:
    return _signed_record(
        "checkpoint", checkpoint.seq, checkpoint.hash, checkpoint.deleted, checkpoint.created_at
    )


def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalars(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).first()


def _first_kept(cutoff: datetime) -> sa.ColumnElement[bool]:
    """Events before the first one at or after the cutoff: always a prefix of the chain."""
    first_kept = db.session.scalar(
        sa.select(sa.func.min(AuditEvent.seq)).where(AuditEvent.occurred_at >= cutoff)
    )
    return AuditEvent.seq < first_kept if first_kept is not None else sa.true()


def count_events_before(cutoff: datetime) -> int:
    """How many events `delete_events_before(cutoff)` would delete."""
    query = sa.select(sa.func.count(AuditEvent.seq)).where(_first_kept(cutoff))
    return db.session.scalar(query) or 0


def delete_events_before(cutoff: datetime) -> int:
    """Delete the oldest events, up to the first one at or after `cutoff`, and leave a
    signed checkpoint so the rest of the chain still verifies.

    Only a prefix of the chain can go: deleting from the middle would be indistinguishable
    from tampering. Returns how many events were deleted.
    """
    last = db.session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash)
        .where(_first_kept(cutoff))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if last is None:
        return 0
    deleted: sa.CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        sa.delete(AuditEvent).where(AuditEvent.seq <= last.seq)
    )
    checkpoint = AuditCheckpoint(
        seq=last.seq, hash=last.hash, deleted=deleted.rowcount, created_at=utcnow()
    )
    checkpoint.signature = checkpoint_signature(checkpoint)
    db.session.add(checkpoint)
    db.session.flush()
    return deleted.rowcount


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"event {self.seq}: {self.problem}"


def verify_chain(batch_size: int = 5000) -> list[ChainProblem]:
    """Walk the whole chain and report every altered, inserted or deleted event.

    After retention has deleted old events, the walk starts at the newest checkpoint,
    whose signature proves the deletion was the retention rule's and not someone else's.
    """
    return _walk_whole(batch_size).problems


def _walk_whole(batch_size: int) -> Walk:
    problems, seq, prev_hash = _start_of_chain()
    walk = _walk(seq, prev_hash, batch_size, limit=None)
    return Walk(problems + walk.problems, walk.checked, walk.complete, walk.seq, walk.hash)


def _start_of_chain() -> tuple[list[ChainProblem], int, str]:
    """Where a walk of the chain begins: the newest checkpoint, or the genesis."""
    checkpoint = latest_checkpoint()
    if checkpoint is None:
        return [], 0, GENESIS_HASH
    problems = []
    if not hmac.compare_digest(checkpoint.signature, checkpoint_signature(checkpoint)):
        problems.append(ChainProblem(checkpoint.seq, "the checkpoint is forged or altered"))
    return problems, checkpoint.seq, checkpoint.hash


@dataclass(frozen=True)
class Walk:
    problems: list[ChainProblem]
    checked: int  # how many events were checked
    complete: bool  # whether the walk reached the head (it stops after `limit` events)
    seq: int  # the last event checked, and its hash
    hash: str


def _head() -> sa.Row[int, str] | None:
    return db.session.execute(
        sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).first()


def _walk(after_seq: int, prev_hash: str, batch_size: int, limit: int | None) -> Walk:
    """Check the events after `after_seq` (whose hash was `prev_hash`), then the head.

    The portal keeps writing during a walk, so the head is read before it and after it:
    every event the first reading names must be there (else events were deleted), and the
    walk may not end beyond the second (else events were inserted); an event appended after
    the walk's last read is simply left to the next check, not reported as missing.
    """
    head_before = _head()
    problems: list[ChainProblem] = []
    expected_seq = after_seq + 1
    checked = 0
    for event in _events_in_order(batch_size, after=after_seq):
        if limit is not None and checked >= limit:
            return Walk(problems, checked, False, expected_seq - 1, prev_hash)
        checked += 1
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(event.seq, f"expected event {expected_seq} here: events are missing")
            )
        if event.prev_hash != prev_hash:
            problems.append(ChainProblem(event.seq, "does not follow the event before it"))
        if not hmac.compare_digest(event.hash, event_hash(event)):
            problems.append(ChainProblem(event.seq, "content does not match its hash (altered)"))
        if (
            head_before is not None
            and event.seq == head_before.seq
            and event.hash != head_before.hash
        ):
            problems.append(ChainProblem(event.seq, "is not the event the head names"))
        expected_seq = event.seq + 1
        prev_hash = event.hash

    last_seq = expected_seq - 1
    head_after = _head()
    if head_before is not None and last_seq < head_before.seq:
        problems.append(
            ChainProblem(
                head_before.seq, f"the chain ends at event {last_seq}: later events were deleted"
            )
        )
    elif head_after is not None and last_seq > head_after.seq:
        problems.append(
            ChainProblem(last_seq, f"events after the head (event {head_after.seq}) were added")
        )
    if head_after is None and last_seq > 0:
        problems.append(ChainProblem(last_seq, "the chain head is missing"))
    return Walk(problems, checked, True, last_seq, prev_hash)


def verification_signature(verification: AuditVerification) -> str:
    return _signed_record(
        "verification",
        verification.seq,
        verification.hash,
        verification.problems,
        verification.verified_at,
    )


def verify_whole_chain_and_record(batch_size: int = 5000) -> list[ChainProblem]:
    """`flask audit verify`: walk the whole chain and keep, signed, where the walk reached
    and how many problems it found, for the access log to continue from.

    No lock is taken: a walk over millions of events would hold every writer for a
    minute. Events appended during the walk are walked too, or left to the next check.
    """
    walk = _walk_whole(batch_size)
    verification = AuditVerification(
        verified_at=utcnow(), seq=walk.seq, hash=walk.hash, problems=len(walk.problems)
    )
    verification.signature = verification_signature(verification)
    db.session.add(verification)
    db.session.flush()
    return walk.problems


# The access-log page checks at most this many events after the last whole-chain walk; more
# means the scheduled `flask audit verify` has not run for a long time, and the page says so.
RECENT_LIMIT = 20_000


@dataclass(frozen=True)
class ChainState:
    """What the access-log page says about the chain."""

    last_whole: AuditVerification | None  # the newest `flask audit verify`, if any
    problems: list[ChainProblem]  # in the last whole walk's signature or since it
    checked: int  # events checked since the last intact whole walk
    complete: bool  # the check reached the head


def latest_verification() -> AuditVerification | None:
    return db.session.scalars(
        sa.select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)
    ).first()


def verify_recent(limit: int = RECENT_LIMIT, batch_size: int = 5000) -> ChainState:
    """Check only what the last whole-chain walk did not: the events appended since.

    A view of the access log must not cost a walk over millions of events (it did); the
    daily `flask audit verify` walks the whole chain and signs where it reached, and this
    continues from there. Nothing is written: reading a page changes nothing.
    """
    last = latest_verification()
    problems: list[ChainProblem] = []
    start_problems, seq, prev_hash = _start_of_chain()
    problems += start_problems
    if last is not None:
        if not hmac.compare_digest(last.signature, verification_signature(last)):
            problems.append(ChainProblem(last.seq, "the record of the last check is forged"))
        elif last.problems:
            problems.append(ChainProblem(last.seq, "the last whole-chain check found problems"))
        elif last.seq >= seq:
            seq, prev_hash = last.seq, last.hash
    walk = _walk(seq, prev_hash, batch_size, limit=limit)
    return ChainState(last, problems + walk.problems, walk.checked, walk.complete)


def _events_in_order(batch_size: int, after: int) -> Iterator[AuditEvent]:
    while True:
        batch = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.seq > after)
            .order_by(AuditEvent.seq)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].seq
        for event in batch:  # keep memory flat without detaching the caller's objects
            db.session.expunge(event)


# Security tallies (see SecurityTally for why these are not audit events) -------------------


def tally(
    kind: str,
    *,
    account_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    scope: str = "",
) -> None:
    """Count one failed login or throttled request in its hour, for the access review.

    Like an audit event it outlasts the refusal it records; unlike one it adds no row per
    attempt and takes no lock that every other writer needs.
    """
    now = utcnow()
    key = {
        "kind": kind,
        "window_start": now.replace(minute=0, second=0, microsecond=0),
        "account_id": account_id or NO_ACCOUNT,
        "scope": scope[:64],
    }

    def count() -> None:
        _count(key, organisation_id, now)

    count()
    keep_on_refusal(count)


def _count(key: Mapping[str, Any], organisation_id: uuid.UUID | None, now: datetime) -> None:
    match = [getattr(SecurityTally, column) == value for column, value in key.items()]
    bump = (
        sa.update(SecurityTally)
        .where(*match)
        .values(count=SecurityTally.count + 1, last_at=now)
        .execution_options(synchronize_session=False)
    )
    bumped: sa.CursorResult[Any] = db.session.execute(bump)  # type: ignore[assignment]
    if bumped.rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                SecurityTally(
                    **key, organisation_id=organisation_id, count=1, first_at=now, last_at=now
                )
            )
    except IntegrityError:
        db.session.execute(bump)  # another request made the hour's row first


def delete_tallies_before(cutoff: datetime) -> int:
    deleted: sa.CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        sa.delete(SecurityTally).where(SecurityTally.window_start < cutoff)
    )
    return deleted.rowcount


def count_tallies_before(cutoff: datetime) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(SecurityTally.id)).where(SecurityTally.window_start < cutoff)
        )
        or 0
    )
