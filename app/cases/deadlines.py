"""Deadlines that run on the team's work: legal ones from the rules data, threat reviews,
and first-contact targets. One list feeds "my deadlines", the team overview and reminders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from app.auth.models import User
from app.cases.models import Case, CaseAssignment, CaseStatus, ThreatAssessment, case_is_open
from app.core.clock import utcnow
from app.extensions import db
from app.intake.models import ClientRequest, RequestStatus
from app.rules import LOCAL_TIME, rule
from app.rules.models import Deadline


@dataclass(frozen=True)
class DueItem:
    due_at: datetime
    rule_key: str
    reference: str
    case_id: uuid.UUID | None
    request_id: uuid.UUID | None
    assignee_ids: frozenset[uuid.UUID]

    @property
    def overdue(self) -> bool:
        return self.due_at < utcnow()


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
    request: ClientRequest, case_assignees: dict[uuid.UUID, frozenset[uuid.UUID]]
) -> frozenset[uuid.UUID]:
    """Who answers for a request's deadline: the case's caseworkers, else whoever claimed it."""
    if request.case_id is not None:
        return case_assignees.get(request.case_id, frozenset())
    return frozenset({request.assigned_to_id}) if request.assigned_to_id else frozenset()


def open_deadlines(organisation_id: object) -> list[DueItem]:
    """Every unmet deadline of the team, soonest first."""
    items: list[DueItem] = []

    legal = db.session.execute(
        sa.select(Deadline, ClientRequest)
        .join(ClientRequest, ClientRequest.id == Deadline.request_id)
        .where(ClientRequest.organisation_id == organisation_id, Deadline.met_at.is_(None))
    ).all()
    reviews = db.session.execute(
        sa.select(ThreatAssessment, Case)
        .join(Case, Case.id == ThreatAssessment.case_id)
        .where(
            Case.organisation_id == organisation_id,
            case_is_open(),
            ThreatAssessment.next_review_on.is_not(None),
        )
        .order_by(ThreatAssessment.assessed_on)
    ).all()
    waiting = db.session.scalars(
        sa.select(ClientRequest).where(
            ClientRequest.organisation_id == organisation_id,
            ClientRequest.first_contact_at.is_(None),
            ClientRequest.status == RequestStatus.RECEIVED,
        )
    ).all()
    case_ids = {r.case_id for _d, r in legal if r.case_id} | {c.id for _t, c in reviews}
    assignees = _case_assignees(case_ids)
    cases = {c.id: c for c in db.session.scalars(sa.select(Case).where(Case.id.in_(case_ids)))}

    for deadline, request in legal:
        if request.case_id and cases[request.case_id].status is CaseStatus.CLOSED:
            continue
        items.append(
            DueItem(
                deadline.due_at,
                deadline.rule_key,
                cases[request.case_id].reference if request.case_id else request.reference,
                request.case_id,
                request.id,
                _owners(request, assignees),
            )
        )
    latest_review: dict[uuid.UUID, ThreatAssessment] = {}
    for assessment, case in reviews:
        latest_review[case.id] = assessment  # ordered by date: the last one wins
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
            )
        )
    for request in waiting:
        key = "first_contact_acute" if request.urgent else "first_contact_other"
        due = rule(key).due(request.submitted_at)
        items.append(DueItem(due, key, request.reference, None, request.id, _owners(request, {})))
    return sorted(items, key=lambda item: item.due_at)


def deadlines_for(user: User) -> list[DueItem]:
    return [item for item in open_deadlines(user.organisation_id) if user.id in item.assignee_ids]


def due_soon(items: list[DueItem], within: timedelta) -> list[DueItem]:
    limit = utcnow() + within
    return [item for item in items if item.due_at <= limit]
