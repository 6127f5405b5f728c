"""Reviewing the access log: filters, flags, monthly review records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.audit.services import record, verify_chain
from app.auth.models import User
from app.cases.models import Case, ProtectionLevel
from app.core.clock import utcnow
from app.extensions import db
from app.oversight.models import AccessReview
from app.rules import LOCAL_TIME

# Actions a team lead must look at whatever else the filter says.
FLAGGED_ACTIONS = ("case.break_glass", "case.reveal_identity", "placement.conflict_overridden")
# Who was given a role, asked for one, or decided one: reviewed like emergency access.
ROLE_GRANT_ACTIONS = (
    "account.invited",
    "user.created",
    "user.activated",
    "role_grant.approved",
    "role_grant.refused",
    "role_grant.refused_to_decide",
)
OFFICE_HOURS = (time(7, 0), time(18, 0))
# More case views than this by one person in one day is unusual for this work.
UNUSUAL_DAILY_VIEWS = 60


@dataclass(frozen=True)
class Filters:
    user_id: uuid.UUID | None = None
    case_id: str | None = None
    action: str | None = None
    start: date | None = None
    end: date | None = None
    flagged_only: bool = False


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    flags: tuple[str, ...]


def _local_bounds(day: date, *, end: bool) -> datetime:
    moment = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=LOCAL_TIME)
    return moment


def team_events(organisation_id: uuid.UUID, filters: Filters, limit: int = 500) -> list[Row]:
    """The team's audit events, newest first, each with the reasons it is flagged."""
    query = sa.select(AuditEvent).where(AuditEvent.organisation_id == organisation_id)
    if filters.user_id:
        query = query.where(AuditEvent.actor_id == filters.user_id)
    if filters.case_id:
        query = query.where(AuditEvent.subject_id == filters.case_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.start:
        query = query.where(AuditEvent.occurred_at >= _local_bounds(filters.start, end=False))
    if filters.end:
        query = query.where(AuditEvent.occurred_at < _local_bounds(filters.end, end=True))
    events = db.session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit)).all()
    protected = {
        str(case_id)
        for case_id in db.session.scalars(
            sa.select(Case.id).where(
                Case.organisation_id == organisation_id,
                Case.protection_level != ProtectionLevel.NONE,
            )
        )
    }
    busy = _busy_days(organisation_id)
    rows = []
    for event in events:
        flags = []
        if event.action in FLAGGED_ACTIONS:
            flags.append("emergency")
        if event.action in ROLE_GRANT_ACTIONS:
            flags.append("role_grant")
        if event.subject_type == "cases" and event.subject_id in protected:
            flags.append("protected")
        local = event.occurred_at.astimezone(LOCAL_TIME)
        if event.actor_id and (
            local.weekday() >= 5 or not OFFICE_HOURS[0] <= local.time() < OFFICE_HOURS[1]
        ):
            flags.append("out_of_hours")
        if (event.actor_id, local.date()) in busy and event.action == "case.viewed":
            flags.append("volume")
        if flags or not filters.flagged_only:
            rows.append(Row(event, tuple(flags)))
    return rows


def _busy_days(organisation_id: uuid.UUID) -> set[tuple[uuid.UUID, date]]:
    """(person, day) pairs with an unusual number of case views in the last 90 days."""
    since = utcnow() - timedelta(days=90)
    views = db.session.execute(
        sa.select(AuditEvent.actor_id, AuditEvent.occurred_at).where(
            AuditEvent.organisation_id == organisation_id,
            AuditEvent.action == "case.viewed",
            AuditEvent.occurred_at >= since,
        )
    ).all()
    counts: dict[tuple[uuid.UUID, date], int] = {}
    for actor_id, occurred_at in views:
        if actor_id is None:
            continue
        key = (actor_id, occurred_at.astimezone(LOCAL_TIME).date())
        counts[key] = counts.get(key, 0) + 1
    return {key for key, count in counts.items() if count > UNUSUAL_DAILY_VIEWS}


def previous_month(today: date | None = None) -> str:
    today = today or utcnow().astimezone(LOCAL_TIME).date()
    first = today.replace(day=1)
    last_month = first - timedelta(days=1)
    return f"{last_month.year:04d}-{last_month.month:02d}"


def unreviewed_previous_month(organisation_id: uuid.UUID) -> str | None:
    period = previous_month()
    done = db.session.scalar(
        sa.select(AccessReview.id).where(
            AccessReview.organisation_id == organisation_id, AccessReview.period == period
        )
    )
    return None if done else period


def record_review(
    organisation_id: uuid.UUID, reviewer: User, period: str, findings: str
) -> AccessReview:
    problems = verify_chain()
    review = AccessReview(
        organisation_id=organisation_id,
        period=period,
        reviewer_id=reviewer.id,
        findings=findings,
        chain_intact=not problems,
    )
    db.session.add(review)
    db.session.flush()
    record(
        "access_review.recorded",
        subject=review,
        details={"period": period, "chain_intact": not problems},
    )
    return review


def reviews(organisation_id: uuid.UUID) -> list[AccessReview]:
    return list(
        db.session.scalars(
            sa.select(AccessReview)
            .where(AccessReview.organisation_id == organisation_id)
            .order_by(AccessReview.period.desc())
        )
    )


def view_access_log() -> None:
    """Reading the log is itself logged: who watches the watchers."""
    record("access_log.viewed")
