"""Writing and verifying the audit chain.

Each event commits to its predecessor with an HMAC under AUDIT_KEY, a key that lives in
configuration and never in the database: someone who can edit the database can change a
row, but cannot forge the hashes that would hide it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from sqlalchemy.exc import IntegrityError

from app.audit.models import (
    GENESIS_HASH,
    HEAD_ID,
    KEY_ROW_ID,
    NO_ACCOUNT,
    AuditCheckpoint,
    AuditEvent,
    AuditHead,
    AuditKeyChange,
    AuditVerification,
    SecurityTally,
)
from app.core.clock import as_utc, utcnow
from app.core.db import insert_unless_present
from app.core.errors import before_commit, keep_on_refusal
from app.core.keycheck import AUDIT_KEY, fingerprint, replace_audit_key
from app.extensions import db

MAX_DETAIL_LENGTH = 200

DetailValue = str | int | bool | None


class Identified(Protocol):
    id: uuid.UUID


# Events recorded inside appended_at_the_end(), waiting for its end (see there).
PENDING = "audit_pending"


def record(
    action: str,
    *,
    subject: Identified | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    details: Mapping[str, DetailValue] | None = None,
) -> AuditEvent | None:
    """Append one event to the chain inside the caller's transaction (inside
    appended_at_the_end(): when that ends, and None is returned).

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
    entry = Entry(
        action,
        subject_type,
        subject_id,
        actor_id,
        organisation_id,
        _canonical_details(details or {}),
        utcnow(),
    )

    def write() -> AuditEvent:
        return _append([entry])[0]

    # A refusal rolls the request back and writes its audit events again (at the chain's
    # head as it is then, with the moment they happened).
    keep_on_refusal(write)
    pending: list[Entry] | None = g.get(PENDING) if has_request_context() else None
    if pending is not None:
        pending.append(entry)
        return None
    return write()


@contextmanager
def appended_at_the_end() -> Iterator[None]:
    """Events recorded inside are appended to the chain when the block ends, in order and
    in one step (the head is moved once for all of them).

    Appending takes the chain's head until the transaction ends (that is what keeps the
    chain a chain when requests write at once). A page that records its reads and then
    draws itself held the head, and so every other audited request of the installation,
    while it drew: case files were served one at a time. Recorded at the end, the head is
    held for the commit only. An error inside appends nothing: its request is rolled back
    and refused anyway (a refusal's events are written again, as always).
    """
    if g.get(PENDING) is not None:  # inside another such block: that one appends
        yield
        return
    pending: list[Entry] = []
    g.setdefault(PENDING, pending)
    try:
        yield
    finally:
        g.pop(PENDING, None)
    if pending:
        _append(pending)


def reads_appended_at_the_end() -> None:
    """Before each request that only reads (GET, HEAD): its audit events (who read which
    case, request, meeting or log) are appended when the view has succeeded, just before
    the commit, so no page holds the chain's head while it is drawn (appended_at_the_end).
    A refused read rolls back and writes its events again, as every refusal does."""
    if request.method not in ("GET", "HEAD") or g.get(PENDING) is not None:
        return
    pending: list[Entry] = []
    g.setdefault(PENDING, pending)
    before_commit(lambda: _append(pending) if pending else None)


def forget_reads(_error: BaseException | None = None) -> None:
    """After each request: its waiting events were appended or are void with it (a request
    inside a test's application context shares `g` with the next one)."""
    g.pop(PENDING, None)


class AuditKeyError(RuntimeError):
    """The configured AUDIT_KEY cannot write to the chain, or move it to another key."""


@dataclass(frozen=True)
class Entry:
    """An event as recorded, before the chain gives it its place and hash."""

    action: str
    subject_type: str | None
    subject_id: str | None
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    details: str
    occurred_at: datetime


def _append(entries: Sequence[Entry], key: str | None = None) -> list[AuditEvent]:
    """Give the entries the next places in the chain, in order, moving the head once.

    Three statements, whatever the number of entries: take the head and learn where the
    chain ends; insert the events; leave their last hash on the head, under the key the
    chain is written with (checked there, see below)."""
    key = key or current_app.config["AUDIT_KEY"]
    count = {"count": len(entries)}
    head = db.session.execute(_TAKE_HEAD, count).one_or_none()
    if head is not None:
        last_seq, prev_hash = head
    else:
        # The row is created lazily the first time, so an empty database needs no seeding.
        # Two first events at once (a new installation's first logins) both find no head:
        # one creates it, the other waits for that and then moves it like any writer,
        # instead of failing on the duplicate row.
        first = {"id": HEAD_ID, "seq": len(entries), "hash": GENESIS_HASH}
        created = db.session.scalar(
            insert_unless_present(AuditHead, db.engine.dialect.name, first).returning(AuditHead.id)
        )
        last_seq, prev_hash = (
            (len(entries), GENESIS_HASH)
            if created is not None
            else db.session.execute(_TAKE_HEAD, count).one()
        )
    events: list[AuditEvent] = []
    rows: list[dict[str, Any]] = []
    for seq, entry in enumerate(entries, start=last_seq - len(entries) + 1):
        event = AuditEvent(
            seq=seq,
            occurred_at=entry.occurred_at,
            actor_id=entry.actor_id,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            organisation_id=entry.organisation_id,
            details=entry.details,
            prev_hash=prev_hash,
        )
        event.hash = prev_hash = event_hash(event, key)
        events.append(event)
        rows.append({column: getattr(event, column) for column in _EVENT_COLUMNS})
    # Plain rows, not the session's unit of work: every audited request writes here, and
    # nothing reads these objects back in it.
    db.session.execute(_INSERT_EVENTS, rows)
    left: sa.CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        _LEAVE_HASH, {"last_hash": prev_hash, "fingerprint": key_fingerprint(key)}
    )
    if left.rowcount == 0:
        # An instance left running with the key the chain has moved away from: one event
        # under it would break the chain for good, a refused request breaks nothing (its
        # transaction, with the events above, is rolled back).
        raise AuditKeyError(
            "AUDIT_KEY is not the key the audit trail has moved to: restart this instance"
            " with the new AUDIT_KEY (see the README on keys)"
        )
    return events


# The chain's three statements, built once: every audited request runs them.
_HEAD = cast(sa.Table, AuditHead.__table__)
_KEY_ROW = _HEAD.alias("key_row")
# Taking the head first serialises writers (see AuditHead), and tells where the chain ends.
_TAKE_HEAD = (
    sa.update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(seq=_HEAD.c.seq + sa.bindparam("count", type_=sa.Integer))
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_INSERT_EVENTS = sa.insert(cast(sa.Table, AuditEvent.__table__))
# The key row is read by the statement that leaves the hash, which begins after the head
# was taken: a key changed while this writer waited for the head is seen (a condition in
# the first statement would read the database as it was when that one began).
_LEAVE_HASH = (
    sa.update(_HEAD)
    .where(
        _HEAD.c.id == HEAD_ID,
        ~sa.exists().where(
            _KEY_ROW.c.id == KEY_ROW_ID,
            _KEY_ROW.c.hash != sa.bindparam("fingerprint", type_=sa.String),
        ),
    )
    .values(hash=sa.bindparam("last_hash", type_=sa.String))
)
_EVENT_COLUMNS = tuple(column.key for column in AuditEvent.__table__.columns)


def _canonical_details(details: Mapping[str, DetailValue]) -> str:
    for key, value in details.items():
        if not isinstance(value, str | int | bool | type(None)):
            raise TypeError(f"audit detail {key!r} must be a scalar")
        if isinstance(value, str) and len(value) > MAX_DETAIL_LENGTH:
            raise ValueError(f"audit detail {key!r} is too long to be an identifier")
    return json.dumps(dict(details), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event: AuditEvent, key: str | None = None) -> str:
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
    return _mac(payload, key)


def _mac(payload: bytes, key: str | None = None) -> str:
    """The HMAC under `key`, by default the configured AUDIT_KEY."""
    secret = (key or current_app.config["AUDIT_KEY"]).encode()
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=16)
def key_fingerprint(key: str) -> str:
    """How the chain names an AUDIT_KEY (the fingerprint the start-up check records)."""
    return fingerprint(AUDIT_KEY, key)


def _configured_keys() -> dict[str, str]:
    """AUDIT_KEY and the earlier keys in AUDIT_PREVIOUS_KEYS, by fingerprint."""
    keys = [current_app.config["AUDIT_KEY"], *current_app.config.get("AUDIT_PREVIOUS_KEYS", ())]
    return {key_fingerprint(key): key for key in keys}


def _signed_record(
    kind: str, seq: int, hash_: str, count: int, moment: datetime, key: str | None = None
) -> str:
    """The signature of a record about the chain (a checkpoint, a whole-chain check).

    The kind leads the signed payload, so a signature of one kind of record can never pass
    for the other's.
    """
    moment_text = as_utc(moment).isoformat(timespec="microseconds")
    payload = json.dumps([kind, seq, hash_, count, moment_text], separators=(",", ":"))
    return _mac(payload.encode(), key)


def checkpoint_signature(checkpoint: AuditCheckpoint, key: str | None = None) -> str:
    return _signed_record(
        "checkpoint",
        checkpoint.seq,
        checkpoint.hash,
        checkpoint.deleted,
        checkpoint.created_at,
        key,
    )


def key_change_signature(change: AuditKeyChange, key: str) -> str:
    """A key change's signature under `key` (the old one, then the new one)."""
    moment_text = as_utc(change.changed_at).isoformat(timespec="microseconds")
    payload = json.dumps(
        ["key-change", change.seq, change.hash, change.old_key, change.new_key, moment_text],
        separators=(",", ":"),
    )
    return _mac(payload.encode(), key)


def rotate_audit_key(new_key: str) -> AuditKeyChange:
    """Seal the chain under the current AUDIT_KEY and move it to `new_key`.

    The head is taken first, as by every writer, so the change lands between two events
    and no event can chain onto the old key after it. The change is signed with both
    keys; the checkpoints and whole-chain checks signed with the old key are signed again
    with the new one (only those whose old signature holds: a forged one stays forged);
    the first event of the new epoch records the change; and the database then knows
    only the new key, so an instance started with the old one refuses to start. The
    caller commits.
    """
    old_key = current_app.config["AUDIT_KEY"]
    old_print, new_print = key_fingerprint(old_key), key_fingerprint(new_key)
    used = set(_configured_keys())
    for change in db.session.scalars(sa.select(AuditKeyChange)):
        used |= {change.old_key, change.new_key}
    if new_print in used:
        raise AuditKeyError(
            "the new key has been an AUDIT_KEY of this audit trail already: generate a new one"
        )
    # Writing the head row takes its lock (as every writer does) before anything is read.
    taken: sa.CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        sa.update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(seq=AuditHead.seq)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 0:
        db.session.execute(sa.insert(AuditHead).values(id=HEAD_ID, seq=0, hash=GENESIS_HASH))
    if _key_row_print() not in (None, old_print):
        raise AuditKeyError(
            "AUDIT_KEY is not the key the audit trail is written under now: run this with"
            " the key it was last moved to"
        )
    seq, hash_ = db.session.execute(
        sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).one()
    db.session.execute(sa.delete(AuditHead).where(AuditHead.id == KEY_ROW_ID))
    db.session.execute(sa.insert(AuditHead).values(id=KEY_ROW_ID, seq=seq, hash=new_print))
    change = AuditKeyChange(
        seq=seq, hash=hash_, old_key=old_print, new_key=new_print, changed_at=utcnow()
    )
    change.old_signature = key_change_signature(change, old_key)
    change.new_signature = key_change_signature(change, new_key)
    db.session.add(change)
    _sign_again(old_key, new_key)
    replace_audit_key(new_key)
    details = _canonical_details({"after_event": seq, "key": new_print[:12]})
    _append([Entry("audit.key_changed", None, None, None, None, details, utcnow())], key=new_key)
    return change


def _sign_again(old_key: str, new_key: str) -> None:
    """Records about the chain are checked with the current key: move those that hold."""
    for checkpoint in db.session.scalars(sa.select(AuditCheckpoint)):
        if hmac.compare_digest(checkpoint.signature, checkpoint_signature(checkpoint, old_key)):
            checkpoint.signature = checkpoint_signature(checkpoint, new_key)
    for verification in db.session.scalars(sa.select(AuditVerification)):
        if hmac.compare_digest(
            verification.signature, verification_signature(verification, old_key)
        ):
            verification.signature = verification_signature(verification, new_key)
    db.session.flush()


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
    # Not a sign of tampering: events that could not be checked (their key is not given).
    unchecked: bool = False

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


def _key_row_print() -> str | None:
    """The fingerprint of the key new events chain under (None: never changed)."""
    return db.session.scalar(sa.select(AuditHead.hash).where(AuditHead.id == KEY_ROW_ID))


@dataclass(frozen=True)
class _Epochs:
    """Which AUDIT_KEY checks which event: the chain's key changes, and the keys given."""

    changes: list[AuditKeyChange]  # in the order of the chain
    keys: dict[str, str]  # every configured key, by fingerprint
    current: str  # the fingerprint of AUDIT_KEY

    @classmethod
    def load(cls) -> _Epochs:
        changes = list(db.session.scalars(sa.select(AuditKeyChange).order_by(AuditKeyChange.seq)))
        for change in changes:
            db.session.expunge(change)
        return cls(changes, _configured_keys(), key_fingerprint(current_app.config["AUDIT_KEY"]))

    def of(self, seq: int) -> tuple[str, AuditKeyChange | None]:
        """The fingerprint of the key event `seq` was written under, and the change that
        ends its epoch (None for the newest epoch)."""
        for change in self.changes:
            if seq <= change.seq:
                return change.old_key, change
        return (self.changes[-1].new_key if self.changes else self.current), None

    def sealing(self, seq: int) -> AuditKeyChange | None:
        """The change that names event `seq` as the last under its old key."""
        return next((change for change in self.changes if change.seq == seq), None)

    def problems(self) -> list[ChainProblem]:
        """Forged, altered or missing change records (each signature whose key is given)."""
        problems = []
        for before, after in zip(self.changes, self.changes[1:], strict=False):
            if before.new_key != after.old_key:
                problems.append(
                    ChainProblem(after.seq, "a key change record before this event is missing")
                )
        for change in self.changes:
            for print_, signature in (
                (change.old_key, change.old_signature),
                (change.new_key, change.new_signature),
            ):
                key = self.keys.get(print_)
                if key and not hmac.compare_digest(signature, key_change_signature(change, key)):
                    problems.append(
                        ChainProblem(
                            change.seq, "the key change record after it is forged or altered"
                        )
                    )
                    break
        return problems


def _walk(after_seq: int, prev_hash: str, batch_size: int, limit: int | None) -> Walk:
    """Check the events after `after_seq` (whose hash was `prev_hash`), then the head.

    The portal keeps writing during a walk, so the head is read before it and after it:
    every event the first reading names must be there (else events were deleted), and the
    walk may not end beyond the second (else events were inserted); an event appended after
    the walk's last read is simply left to the next check, not reported as missing.

    Each event is checked with the key of its epoch (see AuditKeyChange); an epoch whose
    key is not configured is named once, as not checked, and its events are still checked
    for order and linkage.
    """
    head_before = _head()
    epochs = _Epochs.load()
    problems = epochs.problems()
    sealed = epochs.sealing(after_seq)
    if sealed is not None and sealed.hash != prev_hash:
        problems.append(ChainProblem(after_seq, "is not the event the key change record names"))
    unchecked: set[str] = set()
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
        print_, ends = epochs.of(event.seq)
        key = epochs.keys.get(print_)
        if key is None:
            if print_ not in unchecked:
                unchecked.add(print_)
                problems.append(_unchecked_epoch(event.seq, print_, ends))
        elif not hmac.compare_digest(event.hash, event_hash(event, key)):
            if head_before is None or event.seq > head_before.seq:
                # Written during the walk: the key may have changed since it began.
                epochs = _Epochs.load()
                key = epochs.keys.get(epochs.of(event.seq)[0])
            if key is None or not hmac.compare_digest(event.hash, event_hash(event, key)):
                problems.append(
                    ChainProblem(event.seq, "content does not match its hash (altered)")
                )
        sealed = epochs.sealing(event.seq)
        if sealed is not None and event.hash != sealed.hash:
            problems.append(ChainProblem(event.seq, "is not the event the key change record names"))
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
    changes = _Epochs.load().changes
    if _key_row_print() != (changes[-1].new_key if changes else None):
        problems.append(
            ChainProblem(
                head_after.seq if head_after is not None else last_seq,
                "the head names a key no key change record leads to: a record is missing",
            )
        )
    return Walk(problems, checked, True, last_seq, prev_hash)


def _unchecked_epoch(seq: int, print_: str, ends: AuditKeyChange | None) -> ChainProblem:
    if ends is None:
        which, key = f"events from {seq} on were", "a key"
    else:
        which = f"event {seq} was" if ends.seq == seq else f"events {seq} to {ends.seq} were"
        key = f"the AUDIT_KEY used until {as_utc(ends.changed_at).date().isoformat()}"
    return ChainProblem(
        seq,
        f"{which} written under {key} (fingerprint {print_[:12]}), which is neither"
        " AUDIT_KEY nor in AUDIT_PREVIOUS_KEYS: not checked without it",
        unchecked=True,
    )


def verification_signature(verification: AuditVerification, key: str | None = None) -> str:
    return _signed_record(
        "verification",
        verification.seq,
        verification.hash,
        verification.problems,
        verification.verified_at,
        key,
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
