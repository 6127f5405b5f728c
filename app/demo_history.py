"""A year of finished demo work, so the statistics page has something honest to show.

Everything here is metadata of invented requests and cases: no names, numbers, addresses
or stories, so nothing on a demo screen could be mistaken for a person. The same seed
gives the same history, which keeps screenshots comparable between runs.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta

from app.cases.models import Case, CaseOutcome, CaseSource, CaseStatus, Intervention
from app.cases.models import InterventionStatus as Done
from app.consent.models import Consent, ConsentMethod, Purpose
from app.consultations.models import (
    Action,
    ActionStatus,
    Consultation,
    ConsultationStatus,
    Invitation,
)
from app.core.clock import utcnow
from app.extensions import db
from app.intake.models import ClientRequest, RequestKind, RequestStatus, Urgency
from app.orgs.models import Organisation
from app.placements.models import Placement, PlacementRequest, PlacementStatus
from app.placements.models import RequestStatus as Answer

LANGUAGES = ["sv"] * 10 + ["ar"] * 4 + ["so"] * 3 + ["en"] * 2 + ["fa", "ku", "ti", "tr", "pl"]
KINDS = [RequestKind.DEFECTOR] * 5 + [RequestKind.RELATIVE] * 3 + [RequestKind.THREATENED] * 2
SOURCES = [CaseSource.SELF_SERVICE] * 6 + [
    CaseSource.POLICE,
    CaseSource.PROBATION,
    CaseSource.PHONE,
    CaseSource.RELATIVE,
]
OUTCOMES = [CaseOutcome.ESTABLISHED] * 5 + [
    CaseOutcome.WITHDREW,
    CaseOutcome.WITHDREW,
    CaseOutcome.PLAN_BROKEN,
    CaseOutcome.REFERRED,
]
INTERVENTION_KINDS = ["support_talks", "relocation", "financial_assistance", "debt", "employment"]


def seed_history(team: Organisation, agencies: list[Organisation], partner: Organisation) -> int:
    """Add a year of past requests, most of which became cases; returns how many."""
    rng = random.Random(2026)  # noqa: S311  (demo figures, not secrets)
    now = utcnow()
    count = 120
    for number in range(count):
        submitted = now - timedelta(days=rng.randint(20, 365), hours=rng.randint(0, 23))
        request = _request(rng, team, submitted, number)
        db.session.add(request)
        if rng.random() < 0.3:
            request.status = RequestStatus.CLOSED
            request.closed_reason = "no_contact"
            continue
        case = _case(rng, team, request, submitted, number)
        db.session.add(case)
        db.session.flush()
        request.case_id, request.became_case_at = case.id, submitted + timedelta(days=1)
        _case_work(rng, case, submitted, agencies, partner)
    db.session.flush()
    return count


def _request(
    rng: random.Random, team: Organisation, submitted: datetime, number: int
) -> ClientRequest:
    urgency = rng.choice([Urgency.ACUTE, Urgency.SOON, Urgency.SOON, Urgency.SOON])
    return ClientRequest(
        reference=f"U-DEMO-{number:04d}",
        organisation_id=team.id,
        kind=rng.choice(KINDS),
        status=RequestStatus.IN_PROGRESS,
        urgency=urgency,
        urgent=urgency is Urgency.ACUTE,
        language=rng.choice(LANGUAGES),
        submitted_at=submitted,
        help_wanted=json.dumps(["support_talks"]),
        first_contact_at=submitted + timedelta(hours=rng.lognormvariate(2.5, 0.8)),
    )


def _case(
    rng: random.Random, team: Organisation, request: ClientRequest, opened: datetime, number: int
) -> Case:
    closed = opened + timedelta(days=rng.randint(30, 200))
    still_open = closed > utcnow()
    return Case(
        reference=f"K-DEMO-{number:04d}",
        organisation_id=team.id,
        status=CaseStatus.FOLLOW_UP if still_open else CaseStatus.CLOSED,
        outcome=None if still_open else rng.choice(OUTCOMES),
        source=rng.choice(SOURCES),
        opened_at=opened + timedelta(days=1),
        closed_at=None if still_open else closed,
    )


def _case_work(
    rng: random.Random,
    case: Case,
    opened: datetime,
    agencies: list[Organisation],
    partner: Organisation,
) -> None:
    given = rng.random() < 0.8
    db.session.add(
        Consent(
            case_id=case.id,
            purposes=Purpose.CONSULTATION.value,
            method=rng.choice([ConsentMethod.PAPER, ConsentMethod.DIGITAL]),
            given=given,
            answered_at=opened + timedelta(days=3),
            valid_from=(opened + timedelta(days=3)).date(),
        )
    )
    for kind in rng.sample(INTERVENTION_KINDS, rng.randint(1, 3)):
        db.session.add(Intervention(case_id=case.id, kind=kind, status=Done.DONE))
    if not given:
        return
    agency = rng.choice(agencies)
    held = opened + timedelta(days=rng.randint(7, 20))
    consultation = Consultation(
        case_id=case.id,
        organisation_id=case.organisation_id,
        status=ConsultationStatus.HELD,
        starts_at=held,
        duration_minutes=60,
        place="Konferensrummet",
        ical_uid=f"{uuid.uuid4()}@demo",
        invitations=[Invitation(organisation_id=agency.id)],
    )
    db.session.add(consultation)
    db.session.flush()
    due = (held + timedelta(days=14)).date()
    late = rng.random() < 0.25
    db.session.add(
        Action(
            consultation_id=consultation.id,
            case_id=case.id,
            owner_organisation_id=agency.id,
            description="Uppföljning",
            due_on=due,
            status=ActionStatus.DONE,
            done_at=held + timedelta(days=rng.randint(16, 30) if late else rng.randint(2, 13)),
        )
    )
    if rng.random() < 0.4:
        _placement(rng, case, held, partner)


def _placement(rng: random.Random, case: Case, asked: datetime, partner: Organisation) -> None:
    accepted = rng.random() < 0.7
    placement = Placement(
        case_id=case.id,
        organisation_id=case.organisation_id,
        status=PlacementStatus.CONFIRMED if accepted else PlacementStatus.CANCELLED,
        adults=1,
        earliest_move_on=(asked + timedelta(days=30)).date(),
    )
    db.session.add(placement)
    db.session.flush()
    db.session.add(
        PlacementRequest(
            placement_id=placement.id,
            partner_id=partner.id,
            status=Answer.CONFIRMED if accepted else Answer.DECLINED,
            respond_by=asked + timedelta(days=30),
            answered_at=asked + timedelta(days=rng.randint(3, 25)),
            created_at=asked,
        )
    )
