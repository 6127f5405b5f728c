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

from app.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEvent, AuditHead
from app.core.clock import as_utc, utcnow
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
    moved: sa.CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        sa.update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(seq=AuditHead.seq + 1)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 0:
        db.session.execute(sa.insert(AuditHead).values(id=HEAD_ID, seq=1, hash=GENESIS_HASH))
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


def checkpoint_signature(checkpoint: AuditCheckpoint) -> str:
    payload = json.dumps(
        [
            "checkpoint",
            checkpoint.seq,
            checkpoint.hash,
            checkpoint.deleted,
            as_utc(checkpoint.created_at).isoformat(timespec="microseconds"),
        ],
        separators=(",", ":"),
    ).encode()
    return _mac(payload)


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
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checkpoint = latest_checkpoint()
    if checkpoint is not None:
        if not hmac.compare_digest(checkpoint.signature, checkpoint_signature(checkpoint)):
            problems.append(ChainProblem(checkpoint.seq, "the checkpoint is forged or altered"))
        expected_seq, prev_hash = checkpoint.seq + 1, checkpoint.hash
    for event in _events_in_order(batch_size, after=expected_seq - 1):
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(event.seq, f"expected event {expected_seq} here: events are missing")
            )
        if event.prev_hash != prev_hash:
            problems.append(ChainProblem(event.seq, "does not follow the event before it"))
        if not hmac.compare_digest(event.hash, event_hash(event)):
            problems.append(ChainProblem(event.seq, "content does not match its hash (altered)"))
        expected_seq = event.seq + 1
        prev_hash = event.hash

    head = db.session.get(AuditHead, HEAD_ID)
    last_seq = expected_seq - 1
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        problems.append(
            ChainProblem(head.seq, f"the chain ends at event {last_seq}: later events were deleted")
        )
    if head is None and last_seq > 0:
        problems.append(ChainProblem(last_seq, "the chain head is missing"))
    return problems


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
