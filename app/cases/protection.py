"""Changing a case's protected-identity level.

Raising a level protects at once. Lowering one shows the identity to everyone on the case,
so it is the one change that could be used to read a protected identity and hide it again:
it needs a reason (and, in the view, a fresh code), is reviewed by the team lead like an
emergency opening, flags the identity reads that follow, and waits for a second team
member when the level was set by someone else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.audit.services import record
from app.auth.models import User
from app.cases.models import (
    CASE_ID,
    Case,
    ProtectionChange,
    ProtectionChangeStatus,
    ProtectionLevel,
    is_lowering,
)
from app.cases.services import CaseError
from app.core.clock import as_utc, utcnow
from app.core.db import rows_matched
from app.extensions import db

# Identity reads of a case in this period after its level was lowered are flagged for the
# team lead: long enough to cover "lower, read, raise again" done over a few days.
LOWERED_WATCH_PERIOD = timedelta(days=7)


def _audit(action: str, case: Case, **details: str | int | bool | None) -> None:
    record(action, subject=case, organisation_id=case.organisation_id, details=details)


def pending_change(case: Case) -> ProtectionChange | None:
    return db.session.scalar(_PENDING_CHANGE, {"case_id": case.id})


_PENDING_CHANGE = sa.select(ProtectionChange).where(
    ProtectionChange.case_id == CASE_ID,
    ProtectionChange.status == ProtectionChangeStatus.PENDING,
)


def needs_approval(case: Case, by: User, level: ProtectionLevel) -> bool:
    """A lowering waits for a second member unless the one lowering set every level above
    the new one themselves.

    The case's applied changes are read back to the moment it was last at or below the new
    level: a level above it set by anyone else — or a history that does not reach back that
    far — means a second member decides. Raising a level and then lowering it past a level a
    colleague set is therefore no way around the approval.
    """
    if not is_lowering(case.protection_level, level):
        return False
    history = db.session.scalars(
        sa.select(ProtectionChange)
        .where(
            ProtectionChange.case_id == case.id,
            ProtectionChange.status == ProtectionChangeStatus.APPLIED,
        )
        .order_by(ProtectionChange.applied_at.desc())
    )
    for change in history:
        if is_lowering(change.to_level, level) and change.requested_by_id != by.id:
            return True
        if not is_lowering(change.from_level, level):
            return False
    return True


def _apply(change: ProtectionChange, case: Case) -> None:
    now = utcnow()
    case.protection_level = change.to_level
    change.status = ProtectionChangeStatus.APPLIED
    change.applied_at = now
    if change.lowers:
        change.watch_until = now + LOWERED_WATCH_PERIOD
        _audit(
            "case.protection_lowered",
            case,
            change=str(change.id),
            level=change.to_level.value,
            flagged=True,
        )
    _audit("case.protection_changed", case, level=change.to_level.value)


def change_protection(
    case: Case, level: ProtectionLevel, by: User, reason: str | None = None
) -> ProtectionChange | None:
    """Raise at once; lower with a reason, at once or after a second member's approval.

    Returns the recorded change (pending when it waits for approval), None if nothing
    changed.
    """
    if level is case.protection_level:
        return None
    lowering = is_lowering(case.protection_level, level)
    if lowering and not (reason and reason.strip()):
        raise CaseError("reason")
    waiting = pending_change(case)
    if lowering and waiting is not None:
        raise CaseError("pending")
    change = ProtectionChange(
        case_id=case.id,
        from_level=case.protection_level,
        to_level=level,
        status=ProtectionChangeStatus.PENDING,
        requested_by_id=by.id,
        reason=reason.strip() if reason else None,
    )
    db.session.add(change)
    if lowering and needs_approval(case, by, level):
        db.session.flush()
        _audit(
            "case.protection_lowering_requested",
            case,
            change=str(change.id),
            level=level.value,
            flagged=True,
        )
        return change
    if not lowering and waiting is not None:
        # A raise overtakes a lowering that was waiting: it would lower from a level the
        # case no longer has.
        waiting.status = ProtectionChangeStatus.REJECTED
        waiting.decided_by_id = by.id
        waiting.decided_at = utcnow()
    db.session.flush()
    _apply(change, case)
    return change


def approve_change(change: ProtectionChange, case: Case, by: User) -> None:
    """A second team member lets a waiting lowering take effect."""
    _decide(change, case, by, ProtectionChangeStatus.APPLIED)
    _audit("case.protection_lowering_approved", case, change=str(change.id), flagged=True)
    _apply(change, case)


def reject_change(change: ProtectionChange, case: Case, by: User) -> None:
    """A second team member refuses a waiting lowering; the level stays."""
    _decide(change, case, by, ProtectionChangeStatus.REJECTED)
    _audit("case.protection_lowering_rejected", case, change=str(change.id))


def _decide(
    change: ProtectionChange, case: Case, by: User, outcome: ProtectionChangeStatus
) -> None:
    """Take the decision on a waiting lowering in guarded updates whose row counts decide.

    Two members deciding at once (approve and refuse, or both approve), or an approval
    racing a raise, would otherwise both act on what they read: the change is decided only
    while it still waits, and an approval lowers only from the level it was asked from.
    """
    if change.requested_by_id == by.id:
        raise CaseError("own_request")
    decided = db.session.execute(
        sa.update(ProtectionChange)
        .where(
            ProtectionChange.id == change.id,
            ProtectionChange.status == ProtectionChangeStatus.PENDING,
        )
        .values(status=outcome, decided_by_id=by.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rows_matched(decided) != 1:
        raise CaseError("not_pending")
    db.session.expire(change, ["status", "decided_by_id", "decided_at"])
    if outcome is ProtectionChangeStatus.APPLIED:
        still = db.session.execute(
            sa.update(Case)
            .where(Case.id == case.id, Case.protection_level == change.from_level)
            .values(protection_level=change.to_level)
            .execution_options(synchronize_session=False)
        )
        if rows_matched(still) != 1:
            raise CaseError("stale")


def lowerings_to_review(organisation_id: object) -> list[ProtectionChange]:
    """Lowered levels the team lead has not reviewed yet, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ProtectionChange)
            .join(Case, Case.id == ProtectionChange.case_id)
            .where(
                Case.organisation_id == organisation_id,
                ProtectionChange.status == ProtectionChangeStatus.APPLIED,
                ProtectionChange.watch_until.is_not(None),
                ProtectionChange.reviewed_at.is_(None),
            )
            .order_by(ProtectionChange.applied_at)
        )
    )


def waiting_lowerings(organisation_id: object) -> list[ProtectionChange]:
    return list(
        db.session.scalars(
            sa.select(ProtectionChange)
            .join(Case, Case.id == ProtectionChange.case_id)
            .where(
                Case.organisation_id == organisation_id,
                ProtectionChange.status == ProtectionChangeStatus.PENDING,
            )
            .order_by(ProtectionChange.created_at)
        )
    )


def review_lowering(change: ProtectionChange, reviewer: User) -> None:
    change.reviewed_at = utcnow()
    change.reviewed_by_id = reviewer.id
    record(
        "protection_change.reviewed",
        subject=change,
        organisation_id=reviewer.organisation_id,
        details={"case": str(change.case_id)},
    )


def watched_windows(organisation_id: object) -> dict[str, list[tuple[datetime, datetime]]]:
    """Per case id (as the audit log writes it), the periods after a lowering."""
    rows = db.session.execute(
        sa.select(
            ProtectionChange.case_id, ProtectionChange.applied_at, ProtectionChange.watch_until
        )
        .join(Case, Case.id == ProtectionChange.case_id)
        .where(
            Case.organisation_id == organisation_id,
            ProtectionChange.watch_until.is_not(None),
        )
    ).all()
    windows: dict[str, list[tuple[datetime, datetime]]] = {}
    for case_id, start, end in rows:
        if start is not None and end is not None:
            windows.setdefault(str(case_id), []).append((as_utc(start), as_utc(end)))
    return windows
