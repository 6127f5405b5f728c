"""Reviewing the access log: filters, flags, monthly review records."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from app.audit.models import NO_ACCOUNT, AuditEvent, SecurityTally
from app.audit.services import record, verify_recent
from app.auth.models import User
from app.cases.models import Case, ProtectionLevel
from app.cases.protection import watched_windows
from app.core.clock import as_utc, utcnow
from app.extensions import db
from app.orgs.models import Organisation
from app.oversight.models import AccessReview
from app.rules import LOCAL_TIME, is_working_day
from app.settings import services as site_settings

# Actions a team lead must look at whatever else the filter says.
FLAGGED_ACTIONS = (
    "case.break_glass",
    "case.reveal_identity",
    "placement.conflict_overridden",
    "case.protection_lowered",
    "case.protection_lowering_requested",
    "case.protection_lowering_approved",
    # Someone put a personal identity number on a case that another case of the team
    # holds, and may not see which: the lead decides whether that is a duplicate or a probe.
    "case.duplicate_number_withheld",
)
# Audit actions that read a case's identity; with "case.viewed", when it showed it.
IDENTITY_READS = ("identity.viewed", "case.register_extracted")
# Who was given a role, asked for one, or decided one: reviewed like emergency access.
ROLE_GRANT_ACTIONS = (
    "account.invited",
    "user.created",
    "user.activated",
    "role_grant.approved",
    "role_grant.refused",
    "role_grant.refused_to_decide",
)
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


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    # The sequence number to continue below (the next, older page), if there is more.
    next_before: int | None


PAGE_SIZE = 50
# Flagged-only pages are filled from batches of this many events.
_BATCH = 200


def team_events(
    organisation_id: uuid.UUID, filters: Filters, *, before: int | None = None,
    page_size: int = PAGE_SIZE,
) -> Page:  # fmt: skip
    """A page of the team's audit events, newest first, each with the reasons it is flagged;
    `before` continues from an earlier page's `next_before`."""
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
    flagger = _Flagger(organisation_id)
    rows: list[Row] = []
    cursor = before
    while True:
        batch_query = query if cursor is None else query.where(AuditEvent.seq < cursor)
        size = page_size + 1 if not filters.flagged_only else _BATCH
        events = db.session.scalars(batch_query.order_by(AuditEvent.seq.desc()).limit(size)).all()
        for event in events:
            flags = flagger.flags(event)
            if flags or not filters.flagged_only:
                if len(rows) == page_size:
                    return Page(rows, rows[-1].event.seq)
                rows.append(Row(event, flags))
            cursor = event.seq
        if len(events) < size:
            return Page(rows, None)


class _Flagger:
    """The reasons an event of the team deserves the lead's eye, with what they depend on
    read once per page."""

    def __init__(self, organisation_id: uuid.UUID) -> None:
        self.protected = {
            str(case_id)
            for case_id in db.session.scalars(
                sa.select(Case.id).where(
                    Case.organisation_id == organisation_id,
                    Case.protection_level != ProtectionLevel.NONE,
                )
            )
        }
        self.busy = _busy_days(organisation_id)
        self.watched = watched_windows(organisation_id)
        self.office_hours = site_settings.current().office_hours

    def flags(self, event: AuditEvent) -> tuple[str, ...]:
        flags = []
        if event.action in FLAGGED_ACTIONS:
            flags.append("emergency")
        if event.subject_id in self.watched and _reads_identity(event):
            moment = as_utc(event.occurred_at)
            if any(start <= moment <= end for start, end in self.watched[event.subject_id]):
                flags.append("after_lowering")
        if event.action in ROLE_GRANT_ACTIONS:
            flags.append("role_grant")
        if event.subject_type == "cases" and event.subject_id in self.protected:
            flags.append("protected")
        local = event.occurred_at.astimezone(LOCAL_TIME)
        if event.actor_id and (
            # A public holiday (or midsommarafton, julafton) is out of hours like a Sunday.
            not is_working_day(local.date())
            or not self.office_hours[0] <= local.time() < self.office_hours[1]
        ):
            flags.append("out_of_hours")
        if (event.actor_id, local.date()) in self.busy and event.action == "case.viewed":
            flags.append("volume")
        return tuple(flags)


def actors(rows: list[Row]) -> dict[uuid.UUID, str]:
    """Who did each event: the account's name, and for someone outside the team (an
    agency's representative, a partner) their organisation too."""
    ids = {row.event.actor_id for row in rows if row.event.actor_id}
    if not ids:
        return {}
    found = db.session.execute(
        sa.select(User.id, User.username, User.organisation_id, Organisation.name)
        .join(Organisation, Organisation.id == User.organisation_id, isouter=True)
        .where(User.id.in_(ids))
    ).all()
    team = {row.event.organisation_id for row in rows}
    return {
        user_id: name if org_id in team or not org_name else f"{name} ({org_name})"
        for user_id, name, org_id, org_name in found
    }


def subjects(rows: list[Row]) -> dict[str, str]:
    """Case references for the events about cases (the log names a case as staff do)."""
    ids = {
        row.event.subject_id for row in rows
        if row.event.subject_type == "cases" and row.event.subject_id
    }  # fmt: skip
    if not ids:
        return {}
    found = db.session.execute(
        sa.select(Case.id, Case.reference).where(
            Case.id.in_([uuid.UUID(i) for i in ids if _is_uuid(i)])
        )
    ).all()
    return {str(case_id): reference for case_id, reference in found}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _reads_identity(event: AuditEvent) -> bool:
    if event.subject_type != "cases":
        return False
    if event.action in IDENTITY_READS:
        return True
    return event.action == "case.viewed" and bool(json.loads(event.details).get("identity_shown"))


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


def count_unreviewed(organisation_id: Any, period: Any) -> sa.ScalarSelect[int]:
    """1 while a month's access log (`period`: previous_month()) waits for the team's
    review, else 0."""
    return sa.select(
        sa.case((sa.exists().where(_review_of(organisation_id, period)), 0), else_=1)
    ).scalar_subquery()


def _review_of(organisation_id: Any, period: Any) -> sa.ColumnElement[bool]:
    return sa.and_(AccessReview.organisation_id == organisation_id, AccessReview.period == period)


def unreviewed_previous_month(organisation_id: uuid.UUID) -> str | None:
    period = previous_month()
    done = db.session.scalar(sa.select(AccessReview.id).where(_review_of(organisation_id, period)))
    return None if done else period


def record_review(
    organisation_id: uuid.UUID, reviewer: User, period: str, findings: str
) -> AccessReview:
    # As the page shows it: the last whole-chain check and every event since, checked.
    state = verify_recent()
    intact = state.complete and not state.problems
    review = AccessReview(
        organisation_id=organisation_id,
        period=period,
        reviewer_id=reviewer.id,
        findings=findings,
        chain_intact=intact,
    )
    db.session.add(review)
    db.session.flush()
    record(
        "access_review.recorded",
        subject=review,
        details={"period": period, "chain_intact": intact},
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


# Failed logins and throttling, counted per hour (app/audit/models.SecurityTally) -----------


@dataclass(frozen=True)
class TallyRow:
    kind: str
    account_id: uuid.UUID | None
    scope: str
    day: date
    count: int
    first_at: datetime
    last_at: datetime


def team_tallies(
    organisation_id: uuid.UUID, since: datetime, until: datetime, limit: int = 200
) -> list[TallyRow]:
    """The team's accounts' failed logins and throttling, per account, endpoint and day."""
    rows = db.session.execute(
        sa.select(
            SecurityTally.kind,
            SecurityTally.account_id,
            SecurityTally.scope,
            SecurityTally.window_start,
            SecurityTally.count,
            SecurityTally.first_at,
            SecurityTally.last_at,
        )
        .where(
            SecurityTally.organisation_id == organisation_id,
            SecurityTally.window_start >= since,
            SecurityTally.window_start < until,
        )
        .order_by(SecurityTally.window_start.desc())
    ).all()
    days: dict[tuple[str, uuid.UUID, str, date], TallyRow] = {}
    for kind, account_id, scope, window_start, count, first_at, last_at in rows:
        key = (kind, account_id, scope, as_utc(window_start).astimezone(LOCAL_TIME).date())
        seen = days.get(key)
        days[key] = TallyRow(
            kind,
            None if account_id == NO_ACCOUNT else account_id,
            scope,
            key[3],
            count + (seen.count if seen else 0),
            min(first_at, seen.first_at) if seen else first_at,
            max(last_at, seen.last_at) if seen else last_at,
        )
        if len(days) > limit:
            break
    return sorted(days.values(), key=lambda row: (row.day, row.last_at), reverse=True)[:limit]


def anonymous_totals(since: datetime, until: datetime) -> dict[str, int]:
    """Across the portal, attempts that named no account of any team, by kind."""
    rows = db.session.execute(
        sa.select(SecurityTally.kind, sa.func.sum(SecurityTally.count))
        .where(
            SecurityTally.organisation_id.is_(None),
            SecurityTally.window_start >= since,
            SecurityTally.window_start < until,
        )
        .group_by(SecurityTally.kind)
    ).all()
    return {str(kind): int(total or 0) for kind, total in rows}


# Without a period chosen, the review shows the last month and a day of failed logins.
DEFAULT_TALLY_DAYS = 32


@dataclass(frozen=True)
class SecuritySummary:
    rows: list[TallyRow]  # the team's accounts
    anonymous: dict[str, int]  # attempts that named no account, portal-wide, by kind


def security_summary(
    organisation_id: uuid.UUID, start: date | None, end: date | None
) -> SecuritySummary:
    until = _local_bounds(end, end=True) if end else utcnow() + timedelta(hours=1)
    since = _local_bounds(start, end=False) if start else until - timedelta(days=DEFAULT_TALLY_DAYS)
    return SecuritySummary(
        team_tallies(organisation_id, since, until), anonymous_totals(since, until)
    )
