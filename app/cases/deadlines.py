"""Deadlines that run on the team's work: legal ones from the rules data, threat reviews,
and first-contact targets. One list feeds "my deadlines", the team overview, the case page
and reminders; `clocks_of` is the one question other pages ask (what is overdue, what is
due soon, for a team or for one person)."""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa

from app.auth.models import User
from app.cases.models import Case, CaseAssignment, CaseStatus, ThreatAssessment, case_is_open
from app.core.clock import utcnow
from app.core.db import UtcDateTime
from app.extensions import db
from app.intake.models import ClientRequest, RequestStatus
from app.rules import LOCAL_TIME, first_day_ending_at_or_after, rule
from app.rules.models import Deadline

# "Due this week": from now to seven days ahead, for every count and list of clocks.
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class DueItem:
    due_at: datetime
    rule_key: str
    reference: str
    case_id: uuid.UUID | None
    request_id: uuid.UUID | None
    assignee_ids: frozenset[uuid.UUID]
    # What the clock is, as "<kind>:<id>" (a deadline, a threat review, a first contact):
    # names one reminder a day, and says nothing about the person.
    subject: str = ""

    @property
    def overdue(self) -> bool:
        return self.due_at < utcnow()

    @property
    def unowned(self) -> bool:
        """No one answers for it yet (a request nobody has taken): the team lead does."""
        return not self.assignee_ids


@dataclass(frozen=True)
class Clocks:
    """Unmet clocks, soonest first: those past their time, and those due within the window."""

    overdue: list[DueItem]
    upcoming: list[DueItem]


def _case_assignees(case_ids: set[uuid.UUID]) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    rows = db.session.execute(
        sa.select(CaseAssignment.case_id, CaseAssignment.user_id).where(
            CaseAssignment.case_id.in_(case_ids)
        )
    ).all()
    result: dict[uuid.UUID, set[uuid.UUID]] = {}
    for case_id, user_id in rows:
        result.setdefault(case_id, set()).add(user_id)
    return {key: frozenset(value) for key, value in result.items()}


def _owners(
    request: Any, case_assignees: dict[uuid.UUID, frozenset[uuid.UUID]]
) -> frozenset[uuid.UUID]:
    """Who answers for a request's deadline: the case's caseworkers, else whoever claimed it."""
    if request.case_id is not None:
        return case_assignees.get(request.case_id, frozenset())
    return frozenset({request.assigned_to_id}) if request.assigned_to_id else frozenset()


def open_deadlines(organisation_id: object) -> list[DueItem]:
    """Every unmet deadline of the team, soonest first.

    Plain columns, not objects: a clock needs a date, a reference and who answers for it,
    and loading whole requests, cases and assessments would decrypt every sensitive field
    of each one on every start page (70 ms of a 80 ms page for a caseworker of a large team).
    """
    items: list[DueItem] = []

    team_cases = sa.select(Case.id).where(Case.organisation_id == organisation_id)
    # A clock runs on a request (a relative's or a young person's own), on a case that came
    # from elsewhere (the police, probation, a call-in, a home visit), or on both.
    legal = db.session.execute(
        sa.select(
            Deadline.id,
            Deadline.due_at,
            Deadline.rule_key,
            Deadline.case_id,
            ClientRequest.id.label("request_id"),
            ClientRequest.reference.label("request_reference"),
            ClientRequest.case_id.label("request_case_id"),
            ClientRequest.assigned_to_id,
        )
        .outerjoin(ClientRequest, ClientRequest.id == Deadline.request_id)
        .where(
            Deadline.met_at.is_(None),
            sa.or_(
                ClientRequest.organisation_id == organisation_id,
                Deadline.case_id.in_(team_cases),
            ),
        )
    ).all()
    reviews = db.session.execute(
        sa.select(ThreatAssessment.id, ThreatAssessment.case_id, ThreatAssessment.next_review_on)
        .join(Case, Case.id == ThreatAssessment.case_id)
        .where(
            Case.organisation_id == organisation_id,
            case_is_open(),
            ThreatAssessment.next_review_on.is_not(None),
        )
        # The last one wins below; created_at and id settle a tie as count_due() does.
        .order_by(ThreatAssessment.assessed_on, ThreatAssessment.created_at, ThreatAssessment.id)
    ).all()
    waiting = db.session.execute(
        sa.select(
            ClientRequest.id,
            ClientRequest.reference,
            ClientRequest.urgent,
            ClientRequest.submitted_at,
            ClientRequest.case_id,
            ClientRequest.assigned_to_id,
        ).where(
            ClientRequest.organisation_id == organisation_id,
            ClientRequest.first_contact_at.is_(None),
            ClientRequest.status == RequestStatus.RECEIVED,
        )
    ).all()
    case_ids = {c for d in legal if (c := _case_of(d)) is not None}
    case_ids |= {t.case_id for t in reviews}
    assignees = _case_assignees(case_ids)
    cases = {
        row.id: row
        for row in db.session.execute(
            sa.select(Case.id, Case.reference, Case.status).where(Case.id.in_(case_ids))
        )
    }

    for deadline in legal:
        case_id = _case_of(deadline)
        if case_id is not None and cases[case_id].status is CaseStatus.CLOSED:
            continue
        if case_id is not None:
            reference, owners = cases[case_id].reference, assignees.get(case_id, frozenset())
        else:
            assert deadline.request_id is not None  # the check constraint: a request or a case
            reference = deadline.request_reference
            owners = (
                frozenset({deadline.assigned_to_id}) if deadline.assigned_to_id else frozenset()
            )
        items.append(
            DueItem(
                deadline.due_at,
                deadline.rule_key,
                reference,
                case_id,
                deadline.request_id,
                owners,
                f"deadline:{deadline.id}",
            )
        )
    latest_review: dict[uuid.UUID, Any] = {}
    for assessment in reviews:
        latest_review[assessment.case_id] = assessment  # ordered by date: the last one wins
    for case_id, assessment in latest_review.items():
        assert assessment.next_review_on is not None
        due = datetime.combine(assessment.next_review_on, time(23, 59, 59), tzinfo=LOCAL_TIME)
        items.append(
            DueItem(
                due,
                "threat_review",
                cases[case_id].reference,
                case_id,
                None,
                assignees.get(case_id, frozenset()),
                f"review:{assessment.id}",
            )
        )
    for request in waiting:
        key = "first_contact_acute" if request.urgent else "first_contact_other"
        due = rule(key).due(request.submitted_at)
        items.append(
            DueItem(
                due,
                key,
                request.reference,
                None,
                request.id,
                _owners(request, {}),
                f"first_contact:{request.id}",
            )
        )
    return sorted(items, key=lambda item: item.due_at)


def _case_of(deadline: Any) -> uuid.UUID | None:
    if deadline.case_id is not None:
        return cast(uuid.UUID, deadline.case_id)
    return cast(uuid.UUID | None, deadline.request_case_id)


def deadlines_for(user: User) -> list[DueItem]:
    return [item for item in open_deadlines(user.organisation_id) if user.id in item.assignee_ids]


def due_soon(items: list[DueItem], within: timedelta) -> list[DueItem]:
    """What falls due within the window and has not yet: a reminder comes before, not after."""
    now = utcnow()
    return [item for item in items if now <= item.due_at <= now + within]


def clocks_of(
    organisation_id: object, *, user: User | None = None, within: timedelta = timedelta(days=7)
) -> Clocks:
    """The team's unmet clocks (or one person's: those they answer for), overdue and due
    within `within`, soonest first. Counts and lists for any page that shows them."""
    items = open_deadlines(organisation_id)
    if user is not None:
        items = [item for item in items if user.id in item.assignee_ids]
    return Clocks(
        overdue=[item for item in items if item.overdue],
        upcoming=due_soon(items, within),
    )


def case_clocks(
    case: Case, deadlines: Sequence[Deadline], review: ThreatAssessment | None
) -> list[DueItem]:
    """The unmet clocks of one case, soonest first: what its page shows at the top. From
    its deadlines (services.case_deadlines) and its latest threat assessment, which the
    page has read already."""
    if case.status is CaseStatus.CLOSED:
        return []
    owners = frozenset(case.assignee_ids)
    items = [
        DueItem(
            d.due_at, d.rule_key, case.reference, case.id, d.request_id, owners, f"deadline:{d.id}"
        )
        for d in deadlines
        if d.met_at is None
    ]
    if review is not None and review.next_review_on is not None:
        due = datetime.combine(review.next_review_on, time(23, 59, 59), tzinfo=LOCAL_TIME)
        items.append(
            DueItem(
                due, "threat_review", case.reference, case.id, None, owners, f"review:{review.id}"
            )
        )
    return sorted(items, key=lambda item: item.due_at)


@dataclass(frozen=True)
class DueCounts:
    """Counts of unmet clocks, as columns of one-row aggregates (`sources`), for one
    statement with other counts (select them from app.core.db.side_by_side(*sources))."""

    overdue: sa.ColumnElement[int]
    this_week: sa.ColumnElement[int]
    sources: tuple[sa.Subquery, ...]


@dataclass(frozen=True)
class DueEdges:
    """What divides overdue from due this week from later, at one moment: instants for
    clocks stored with their time, days for reviews (due at the end of their day), and the
    start before which a first contact has run out, per rule (Rule.runs_out_before)."""

    now: Any
    week_end: Any
    first_not_overdue: Any
    first_after_week: Any
    acute_late: Any
    acute_later: Any
    other_late: Any
    other_later: Any

    @classmethod
    def at(cls, now: datetime) -> DueEdges:
        week_end = now + WEEK
        # "Due by the week's end" includes the end itself: before the next microsecond.
        past_week = week_end + timedelta(microseconds=1)
        acute, other = rule("first_contact_acute"), rule("first_contact_other")
        return cls(
            now=now,
            week_end=week_end,
            first_not_overdue=first_day_ending_at_or_after(now),
            first_after_week=first_day_ending_at_or_after(past_week),
            acute_late=acute.runs_out_before(now),
            acute_later=acute.runs_out_before(past_week),
            other_late=other.runs_out_before(now),
            other_later=other.runs_out_before(past_week),
        )

    @classmethod
    def placeholders(cls) -> DueEdges:
        """Bind parameters in place of the values, for a statement built once and run with
        as_params() of each moment."""
        days = {"first_not_overdue", "first_after_week"}
        return cls(
            **{
                field.name: sa.bindparam(
                    f"edge_{field.name}", type_=sa.Date() if field.name in days else UtcDateTime()
                )
                for field in fields(cls)
            }
        )

    def as_params(self) -> dict[str, Any]:
        return {f"edge_{field.name}": getattr(self, field.name) for field in fields(self)}


def count_due(organisation_id: object, edges: DueEdges, *, owner_id: Any) -> DueCounts:
    """What open_deadlines() and pick_due() would count, without loading a row: the team's
    (or, given `owner_id`, one person's) clocks past due at `edges.now`, and those due from
    then to a week later. The start page counts this way at any size of the team; the lists
    load open_deadlines(). tests/home/test_due_counts.py holds the two to the same answers.

    Three kinds of clock, each counted in one pass that sorts it into overdue and this week
    (FILTER): a statement of few parts is planned faster than one of many.
    """
    owned = None if owner_id is None else _assigned_open_cases(organisation_id, owner_id)
    sources = (
        _legal(organisation_id, owner_id, owned, edges),
        _reviews(organisation_id, owned, edges),
        _waiting(organisation_id, owner_id, edges),
    )
    return DueCounts(
        overdue=_sum_of(source.c.overdue for source in sources),
        this_week=_sum_of(source.c.this_week for source in sources),
        sources=sources,
    )


def _sum_of(counts: Iterable[sa.ColumnElement[int]]) -> sa.ColumnElement[int]:
    return functools.reduce(operator.add, counts)


def _overdue_and_this_week(
    overdue: sa.ColumnElement[bool], this_week: sa.ColumnElement[bool]
) -> tuple[sa.Label[int], sa.Label[int]]:
    return (
        sa.func.count().filter(overdue).label("overdue"),
        sa.func.count().filter(this_week).label("this_week"),
    )


def _assigned_open_cases(organisation_id: object, owner_id: Any) -> sa.CTE:
    """The owner's open cases of the team, found once for every count that asks (a person
    may have been given thousands of cases over the years; a few dozen are open)."""
    return (
        sa.select(CaseAssignment.case_id)
        .join(Case, Case.id == CaseAssignment.case_id)
        .where(
            CaseAssignment.user_id == owner_id,
            CaseAssignment.case_open,
            Case.organisation_id == organisation_id,
        )
        .cte("owned_open_cases")
    )


def _legal(
    organisation_id: object, owner_id: Any, owned_cases: sa.CTE | None, edges: DueEdges
) -> sa.Subquery:
    case_of = sa.func.coalesce(Deadline.case_id, ClientRequest.case_id)
    open_cases = sa.select(Case.id).where(case_is_open())
    if owned_cases is None:
        # On a case: while it is open. On a request alone: always.
        owned = sa.or_(case_of.is_(None), case_of.in_(open_cases))
    else:
        owned = sa.or_(
            case_of.in_(sa.select(owned_cases.c.case_id)),
            sa.and_(case_of.is_(None), ClientRequest.assigned_to_id == owner_id),
        )
    # A lookup by key per deadline, where an IN list would read every case of the team.
    on_team_case = sa.exists().where(
        Case.id == Deadline.case_id, Case.organisation_id == organisation_id
    )
    return (
        sa.select(
            *_overdue_and_this_week(
                Deadline.due_at < edges.now, Deadline.due_at.between(edges.now, edges.week_end)
            )
        )
        .select_from(Deadline)
        .outerjoin(ClientRequest, ClientRequest.id == Deadline.request_id)
        .where(
            Deadline.met_at.is_(None),
            # Only what either count can hold, read from the unmet clocks' index by time.
            Deadline.due_at <= edges.week_end,
            sa.or_(ClientRequest.organisation_id == organisation_id, on_team_case),
            owned,
        )
        .subquery()
    )


def _reviews(organisation_id: object, owned_cases: sa.CTE | None, edges: DueEdges) -> sa.Subquery:
    """Open cases whose latest assessment naming a review names one before the end of the
    week: read case by case from the cases in scope (a few hundred open ones), not from
    every review of the history. A review is overdue the day after its day."""
    next_review = (
        sa.select(ThreatAssessment.next_review_on)
        .where(ThreatAssessment.case_id == Case.id, ThreatAssessment.next_review_on.is_not(None))
        .order_by(
            ThreatAssessment.assessed_on.desc(),
            ThreatAssessment.created_at.desc(),
            ThreatAssessment.id.desc(),
        )
        .limit(1)
        .scalar_subquery()
    )
    in_scope = sa.select(Case.id, next_review.label("review_on")).where(
        Case.organisation_id == organisation_id, case_is_open()
    )
    if owned_cases is not None:
        in_scope = in_scope.where(Case.id.in_(sa.select(owned_cases.c.case_id)))
    review_on = in_scope.subquery().c.review_on
    return (
        sa.select(
            *_overdue_and_this_week(
                review_on < edges.first_not_overdue, review_on >= edges.first_not_overdue
            )
        )
        .where(review_on < edges.first_after_week)
        .subquery()
    )


def _waiting(organisation_id: object, owner_id: Any, edges: DueEdges) -> sa.Subquery:
    """First contacts not yet made; one answers for it only while no case has taken it.
    Acute requests run out sooner than the others (each by its own rule's edges)."""
    submitted, urgent = ClientRequest.submitted_at, ClientRequest.urgent.is_(True)
    not_urgent = ClientRequest.urgent.is_(False)
    query = sa.select(
        *_overdue_and_this_week(
            sa.or_(
                sa.and_(urgent, submitted < edges.acute_late),
                sa.and_(not_urgent, submitted < edges.other_late),
            ),
            sa.or_(
                sa.and_(urgent, submitted >= edges.acute_late, submitted < edges.acute_later),
                sa.and_(not_urgent, submitted >= edges.other_late, submitted < edges.other_later),
            ),
        )
    ).where(
        ClientRequest.organisation_id == organisation_id,
        ClientRequest.first_contact_at.is_(None),
        ClientRequest.status == RequestStatus.RECEIVED,
    )
    if owner_id is not None:
        query = query.where(
            ClientRequest.case_id.is_(None), ClientRequest.assigned_to_id == owner_id
        )
    return query.subquery()
